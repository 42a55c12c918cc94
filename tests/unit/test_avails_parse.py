"""Avails XML read and written without a database: mapping, checks with lines, XSD, export."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cineflux.rights.avails import (
    Avail,
    AvailsDocument,
    AvailsInvalid,
    AvailsSchemaUnavailable,
    AvailsTransaction,
    AvailsWindow,
    derived_key,
    export_avails,
    language_tag,
    local_instant,
    normalise_eidr,
    parse_avails,
    read_avails,
)
from tests.conftest import SHARED_DATA

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "avails"
SHARED_AVAILS = SHARED_DATA / "avails"
SHARED_SCHEMAS = SHARED_AVAILS / "schema"
needs_shared = pytest.mark.skipif(
    not SHARED_AVAILS.is_dir(),
    reason="../shared/data/avails is absent (a fresh clone): MovieLabs samples and XSDs "
    "do not ship with Cineflux",
)


def line_of(path: Path, marker: str, occurrence: int = 1) -> int:
    """The 1-based line of the ``occurrence``-th line containing ``marker``."""
    found = [n for n, line in enumerate(path.read_text().splitlines(), 1) if marker in line]
    return found[occurrence - 1]


def windows_by_key(document: AvailsDocument) -> dict[str, AvailsWindow]:
    """Every window the document grants, by key."""
    return {
        window.key: window
        for avail in document.avails
        if avail.skipped is None
        for transaction in avail.transactions
        for window in transaction.windows
    }


def one_avail(transaction: str, *, asset: str | None = None, entry: str = "Update") -> bytes:
    """A v2.7 document of one Avail for a film, around a Transaction's inner XML."""
    asset = asset or (
        '<avails:Asset contentID="md:cid:org:test.example:film">'
        "<avails:WorkType>Movie</avails:WorkType>"
        "<avails:Metadata><avails:TitleInternalAlias>Film</avails:TitleInternalAlias>"
        "</avails:Metadata></avails:Asset>"
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<avails:AvailList xmlns:avails="http://www.movielabs.com/schema/avails/v2.7/avails"
  xmlns:md="http://www.movielabs.com/schema/md/v2.12/md">
<avails:Avail>
<avails:ALID>md:alid:org:test.example:film</avails:ALID>
<avails:Disposition><avails:EntryType>{entry}</avails:EntryType></avails:Disposition>
<avails:Licensor><md:DisplayName>Test Films</md:DisplayName></avails:Licensor>
<avails:AvailType>single</avails:AvailType>
<avails:ShortDescription>test</avails:ShortDescription>
{asset}
{transaction}
</avails:Avail>
</avails:AvailList>
""".encode()


def transaction_xml(
    body: str = "",
    *,
    transaction_id: str | None = "T1",
    license_type: str = "SVOD",
    territories: str = "<avails:Territory><md:country>FR</md:country></avails:Territory>",
    start: str = "<avails:Start>2026-03-01T00:00:00</avails:Start>",
    end: str = "<avails:EndCondition>Open</avails:EndCondition>",
    languages: str = "",
    format_profile: str = "HD",
) -> str:
    """A Transaction element; each argument replaces one part of a valid one."""
    attribute = f' TransactionID="{transaction_id}"' if transaction_id else ""
    return (
        f"<avails:Transaction{attribute}>"
        f"<avails:LicenseType>{license_type}</avails:LicenseType>"
        f"{territories}{start}{end}{languages}"
        f"<avails:FormatProfile>{format_profile}</avails:FormatProfile>{body}"
        "</avails:Transaction>"
    )


def errors_of(data: bytes) -> list[str]:
    """The messages of the errors ``parse_avails`` raises."""
    with pytest.raises(AvailsInvalid) as raised:
        parse_avails(data)
    return [issue.message for issue in raised.value.errors]


# --- Mapping -------------------------------------------------------------------------------------


def test_films_fixture_maps_each_transaction_and_territory_to_a_window() -> None:
    document = read_avails(FIXTURES / "films_v2.7.xml")
    assert (document.version, document.schema_validated) == ("2.7", False)
    assert (len(document.avails), document.transaction_count, document.skipped_count) == (3, 5, 2)
    windows = windows_by_key(document)
    derived = [key for key in windows if key.startswith("derived-")]
    assert sorted(windows) == sorted(
        ["LUM-001", "LUM-002/FR", "LUM-002/BE", "LUM-002/CH", *derived]
    )
    assert len(derived) == 1

    svod = windows["LUM-001"].spec
    assert (svod.territory, svod.license_type, svod.format_cap) == ("FR", "SVOD", "HD")
    assert svod.starts_at == datetime(2026, 2, 28, 23, tzinfo=UTC)  # 00:00 in Paris
    assert svod.ends_at == datetime(2027, 2, 28, 23, tzinfo=UTC)
    assert svod.audio_languages == ("fr",)  # no asset attribute: audio and subtitles
    assert svod.subtitle_languages == ("fr", "en")  # EN, canonical case
    assert (svod.licensor, svod.transaction_id) == ("Lumière Films", "LUM-001")
    assert svod.alid == "md:alid:org:lumiere-films.example:la-traversee"

    rental = windows["LUM-002/CH"].spec
    assert rental.license_type == "TVOD"  # EMA's VOD
    assert (rental.format_cap, rental.ends_at) == ("UHD", None)
    assert rental.starts_at == datetime(2025, 11, 1, tzinfo=UTC)  # Z kept
    assert rental.audio_languages == rental.subtitle_languages == ()  # unrestricted

    belgium = windows[derived[0]].spec
    assert belgium.starts_at == datetime(2025, 12, 31, 23, tzinfo=UTC)  # +01:00 kept
    assert (belgium.audio_languages, belgium.subtitle_languages) == (("fr", "nl"), ())

    film = document.avails[0].asset
    assert film is not None
    assert film.title.name == "La Traversée"  # whitespace folded
    assert (film.title.kind, film.title.year) == ("movie", 2024)
    assert film.title.eidr == "10.5240/1A2B-3C4D-5E6F-7A8B-9C0D-E"
    other = document.avails[1].asset
    assert other is not None
    assert (other.title.name, other.title.year, other.title.eidr) == (
        "Les Heures claires",
        2019,
        None,
    )


def test_unusable_licence_types_and_work_types_are_skipped_with_a_warning_and_its_line() -> None:
    path = FIXTURES / "films_v2.7.xml"
    document = read_avails(path)
    warnings = {w.line: w.message for w in document.warnings}
    poest = line_of(path, 'TransactionID="LUM-003"')
    collection = line_of(path, "<avails:Avail>", 3)
    assert set(warnings) == {poest, collection}
    assert "POEST" in warnings[poest]
    assert "Collection" in warnings[collection]
    skipped = document.avails[0].transactions[2]
    assert (skipped.transaction_id, skipped.windows) == ("LUM-003", ())
    assert document.avails[2].skipped is not None


def test_series_fixture_builds_series_season_and_episode() -> None:
    document = read_avails(FIXTURES / "series_v2.4.xml")
    first, second, season = (a.asset for a in document.avails)
    assert first is not None and second is not None and season is not None
    assert [(r.kind, r.name, r.number) for r in first.lineage()] == [
        ("series", "Les Phares", None),
        ("season", "Season 1", 1),
        ("episode", "La Tempête", 1),  # TitleInternalAlias when no display title
    ]
    assert second.title.name == "Le Gardien"
    assert second.season is not None and first.season is not None
    assert second.season.content_id == first.season.content_id
    assert season.title.content_id == "md:cid:org:studio-nord.example:phares-s01"
    assert season.title.kind == "season"
    assert season.series is not None
    assert season.series.content_id == "md:cid:org:studio-nord.example:phares"


def test_time_without_zone_is_local_to_the_territory_in_its_first_zone() -> None:
    naive = datetime(2026, 7, 1)
    assert local_instant(naive, "FR") == datetime(2026, 6, 30, 22, tzinfo=UTC)  # CEST
    assert local_instant(naive, "US") == datetime(2026, 7, 1, 4, tzinfo=UTC)  # New York
    assert local_instant(naive, "JP") == datetime(2026, 6, 30, 15, tzinfo=UTC)
    aware = datetime(2026, 7, 1, tzinfo=UTC)
    assert local_instant(aware, "JP") == aware


def test_derived_keys_are_stable_and_tell_formats_apart() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    key = derived_key("alid", "FR", "SVOD", start, "HD")
    assert key == derived_key("alid", "FR", "SVOD", start, "HD")
    assert key != derived_key("alid", "FR", "SVOD", start, "SD")
    assert key != derived_key("alid", "BE", "SVOD", start, "HD")
    assert key.startswith("derived-") and len(key) <= 200


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("EN", "en"), ("en-gb", "en-GB"), ("es-419", "es-419"), ("zh-hant-tw", "zh-Hant-TW")],
)
def test_language_tags_are_put_in_canonical_case(text: str, canonical: str) -> None:
    assert language_tag(text) == canonical


@pytest.mark.parametrize("text", ["fr-XX", "en-UK", "f", "english", "en-a-bbb", ""])
def test_malformed_language_tags_and_unknown_regions_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        language_tag(text)


def test_eidr_urn_and_doi_forms_are_one_identifier() -> None:
    urn = normalise_eidr("urn:eidr:10.5240:77c5-ED35-8FC2-7D9D-9531-1")
    assert urn == normalise_eidr("10.5240/77C5-ED35-8FC2-7D9D-9531-1")
    assert urn == "10.5240/77C5-ED35-8FC2-7D9D-9531-1"
    assert normalise_eidr("10.5237/77C5-ED35-8FC2-7D9D-9531-1") is None  # a party, not content


def test_several_territories_and_exclusions() -> None:
    territories = (
        "".join(
            f"<avails:Territory><md:country>{c}</md:country></avails:Territory>"
            for c in ("FR", "BE", "LU")
        )
        + "<avails:TerritoryExcluded><md:country>LU</md:country></avails:TerritoryExcluded>"
    )
    document = parse_avails(one_avail(transaction_xml(territories=territories)))
    assert sorted(windows_by_key(document)) == ["T1/BE", "T1/FR"]


def test_holdback_languages_are_removed_from_the_allowed_ones() -> None:
    languages = (
        "<avails:AllowedLanguage>fr</avails:AllowedLanguage>"
        "<avails:AllowedLanguage>de</avails:AllowedLanguage>"
        '<avails:HoldbackLanguage asset="audio">de</avails:HoldbackLanguage>'
    )
    spec = windows_by_key(parse_avails(one_avail(transaction_xml(languages=languages))))["T1"].spec
    assert (spec.audio_languages, spec.subtitle_languages) == (("fr",), ("fr", "de"))
    unbounded = "<avails:HoldbackLanguage>de</avails:HoldbackLanguage>"
    messages = errors_of(one_avail(transaction_xml(languages=unbounded)))
    assert any("cannot be honoured" in m for m in messages)


def test_three_d_formats_are_skipped_not_refused() -> None:
    document = parse_avails(one_avail(transaction_xml(format_profile="3DHD")))
    assert document.skipped_count == 1
    assert windows_by_key(document) == {}
    assert "3D" in document.warnings[0].message


# --- Errors ------------------------------------------------------------------------------------


def test_every_semantic_error_of_a_file_is_reported_with_its_line() -> None:
    path = FIXTURES / "invalid_terms_v2.5.xml"
    with pytest.raises(AvailsInvalid) as raised:
        read_avails(path)
    found = {(issue.line, issue.message) for issue in raised.value.errors}
    assert found == {
        (
            line_of(path, "<md:country>UK</md:country>"),
            "'UK' is not an ISO 3166-1 alpha-2 country code",
        ),
        (
            line_of(path, "<avails:End>2025-03-01T00:00:00</avails:End>"),
            "End 2025-03-01T00:00:00 is not after Start 2026-03-01T00:00:00",
        ),
        (
            line_of(path, "Rental"),
            "unknown licence type 'Rental' (SVOD, TVOD, EST, AVOD, FVOD, or VOD for TVOD)",
        ),
        (
            line_of(path, "fr-XX"),
            "'fr-XX': region 'XX' is not an ISO 3166-1 alpha-2 country code",
        ),
        (line_of(path, "8K"), "unknown FormatProfile '8K' (SD, HD or UHD)"),
    }
    assert raised.value.lines()[0].startswith(f"{path}:")


def test_missing_required_elements_are_all_reported() -> None:
    path = FIXTURES / "invalid_structure_v2.7.xml"
    with pytest.raises(AvailsInvalid) as raised:
        read_avails(path)
    transaction = line_of(path, 'TransactionID="LUM-201"')
    assert {(i.line, i.message) for i in raised.value.errors} == {
        (
            line_of(path, "Replace"),
            "unknown EntryType 'Replace' (one of Full Extract, Create, Update, Delete, "
            "Full Delete)",
        ),
        (line_of(path, "<avails:Asset "), "an Asset needs a WorkType"),
        (transaction, "a Transaction needs a LicenseType"),
        (transaction, "a Transaction needs a Territory"),
    }


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("not_well_formed.xml", "not well-formed XML"),
        ("unsupported_version_v2.1.xml", "unsupported avails version 2.1 (2.2 to 2.7 are read)"),
    ],
)
def test_unreadable_files_are_refused_with_a_line(name: str, message: str) -> None:
    with pytest.raises(AvailsInvalid) as raised:
        read_avails(FIXTURES / name)
    (issue,) = raised.value.errors
    assert message in issue.message
    assert issue.line > 1


def test_documents_of_other_vocabularies_and_doctypes_are_refused() -> None:
    assert "not a MovieLabs avails document" in errors_of(b"<feed xmlns='urn:x'/>")[0]
    doctype = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + one_avail(transaction_xml()).split(b"?>", 1)[1]
    assert errors_of(doctype) == ["avails carry no DOCTYPE"]


@pytest.mark.parametrize(
    ("transaction", "message"),
    [
        (
            transaction_xml(start="<avails:StartCondition>Immediate</avails:StartCondition>"),
            "StartCondition 'Immediate' is not supported: give a Start date",
        ),
        (
            transaction_xml(end="<avails:EndCondition>TBD</avails:EndCondition>"),
            "EndCondition 'TBD' is not supported (Open, or give an End)",
        ),
        (transaction_xml(end=""), "a Transaction needs an End or an EndCondition"),
        (
            transaction_xml(start="<avails:Start>01/03/2026</avails:Start>"),
            "Start '01/03/2026' is not a date and time (YYYY-MM-DDThh:mm:ss)",
        ),
        (
            transaction_xml(
                territories="<avails:Territory><md:countryRegion>US-CA"
                "</md:countryRegion></avails:Territory>"
            ),
            "Territory US-CA: sub-national territories are not supported",
        ),
        (
            transaction_xml(
                languages='<avails:AllowedLanguage asset="dub">fr</avails:AllowedLanguage>'
            ),
            "unknown language asset 'dub' (audio, subtitle or subdub)",
        ),
        (
            transaction_xml() + "\n" + transaction_xml(),
            "transaction 'T1' of Test Films already appears at line 11",
        ),
    ],
)
def test_terms_cineflux_cannot_honour_are_errors(transaction: str, message: str) -> None:
    assert message in errors_of(one_avail(transaction))


def test_a_movie_without_its_title_is_an_error() -> None:
    asset = (
        '<avails:Asset contentID="md:cid:org:test.example:film">'
        "<avails:WorkType>Movie</avails:WorkType></avails:Asset>"
    )
    assert errors_of(one_avail(transaction_xml(), asset=asset)) == [
        "a Movie Asset needs Metadata (its title)"
    ]


# --- XSD -----------------------------------------------------------------------------------------

# Our own tiny schema for the v2.7 namespace: at most two Avails. It exercises the XSD path on
# a fresh clone, where MovieLabs' schemas are absent.
TINY_XSD = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified"
  targetNamespace="http://www.movielabs.com/schema/avails/v2.7/avails">
  <xs:element name="AvailList"><xs:complexType><xs:sequence>
    <xs:element name="Avail" maxOccurs="2"><xs:complexType><xs:sequence>
      <xs:any processContents="skip" namespace="##any" maxOccurs="unbounded"/>
    </xs:sequence></xs:complexType></xs:element>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>
"""


def test_the_xsd_of_the_document_version_is_applied_with_lines(tmp_path: Path) -> None:
    (tmp_path / "avails-v2.7.xsd").write_text(TINY_XSD)
    path = FIXTURES / "films_v2.7.xml"
    with pytest.raises(AvailsInvalid) as raised:
        read_avails(path, schema_dir=tmp_path)
    (issue,) = raised.value.errors
    assert issue.line == line_of(path, "<avails:Avail>", 3)
    assert issue.message.startswith("schema: Element 'avails:Avail': This element is not expected")
    document = read_avails(FIXTURES / "films_full_extract_reduced_v2.7.xml", schema_dir=tmp_path)
    assert document.schema_validated


def test_a_missing_or_broken_schema_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AvailsSchemaUnavailable, match="does not exist"):
        read_avails(FIXTURES / "films_v2.7.xml", schema_dir=tmp_path / "nowhere")
    with pytest.raises(
        AvailsSchemaUnavailable, match=r"no schema for avails v2\.5 .*avails-v2\.5\.xsd"
    ):
        read_avails(FIXTURES / "films_update_v2.5.xml", schema_dir=tmp_path)
    (tmp_path / "avails-v2.7.xsd").write_text("<xs:schema xmlns:xs='urn:not-xsd'/>")
    with pytest.raises(AvailsSchemaUnavailable, match="cannot load"):
        read_avails(FIXTURES / "films_v2.7.xml", schema_dir=tmp_path)


