"""Avails applied to the real database: titles, windows, dispositions, all-or-nothing, export."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cineflux.catalog import service as catalog
from cineflux.catalog.models import Title, TitleIdentifier
from cineflux.clock import FrozenClock
from cineflux.platform import Platform
from cineflux.rights import service as rights
from cineflux.rights.avails import (
    CONTENT_ID_SCHEME,
    AvailsDocument,
    AvailsInvalid,
    parse_avails,
    read_avails,
)
from cineflux.rights.avails_flows import (
    ImportResult,
    apply_document,
    export_document,
    import_avails,
)
from cineflux.rights.models import Availability, RightsWindow
from tests.factories import grant, make_title
from tests.unit.test_avails_parse import (
    FIXTURES,
    SHARED_AVAILS,
    SHARED_SCHEMAS,
    line_of,
    needs_shared,
)

TRAVERSEE = "md:cid:org:lumiere-films.example:la-traversee"
HEURES = "md:cid:org:lumiere-films.example:heures-claires"
LUMIERE = "Lumière Films"


def apply(db: Session, clock: FrozenClock, source: Path | AvailsDocument) -> ImportResult:
    """Apply a fixture (or a parsed document) as the import command does, in ``db``."""
    document = read_avails(source) if isinstance(source, Path) else source
    return apply_document(db, document, clock=clock, platform_profile="svod-other")


def counts(result: ImportResult) -> tuple[int, int, int, int, int]:
    """(titles created, windows created, updated, deleted, unchanged)."""
    return (
        result.titles_created,
        result.windows_created,
        result.windows_updated,
        result.windows_deleted,
        result.windows_unchanged,
    )


def windows(db: Session, licensor: str = LUMIERE) -> dict[str, RightsWindow]:
    """A licensor's windows that came from avails, by key."""
    rows = db.scalars(select(RightsWindow).where(RightsWindow.licensor == licensor))
    return {w.transaction_id or "": w for w in rows if w.transaction_id is not None}


def title_of(db: Session, content_id: str) -> Title:
    """The title an avails content ID names."""
    title = catalog.find_by_identifier(db, CONTENT_ID_SCHEME, content_id)
    assert title is not None
    return title


def snapshot(session: Session) -> dict[str, Any]:
    """Everything an import can touch, comparable before and after."""
    return {
        "titles": sorted(
            (t.id, t.kind, t.name, t.parent_id, t.number) for t in session.scalars(select(Title))
        ),
        "identifiers": sorted(
            (i.scheme, i.value, i.title_id) for i in session.scalars(select(TitleIdentifier))
        ),
        "windows": sorted(
            (
                w.id,
                w.title_id,
                w.territory,
                w.license_type,
                w.starts_at,
                w.ends_at,
                w.format_cap,
                w.audio_languages,
                w.subtitle_languages,
                w.licensor,
                w.transaction_id or "",
                w.updated_at,
            )
            for w in session.scalars(select(RightsWindow))
        ),
        "availability": sorted(
            (a.title_id, a.territory, a.license_type, a.starts_at, a.ends_at)
            for a in session.scalars(select(Availability))
        ),
    }


