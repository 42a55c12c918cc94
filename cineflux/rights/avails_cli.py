"""``cineflux avails``: import MovieLabs/EMA avails into rights windows, and export them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape

from cineflux.cli_support import console, fail, load_platform
from cineflux.rights.avails import AvailsInvalid, AvailsSchemaUnavailable
from cineflux.rights.avails_flows import export_document, import_avails
from cineflux.rights.territory import UnknownTerritoryCode, normalise_territory

avails_app = typer.Typer(
    help="MovieLabs/EMA avails (XML v2.2 to v2.7): import rights windows, export them.",
    no_args_is_help=True,
)

SCHEMA_NOTE = (
    "XSD validation skipped: set CINEFLUX_AVAILS_SCHEMA_DIR or pass --schema-dir DIR "
    "(a directory of MovieLabs avails-vX.xsd and md-vX.xsd files) to enable it"
)


def _refuse(invalid: AvailsInvalid, *, as_json: bool, schema_validated: bool) -> NoReturn:
    if as_json:
        print(
            json.dumps(
                {
                    "file": invalid.file,
                    "errors": [issue.to_json() for issue in invalid.errors],
                    "schema_validated": schema_validated,
                }
            )
        )
        raise typer.Exit(1)
    for line in invalid.lines():
        print(line, file=sys.stderr)
    fail(f"{len(invalid.errors)} error(s) in {escape(invalid.file)}: nothing was imported")


@avails_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="an avails XML file (v2.2 to v2.7)")],
    as_json: Annotated[bool, typer.Option("--json", help="print counts as JSON")] = False,
    schema_dir: Annotated[
        Path | None,
        typer.Option(
            "--schema-dir",
            help="MovieLabs XSD directory (overrides CINEFLUX_AVAILS_SCHEMA_DIR)",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="check and count, then roll everything back")
    ] = False,
) -> None:
    """Apply an avails file to titles and windows: all of it, or nothing."""
    platform = load_platform()
    schema_dir = schema_dir or platform.settings.avails_schema_dir
    try:
        data = file.read_bytes()
    except OSError as error:
        fail(f"cannot read {escape(str(file))}: {escape(error.strerror or str(error))}")
    try:
        result = import_avails(
            platform, data, file=str(file), schema_dir=schema_dir, dry_run=dry_run
        )
    except AvailsInvalid as invalid:
        _refuse(invalid, as_json=as_json, schema_validated=schema_dir is not None)
    except AvailsSchemaUnavailable as error:
        fail(escape(str(error)))
    if as_json:
        print(json.dumps({**result.to_json(), "dry_run": dry_run}))
        return
    for warning in result.warnings:
        print(f"{result.file}:{warning.line}: warning: {warning.message}", file=sys.stderr)
    verb = "Would import" if dry_run else "Imported"
    console.print(
        f"{verb} {result.file}: {result.avails} avails, {result.transactions} transactions; "
        f"titles created {result.titles_created}; windows created {result.windows_created}, "
        f"updated {result.windows_updated}, deleted {result.windows_deleted}, "
        f"unchanged {result.windows_unchanged}; skipped {result.skipped}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    if not result.schema_validated:
        console.print(SCHEMA_NOTE, markup=False, highlight=False, soft_wrap=True)


@avails_app.command("export")
def export_command(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write here instead of stdout")
    ] = None,
    territory: Annotated[
        str | None,
        typer.Option("--territory", help="only this country's windows (then as an Update)"),
    ] = None,
    licensor: Annotated[
        str | None, typer.Option("--licensor", help="only this licensor's windows")
    ] = None,
) -> None:
    """Write the windows that came from avails back as avails XML (v2.7)."""
    platform = load_platform()
    if territory is not None:
        try:
            territory = normalise_territory(territory)
        except UnknownTerritoryCode as error:
            fail(escape(str(error)))
    with platform.sessions() as session:
        data, avails = export_document(session, territory=territory, licensor=licensor)
    if not avails:
        fail("no windows from avails match: nothing to export")
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    output.write_bytes(data)
    count = sum(len(a.transactions) for a in avails)
    console.print(
        f"Wrote {len(avails)} avails ({count} transactions) to {output}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