@needs_shared
@pytest.mark.parametrize("path", sorted(FIXTURES.glob("[fs]*.xml")), ids=lambda p: p.name)
def test_valid_fixtures_pass_the_movielabs_xsd(path: Path) -> None:
    assert read_avails(path, schema_dir=SHARED_SCHEMAS).schema_validated


@needs_shared
def test_the_movielabs_xsd_adds_its_findings_to_ours() -> None:
    path = FIXTURES / "invalid_structure_v2.7.xml"
    with pytest.raises(AvailsInvalid) as raised:
        read_avails(path, schema_dir=SHARED_SCHEMAS)
    schema = [i for i in raised.value.errors if i.message.startswith("schema: ")]
    assert [i.line for i in schema] == [
        line_of(path, "<avails:Metadata>"),
        line_of(path, "<avails:Start>"),
    ]
    assert len(raised.value.errors) == 6


# --- Shared MovieLabs samples (conformance) ------------------------------------------------------


@needs_shared
@pytest.mark.parametrize("name", ["Avails_noErrors_v2.2.1.xml", "Avails_noErrors_v2.4.xml"])
@pytest.mark.parametrize("with_xsd", [False, True])
def test_movielabs_error_free_samples_are_read(name: str, with_xsd: bool) -> None:
    document = read_avails(SHARED_AVAILS / name, schema_dir=SHARED_SCHEMAS if with_xsd else None)
    assert document.schema_validated is with_xsd
    assert (len(document.avails), document.transaction_count, document.skipped_count) == (12, 24, 2)
    assert len(windows_by_key(document)) == 22
    kinds = {ref.kind for a in document.avails if a.asset for ref in a.asset.lineage()}
    assert kinds == {"movie", "series", "season", "episode"}
    licence_types = {w.spec.license_type for w in windows_by_key(document).values()}
    assert licence_types == {"EST", "SVOD", "TVOD"}  # VOD is read as TVOD
    (warning,) = document.warnings
    assert "Collection" in warning.message