def at(text: str) -> datetime:
    """An instant in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- Import --------------------------------------------------------------------------------------


def test_import_creates_titles_windows_and_availability(db: Session, clock: FrozenClock) -> None:
    result = apply(db, clock, FIXTURES / "films_v2.7.xml")
    assert (result.avails, result.transactions, result.skipped) == (3, 5, 2)
    assert counts(result) == (2, 5, 0, 0, 0)
    assert len(result.warnings) == 2

    traversee = title_of(db, TRAVERSEE)
    assert (traversee.kind, traversee.name, traversee.year) == ("movie", "La Traversée", 2024)
    assert catalog.identifiers_of(db, traversee.id) == {
        CONTENT_ID_SCHEME: TRAVERSEE,
        "eidr": "10.5240/1A2B-3C4D-5E6F-7A8B-9C0D-E",
    }
    stored = windows(db)
    assert sorted(stored) == sorted(
        [
            "LUM-001",
            "LUM-002/FR",
            "LUM-002/BE",
            "LUM-002/CH",
            *[k for k in stored if "derived" in k],
        ]
    )
    svod = stored["LUM-001"]
    assert (svod.title_id, svod.territory, svod.license_type, svod.format_cap) == (
        traversee.id,
        "FR",
        "SVOD",
        "HD",
    )
    assert (svod.starts_at, svod.ends_at) == (at("2026-02-28T23:00"), at("2027-02-28T23:00"))
    assert (svod.audio_languages, svod.subtitle_languages) == ("fr", "fr,en")
    assert svod.alid == "md:alid:org:lumiere-films.example:la-traversee"
    assert stored["LUM-002/CH"].license_type == "TVOD"

    # Availability was recomputed: the films can be offered inside their windows.
    june = at("2026-06-01T12:00")
    heures = title_of(db, HEURES)
    assert set(db.scalars(rights.available_title_ids("FR", june))) == {traversee.id}
    assert set(db.scalars(rights.available_title_ids("BE", june))) == {heures.id}
    assert set(db.scalars(rights.available_title_ids("CH", june, license_type="TVOD"))) == {
        traversee.id
    }
    assert list(db.scalars(rights.available_title_ids("FR", at("2027-06-01T00:00")))) == []


def test_reimporting_the_same_file_creates_and_changes_nothing(
    db: Session, clock: FrozenClock
) -> None:
    apply(db, clock, FIXTURES / "films_v2.7.xml")
    apply(db, clock, FIXTURES / "series_v2.4.xml")
    before = snapshot(db)
    again = apply(db, clock, FIXTURES / "films_v2.7.xml")
    assert counts(again) == (0, 0, 0, 0, 5)
    assert counts(apply(db, clock, FIXTURES / "series_v2.4.xml")) == (0, 0, 0, 0, 3)
    assert snapshot(db) == before


def test_update_changes_terms_follows_territories_and_adds(db: Session, clock: FrozenClock) -> None:
    apply(db, clock, FIXTURES / "films_v2.7.xml")
    heures_windows = {k: w.id for k, w in windows(db).items() if k.startswith("derived-")}
    rental_fr = windows(db)["LUM-002/FR"].id
    result = apply(db, clock, FIXTURES / "films_update_v2.5.xml")
    # LUM-001 ends later; LUM-002 keeps France (its window renamed), loses BE and CH; LUM-004.
    assert counts(result) == (0, 1, 2, 2, 0)
    stored = windows(db)
    assert stored["LUM-001"].ends_at == at("2027-08-31T22:00")
    assert stored["LUM-002"].id == rental_fr
    assert stored["LUM-002"].territory == "FR"
    assert (stored["LUM-004"].license_type, stored["LUM-004"].territory) == ("EST", "FR")
    assert not any(k.startswith("LUM-002/") for k in stored)
    # An Update says nothing about the other film: it keeps its window.
    assert {k: w.id for k, w in stored.items() if k.startswith("derived-")} == heures_windows
    assert counts(apply(db, clock, FIXTURES / "films_update_v2.5.xml")) == (0, 0, 0, 0, 3)


def test_delete_withdraws_the_transactions_and_ignores_unknown_ones(
    db: Session, clock: FrozenClock
) -> None:
    apply(db, clock, FIXTURES / "films_v2.7.xml")
    result = apply(db, clock, FIXTURES / "films_delete_v2.5.xml")
    assert counts(result) == (0, 0, 0, 1, 0)  # LUM-999 was never sent: nothing to do
    assert "LUM-001" not in windows(db)
    assert len(windows(db)) == 4
    traversee = title_of(db, TRAVERSEE)
    assert list(db.scalars(rights.available_title_ids("FR", at("2026-06-01T00:00")))) == []
    assert counts(apply(db, clock, FIXTURES / "films_delete_v2.5.xml")) == (0, 0, 0, 0, 0)
    assert traversee.id == title_of(db, TRAVERSEE).id  # titles stay; only rights go


def test_full_extract_withdraws_only_what_that_licensor_no_longer_lists(
    db: Session, clock: FrozenClock
) -> None:
    apply(db, clock, FIXTURES / "films_v2.7.xml")
    apply(db, clock, FIXTURES / "series_v2.4.xml")
    operator = grant(db, clock, make_title(db, clock, "Maison"), "FR")
    result = apply(db, clock, FIXTURES / "films_full_extract_reduced_v2.7.xml")
    assert counts(result) == (0, 0, 0, 4, 1)
    assert sorted(windows(db)) == ["LUM-001"]
    assert len(windows(db, "Studio Nord")) == 3  # another licensor
    assert db.get(RightsWindow, operator.id) is not None  # made by the operator


def test_full_delete_withdraws_every_window_of_the_alid(db: Session, clock: FrozenClock) -> None:
    apply(db, clock, FIXTURES / "films_v2.7.xml")
    text = (FIXTURES / "films_delete_v2.5.xml").read_bytes()
    document = parse_avails(text.replace(b">Delete<", b">Full Delete<"))
    assert counts(apply(db, clock, document)) == (0, 0, 0, 4, 0)
    assert [k for k in windows(db)] == [k for k in windows(db) if k.startswith("derived-")]
    assert len(windows(db)) == 1


def test_episodes_and_seasons_build_the_series_tree_once(db: Session, clock: FrozenClock) -> None:
    result = apply(db, clock, FIXTURES / "series_v2.4.xml")
    assert counts(result) == (4, 3, 0, 0, 0)  # series, season, two episodes
    series = title_of(db, "md:cid:org:studio-nord.example:phares")
    season = title_of(db, "md:cid:org:studio-nord.example:phares-s01")
    episode = title_of(db, "md:cid:org:studio-nord.example:phares-s01e02")
    assert (series.kind, series.name, series.parent_id) == ("series", "Les Phares", None)
    assert (season.kind, season.parent_id, season.number) == ("season", series.id, 1)
    assert (episode.kind, episode.parent_id, episode.number) == ("episode", season.id, 2)
    assert [t.name for t in catalog.children(db, season.id)] == ["La Tempête", "Le Gardien"]
    assert windows(db, "Studio Nord")["NORD-S01"].title_id == season.id
    # The browsable root carries the availability of its seasons and episodes.
    assert set(db.scalars(rights.available_title_ids("BE", at("2026-04-01T00:00")))) == {series.id}


def test_a_title_known_by_its_eidr_gets_the_content_id_instead_of_a_twin(
    db: Session, clock: FrozenClock
) -> None:
    known = make_title(db, clock, "La Traversée", year=2024)
    catalog.add_identifier(db, known.id, "eidr", "10.5240/1A2B-3C4D-5E6F-7A8B-9C0D-E")
    result = apply(db, clock, FIXTURES / "films_v2.7.xml")
    assert result.titles_created == 1  # only Les Heures claires
    assert title_of(db, TRAVERSEE).id == known.id


# --- All or nothing ------------------------------------------------------------------------------


def committed_snapshot(platform: Platform) -> dict[str, Any]:
    """What the database holds, seen from a new session."""
    with platform.sessions() as session:
        return snapshot(session)


def import_fixture(platform: Platform, path: Path, **options: Any) -> ImportResult:
    """What ``cineflux avails import`` does with a file."""
    return import_avails(platform, path.read_bytes(), file=str(path), **options)


@pytest.mark.parametrize(
    "name", ["invalid_terms_v2.5.xml", "invalid_structure_v2.7.xml", "not_well_formed.xml"]
)
def test_a_malformed_file_changes_nothing(platform: Platform, name: str) -> None:
    import_fixture(platform, FIXTURES / "films_v2.7.xml")
    before = committed_snapshot(platform)
    with pytest.raises(AvailsInvalid) as raised:
        import_fixture(platform, FIXTURES / name)
    assert raised.value.errors
    assert all(issue.line > 0 for issue in raised.value.errors)
    assert committed_snapshot(platform) == before


def test_a_conflict_found_while_applying_rolls_back_what_was_already_done(
    platform: Platform,
) -> None:
    import_fixture(platform, FIXTURES / "films_v2.7.xml")
    before = committed_snapshot(platform)
    # A new film first (applied, then rolled back), then an Episode whose contentID is the
    # film La Traversée: only the database can tell.
    text = (FIXTURES / "series_v2.4.xml").read_text()
    text = text.replace("md:cid:org:studio-nord.example:phares-s01e02", TRAVERSEE)
    path = platform.settings.resolved_data_dir / "conflict.xml"
    path.write_text(text)
    with pytest.raises(AvailsInvalid) as raised:
        import_fixture(platform, path)
    (issue,) = raised.value.errors
    assert issue.line == line_of(path, "<avails:EpisodeMetadata>", 2)
    assert "names the movie 'La Traversée' in the catalogue, not an episode" in issue.message
    assert committed_snapshot(platform) == before


def test_a_dry_run_counts_but_keeps_nothing(platform: Platform) -> None:
    before = committed_snapshot(platform)
    dry = import_fixture(platform, FIXTURES / "films_v2.7.xml", dry_run=True)
    assert counts(dry) == (2, 5, 0, 0, 0)
    assert committed_snapshot(platform) == before
    assert counts(import_fixture(platform, FIXTURES / "films_v2.7.xml")) == (2, 5, 0, 0, 0)


# --- Export --------------------------------------------------------------------------------------


def test_an_export_reimported_changes_nothing(db: Session, clock: FrozenClock) -> None:
    apply(db, clock, FIXTURES / "films_v2.7.xml")
    apply(db, clock, FIXTURES / "series_v2.4.xml")
    grant(db, clock, make_title(db, clock, "Maison"), "FR")  # the operator's: not exported
    data, avails = export_document(db)
    assert len(avails) == 5
    assert sum(len(a.transactions) for a in avails) == 8
    before = snapshot(db)
    document = parse_avails(data, file="export.xml")
    assert {a.disposition for a in document.avails} == {"Full Extract"}
    assert counts(apply(db, clock, document)) == (0, 0, 0, 0, 8)
    assert snapshot(db) == before


def test_an_export_of_one_territory_is_an_update_of_that_territory(
    db: Session, clock: FrozenClock
) -> None:
    apply(db, clock, FIXTURES / "films_v2.7.xml")
    apply(db, clock, FIXTURES / "series_v2.4.xml")
    data, _avails = export_document(db, territory="BE")
    document = parse_avails(data)
    assert {a.disposition for a in document.avails} == {"Update"}
    keys = {t.transaction_id for a in document.avails for t in a.transactions}
    assert len(keys) == 3 and "LUM-002/BE" in keys and "NORD-S01" in keys
    assert counts(apply(db, clock, document)) == (0, 0, 0, 0, 3)
    only_nord, _ = export_document(db, licensor="Studio Nord")
    assert {a.licensor for a in parse_avails(only_nord).avails} == {"Studio Nord"}


@needs_shared
def test_an_export_is_valid_against_the_movielabs_xsd(db: Session, clock: FrozenClock) -> None:
    apply(db, clock, FIXTURES / "films_v2.7.xml")
    apply(db, clock, FIXTURES / "series_v2.4.xml")
    data, _avails = export_document(db)
    assert parse_avails(data, schema_dir=SHARED_SCHEMAS).schema_validated


# --- Shared MovieLabs samples (conformance) ------------------------------------------------------


@needs_shared
@pytest.mark.parametrize("name", ["Avails_noErrors_v2.2.1.xml", "Avails_noErrors_v2.4.xml"])
def test_movielabs_samples_import_then_reimport_as_no_op(
    db: Session, clock: FrozenClock, name: str
) -> None:
    document = read_avails(SHARED_AVAILS / name, schema_dir=SHARED_SCHEMAS)
    first = apply(db, clock, document)
    # 7 films, then a series, its season and 3 episodes; the collection is skipped.
    assert (first.titles_created, first.windows_created, first.skipped) == (12, 22, 2)
    assert counts(apply(db, clock, document)) == (0, 0, 0, 0, 22)


@needs_shared
def test_the_movielabs_sample_with_errors_changes_nothing(platform: Platform) -> None:
    before = committed_snapshot(platform)
    with pytest.raises(AvailsInvalid):
        import_fixture(platform, SHARED_AVAILS / "Avails_withErrors.xml", schema_dir=SHARED_SCHEMAS)
    assert committed_snapshot(platform) == before
