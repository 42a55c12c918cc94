"""Rights on the real database: windows, decisions, derived availability, reports."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cineflux.catalog import service as catalog
from cineflux.clock import FrozenClock
from cineflux.rights import service as rights
from cineflux.rights.chronology import RightsPolicy, RuleSet
from cineflux.rights.models import OPEN_END, Availability, RightsWindow
from tests.factories import day, grant, make_title


@pytest.fixture
def policy(db: Session) -> RightsPolicy:
    return rights.rights_policy(db, "svod-other")


def spans(db: Session, title_id: str, territory: str = "FR") -> list[tuple[str, str | None]]:
    rows = db.scalars(
        select(Availability)
        .where(Availability.title_id == title_id, Availability.territory == territory)
        .order_by(Availability.starts_at)
    )
    return [
        (
            r.starts_at.date().isoformat(),
            None if r.ends_at == OPEN_END else r.ends_at.date().isoformat(),
        )
        for r in rows
    ]


def test_the_seeded_rule_sets_are_the_four_dated_versions(db: Session) -> None:
    stored = rights.rule_sets(db)
    assert [(r.name, r.in_force_from.isoformat()) for r in stored] == [
        ("fr-2009", "2009-07-12"),
        ("fr-2019", "2019-02-11"),
        ("fr-2022", "2022-02-10"),
        ("fr-2025", "2025-02-13"),
    ]
    assert all(r.source for r in stored)
    assert stored[-1].svod_months == {
        "svod-signatory": 15,
        "svod-other": 17,
        "svod-investor": 9,
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"territory": "UK"}, "not an ISO 3166-1"),
        ({"territory": "XX"}, "not an ISO 3166-1"),
        ({"license_type": "PPV"}, "unknown licence type"),
        ({"format_cap": "8K"}, "unknown format"),
        ({"ends_at": day("2019-01-01")}, "before it starts"),
        ({"audio_languages": ("fr", "not a tag")}, "BCP 47"),
        (
            {"holdbacks": (rights.HoldbackSpec(day("2019-06-01"), day("2020-02-01")),)},
            "inside its window",
        ),
    ],
)
def test_invalid_windows_are_refused_and_nothing_is_stored(
    db: Session, clock: FrozenClock, change: dict[str, object], message: str
) -> None:
    title = make_title(db, clock, "Film")
    spec = rights.WindowSpec("FR", "SVOD", day("2020-01-01"), day("2021-01-01"))
    with pytest.raises(rights.InvalidWindow, match=message):
        rights.add_window(
            db,
            clock=clock,
            title_id=title.id,
            spec=rights.WindowSpec(**{**spec.__dict__, **change}),  # type: ignore[arg-type]
        )
    assert db.scalars(select(RightsWindow)).all() == []


def test_a_film_becomes_available_by_the_chronologie_and_window(
    db: Session, clock: FrozenClock, policy: RightsPolicy
) -> None:
    film = make_title(db, clock, "Le Film", fr_release="2024-03-10")
    grant(db, clock, film, start="2024-01-01", end="2027-01-01", policy=policy)
    # svod-other: 17 months after 2024-03-10 -> 2025-08-10.
    assert spans(db, film.id) == [("2025-08-09", "2026-12-31")]  # UTC dates of Paris midnights
    before = rights.decide(
        db,
        policy=policy,
        title_id=film.id,
        territory="FR",
        license_type="SVOD",
        at=day("2025-08-09"),
    )
    assert not before.available and "17 months" in before.reason
    assert before.opens_at == day("2025-08-10")
    after = rights.decide(
        db,
        policy=policy,
        title_id=film.id,
        territory="FR",
        license_type="SVOD",
        at=day("2025-08-10"),
    )
    assert after.available and after.closes_at == day("2027-01-01")


def test_the_platform_profile_changes_the_opening(db: Session, clock: FrozenClock) -> None:
    film = make_title(db, clock, "Le Film", fr_release="2024-03-10")
    grant(db, clock, film, start="2024-01-01")
    investor = rights.rights_policy(db, "svod-investor")
    decision = rights.decide(
        db,
        policy=investor,
        title_id=film.id,
        territory="FR",
        license_type="SVOD",
        at=day("2025-01-01"),
    )
    # 9 months -> 2024-12-10, but fr-2025 only comes into force on 2025-02-13.
    assert not decision.available and decision.opens_at == day("2025-02-13")


def test_a_new_rule_set_is_stored_as_data_and_changes_availability(
    db: Session, clock: FrozenClock, policy: RightsPolicy
) -> None:
    film = make_title(db, clock, "Le Film", fr_release="2026-01-05")
    grant(db, clock, film, start="2026-01-05", policy=policy)
    assert spans(db, film.id) == [("2027-06-04", None)]  # 17 months
    rights.add_rule_set(
        db,
        RuleSet(
            "fr-2027",
            date(2026, 12, 1),
            "hypothetical reform",
            {"TVOD": 4},
            {"svod-other": 6, "svod-signatory": 6, "svod-investor": 6},
        ),
    )
    with pytest.raises(rights.InvalidWindow, match="already"):
        rights.add_rule_set(db, RuleSet("fr-2027", date(2027, 1, 1), "x", {}, {}))
    updated = rights.rights_policy(db, "svod-other")
    rights.refresh_all_availability(db, policy=updated)
    assert spans(db, film.id) == [("2026-11-30", None)]  # opens the day the reform starts


def test_holdbacks_split_availability(
    db: Session, clock: FrozenClock, policy: RightsPolicy
) -> None:
    series = make_title(db, clock, "Série", kind="series")
    grant(
        db,
        clock,
        series,
        "DE",
        start="2024-01-01",
        end="2025-01-01",
        holdbacks=(("2024-05-01", "2024-06-01"),),
        policy=policy,
    )
    assert spans(db, series.id, "DE") == [
        ("2023-12-31", "2024-04-30"),
        ("2024-05-31", "2024-12-31"),
    ]


def test_episode_windows_make_their_series_available(
    db: Session, clock: FrozenClock, policy: RightsPolicy
) -> None:
    series = make_title(db, clock, "Série", kind="series")
    season = catalog.create_title(
        db, clock=clock, name="Saison 1", year=None, kind="season", parent_id=series.id, number=1
    )
    episode = catalog.create_title(
        db, clock=clock, name="Épisode 1", year=None, kind="episode", parent_id=season.id, number=1
    )
    grant(db, clock, episode, start="2024-01-01", end="2024-07-01", policy=policy)
    assert spans(db, series.id) == [("2023-12-31", "2024-06-30")]
    assert spans(db, episode.id) == []  # only films and series are browsed
    # The series' window covers its episodes when deciding playback.
    grant(db, clock, series, start="2024-07-01", policy=policy)
    decision = rights.decide(
        db,
        policy=policy,
        title_id=episode.id,
        territory="FR",
        license_type="SVOD",
        at=day("2025-01-01"),
    )
    assert decision.available
    assert spans(db, series.id) == [("2023-12-31", None)]


def test_a_season_cannot_hang_under_a_film(db: Session, clock: FrozenClock) -> None:
    film = make_title(db, clock, "Film")
    with pytest.raises(catalog.InvalidTitle, match="belongs to a series"):
        catalog.create_title(
            db, clock=clock, name="S1", year=None, kind="season", parent_id=film.id
        )


def test_explain_shows_every_licence_type(
    db: Session, clock: FrozenClock, policy: RightsPolicy
) -> None:
    film = make_title(db, clock, "Le Film", fr_release="2025-01-10")
    grant(db, clock, film, start="2025-01-10", license_type="TVOD")
    grant(db, clock, film, start="2025-01-10", license_type="SVOD")
    explanation = rights.explain(
        db, policy=policy, title_id=film.id, territory="fr", at=day("2025-06-01")
    )
    assert explanation.decisions["TVOD"].available
    assert not explanation.decisions["SVOD"].available
    assert explanation.decisions["SVOD"].opens_at == day("2026-06-10")
    assert "no AVOD licence window" in explanation.decisions["AVOD"].reason
    assert len(explanation.windows) == 2


def test_the_catalogue_report_counts_european_and_french_works(
    db: Session, clock: FrozenClock, policy: RightsPolicy
) -> None:
    works = [
        ("Amélie", True, True),
        ("Toni Erdmann", True, False),
        ("Heat", False, False),
        ("Monsieur Lazhar", False, True),
    ]
    for name, european, french in works:
        title = make_title(db, clock, name, european=european, french=french)
        grant(db, clock, title, start="2020-01-01", policy=policy)
    withdrawn = make_title(db, clock, "Ancien", european=True, french=True)
    grant(db, clock, withdrawn, start="2020-01-01", end="2021-01-01", policy=policy)
    elsewhere = make_title(db, clock, "Ailleurs", european=True)
    grant(db, clock, elsewhere, "BE", start="2020-01-01", policy=policy)
    report = rights.catalogue_report(db, territory="FR", at=day("2024-01-01"))
    assert (report.titles, report.european, report.french_language) == (4, 2, 2)
    assert report.european_share == 0.5


def test_a_reform_scenario_lists_titles_gained_and_lost(
    db: Session, clock: FrozenClock, policy: RightsPolicy
) -> None:
    recent = make_title(db, clock, "Récent", fr_release="2025-01-15")
    older = make_title(db, clock, "Plus ancien", fr_release="2023-06-01")
    original = make_title(db, clock, "Original", fr_release=None)
    for title in (recent, older, original):
        grant(db, clock, title, start="2020-01-01")
        grant(db, clock, title, start="2020-01-01", license_type="TVOD")
    proposal = RuleSet(
        "proposal-2014",
        date(2014, 1, 1),
        "2014 proposal: VOD and SVOD at 24 months, TV two months earlier",
        {"TVOD": 24, "EST": 24, "FREE_TV": 20},
        {"svod-other": 24, "svod-signatory": 24, "svod-investor": 24},
    )
    on = date(2026, 11, 1)
    proposed = rights.proposed_policy(policy, [proposal], on)
    changes = rights.compare_policies(
        db, current=policy, proposed=proposed, territory="FR", at=day(on.isoformat())
    )
    summary = sorted((c.name, c.license_type, c.gained) for c in changes)
    # Under the rules in force "Récent" is on SVOD (17 months passed) and both are on TVOD;
    # at 24 months "Récent" loses both.
    assert summary == [("Récent", "SVOD", False), ("Récent", "TVOD", False)]


def test_a_play_decision_honours_each_of_a_windows_holdbacks(
    db: Session, clock: FrozenClock, policy: RightsPolicy
) -> None:
    series = make_title(db, clock, "Série retenue", kind="series")
    grant(
        db,
        clock,
        series,
        "DE",
        start="2024-01-01",
        end="2025-01-01",
        holdbacks=(("2024-05-01", "2024-06-01"), ("2024-09-01", "2024-10-01")),
        policy=policy,
    )

    def available(on: str) -> bool:
        return rights.decide(
            db, policy=policy, title_id=series.id, territory="DE", license_type="SVOD",
            at=day(on) + timedelta(hours=12),
        ).available  # fmt: skip

    assert [available(d) for d in ("2024-04-15", "2024-05-15", "2024-07-15", "2024-09-15")] == [
        True,
        False,
        True,
        False,
    ]