@needs_shared
def test_movielabs_sample_with_errors_is_refused_at_the_right_lines() -> None:
    path = SHARED_AVAILS / "Avails_withErrors.xml"
    with pytest.raises(AvailsInvalid) as raised:
        read_avails(path)
    assert [(i.line, i.message) for i in raised.value.errors] == [
        (
            line_of(path, "<md:country>JJ</md:country>"),
            "'JJ' is not an ISO 3166-1 alpha-2 country code",
        ),
        (
            line_of(path, "fr-xx"),
            "'fr-xx': region 'xx' is not an ISO 3166-1 alpha-2 country code",
        ),
    ]


@needs_shared
def test_movielabs_structure_tests_are_refused_at_the_right_lines() -> None:
    path = SHARED_AVAILS / "Avails_Structure_Tests_v2.3_errors.xml"
    with pytest.raises(AvailsInvalid) as raised:
        read_avails(path, schema_dir=SHARED_SCHEMAS)
    lines = {i.line for i in raised.value.errors}
    assert lines == {
        line_of(path, "<avails:Asset ", 2),  # a Movie without Metadata (ours and the XSD's)
        line_of(path, 'TransactionID="922247d2', 2),  # the same TransactionID twice
    }


# --- Export --------------------------------------------------------------------------------------


