"""``cineflux avails``, run as an operator runs it: a real process on a fresh installation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import cineflux
from tests.unit.test_avails_parse import FIXTURES, SHARED_SCHEMAS, line_of, needs_shared

FILMS = str(FIXTURES / "films_v2.7.xml")
INVALID = FIXTURES / "invalid_terms_v2.5.xml"


def import_json(env: dict[str, str], *args: str) -> dict[str, object]:
    """``cineflux avails import ARGS --json``, which must succeed."""
    result = cineflux(env, "avails", "import", *args, "--json")
    assert result.returncode == 0, result.stderr
    parsed: dict[str, object] = json.loads(result.stdout)
    return parsed


def export(env: dict[str, str], *args: str) -> str:
    """``cineflux avails export ARGS`` to stdout, which must succeed."""
    result = cineflux(env, "avails", "export", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("command", [["avails"], ["avails", "import"], ["avails", "export"]])
def test_avails_commands_have_help(env: dict[str, str], command: list[str]) -> None:
    result = cineflux(env, *command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_import_prints_counts_and_a_second_import_creates_nothing(env: dict[str, str]) -> None:
    first = import_json(env, FILMS)
    assert {k: first[k] for k in first if k not in ("file", "warnings")} == {
        "avails": 3,
        "transactions": 5,
        "titles_created": 2,
        "windows_created": 5,
        "windows_updated": 0,
        "windows_deleted": 0,
        "windows_unchanged": 0,
        "skipped": 2,
        "schema_validated": False,
        "dry_run": False,
    }
    second = import_json(env, FILMS)
    assert (second["titles_created"], second["windows_created"]) == (0, 0)
    assert second["windows_unchanged"] == 5


def test_human_import_names_warnings_and_how_to_enable_xsd(env: dict[str, str]) -> None:
    result = cineflux(env, "avails", "import", FILMS)
    assert result.returncode == 0, result.stderr
    assert (
        f"Imported {FILMS}: 3 avails, 5 transactions; titles created 2; windows created 5, "
        "updated 0, deleted 0, unchanged 0; skipped 2"
    ) in result.stdout
    assert "CINEFLUX_AVAILS_SCHEMA_DIR or pass --schema-dir" in result.stdout
    poest = line_of(FIXTURES / "films_v2.7.xml", 'TransactionID="LUM-003"')
    assert f"{FILMS}:{poest}: warning: transaction LUM-003 skipped" in result.stderr


def test_a_file_with_errors_lists_them_by_line_and_imports_nothing(env: dict[str, str]) -> None:
    import_json(env, FILMS)
    before = export(env)
    result = cineflux(env, "avails", "import", str(INVALID))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[:5] == [
        f"{INVALID}:{line_of(INVALID, 'UK')}: 'UK' is not an ISO 3166-1 alpha-2 country code",
        f"{INVALID}:{line_of(INVALID, '2025-03-01')}: "
        "End 2025-03-01T00:00:00 is not after Start 2026-03-01T00:00:00",
        f"{INVALID}:{line_of(INVALID, 'Rental')}: unknown licence type 'Rental' "
        "(SVOD, TVOD, EST, AVOD, FVOD, or VOD for TVOD)",
        f"{INVALID}:{line_of(INVALID, 'fr-XX')}: "
        "'fr-XX': region 'XX' is not an ISO 3166-1 alpha-2 country code",
        f"{INVALID}:{line_of(INVALID, '8K')}: unknown FormatProfile '8K' (SD, HD or UHD)",
    ]
    assert lines[5] == f"error: 5 error(s) in {INVALID}: nothing was imported"
    as_json = cineflux(env, "avails", "import", str(INVALID), "--json")
    assert as_json.returncode == 1
    errors = json.loads(as_json.stdout)["errors"]
    assert [e["line"] for e in errors] == [int(line.split(":")[1]) for line in lines[:5]]
    assert export(env) == before  # the valid first Avail of the file was not applied either


def test_dry_run_counts_without_keeping_anything(env: dict[str, str]) -> None:
    dry = import_json(env, FILMS, "--dry-run")
    assert (dry["dry_run"], dry["windows_created"]) == (True, 5)
    assert import_json(env, FILMS)["windows_created"] == 5


def test_a_missing_schema_for_the_version_is_a_clear_error(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = cineflux(env, "avails", "import", FILMS, "--schema-dir", str(tmp_path))
    assert result.returncode == 1
    assert f"no schema for avails v2.7 in {tmp_path} (expected avails-v2.7.xsd)" in (
        result.stderr.replace("\n", "")
    )


@needs_shared
def test_schema_dir_from_settings_validates_with_the_movielabs_xsd(env: dict[str, str]) -> None:
    env = {**env, "CINEFLUX_AVAILS_SCHEMA_DIR": str(SHARED_SCHEMAS)}
    assert import_json(env, FILMS)["schema_validated"] is True
    refused = cineflux(env, "avails", "import", str(FIXTURES / "invalid_structure_v2.7.xml"))
    assert refused.returncode == 1
    assert "schema: Element 'avails:Metadata'" in refused.stderr


def test_export_to_stdout_or_a_file_and_reimport_as_a_no_op(
    env: dict[str, str], tmp_path: Path
) -> None:
    import_json(env, FILMS)
    import_json(env, str(FIXTURES / "series_v2.4.xml"))
    xml = export(env)
    assert xml.startswith("<?xml")
    assert xml.count("<avails:Transaction ") == 8
    belgium = export(env, "--territory", "be")
    assert belgium.count("<avails:Transaction ") == 3
    assert "<md:country>FR</md:country>" not in belgium
    nord = export(env, "--licensor", "Studio Nord")
    assert nord.count("<avails:Transaction ") == 3
    target = tmp_path / "out.xml"
    written = cineflux(env, "avails", "export", "--output", str(target))
    assert written.returncode == 0, written.stderr
    assert "Wrote 5 avails (8 transactions)" in written.stdout
    assert target.read_text() == xml
    again = import_json(env, str(target))
    assert (again["windows_created"], again["windows_unchanged"]) == (0, 8)
    unknown = cineflux(env, "avails", "export", "--territory", "UK")
    assert unknown.returncode == 1
    assert "'UK' is not an ISO 3166-1 alpha-2 country code" in unknown.stderr


def test_export_of_nothing_fails_cleanly(env: dict[str, str]) -> None:
    result = cineflux(env, "avails", "export")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: no windows from avails match: nothing to export"