def as_stored(document: AvailsDocument) -> list[Avail]:
    """The document as the database gives it back: one transaction per window."""
    return [
        Avail(
            alid=avail.alid,
            licensor=avail.licensor,
            disposition="Full Extract",
            asset=avail.asset,
            transactions=tuple(
                AvailsTransaction(window.key, (window,))
                for transaction in avail.transactions
                for window in transaction.windows
            ),
        )
        for avail in document.avails
        if avail.skipped is None
    ]


@pytest.mark.parametrize("name", ["films_v2.7.xml", "series_v2.4.xml"])
def test_export_reads_back_as_the_same_windows_and_titles(name: str) -> None:
    original = read_avails(FIXTURES / name)
    exported = export_avails(as_stored(original))
    again = parse_avails(exported, file="export.xml")
    assert again.version == "2.7"
    assert {k: w.spec for k, w in windows_by_key(again).items()} == {
        k: w.spec for k, w in windows_by_key(original).items()
    }

    def titles(document: AvailsDocument) -> list[tuple[object, ...]]:
        return [
            (r.content_id, r.kind, r.name, r.year, r.number, r.eidr)
            for a in document.avails
            if a.asset is not None
            for r in a.asset.lineage()
        ]

    assert titles(again) == titles(original)


@needs_shared
def test_export_is_valid_against_the_movielabs_v2_7_xsd() -> None:
    stored = as_stored(read_avails(FIXTURES / "films_v2.7.xml")) + as_stored(
        read_avails(FIXTURES / "series_v2.4.xml")
    )
    document = parse_avails(export_avails(stored), schema_dir=SHARED_SCHEMAS)
    assert document.schema_validated
    assert len(document.avails) == 5
