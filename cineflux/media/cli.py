"""``cineflux ingest``: turn a file into a playable title, with a progress bar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from cineflux.catalog.service import InvalidTitle
from cineflux.cli_support import console, fail, load_platform
from cineflux.media.encoder import EncodeFailed
from cineflux.media.flows import IngestResult, ingest_into
from cineflux.media.probe import SourceInfo, UnplayableMedia
from cineflux.platform import Platform


def ingest_with_progress(
    platform: Platform, path: Path, *, name: str, year: int | None, show: bool = True
) -> IngestResult:
    """Ingest one file, drawing a Rich progress bar of the encode."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=console,
        disable=not show,
        transient=False,
    ) as progress:
        task = progress.add_task(f"Encoding {name}", total=None)

        def probed(source: SourceInfo) -> None:
            progress.update(task, total=source.duration_seconds)

        def advanced(seconds: float) -> None:
            progress.update(task, completed=seconds)

        result = ingest_into(
            platform, path, name=name, year=year, on_probe=probed, on_progress=advanced
        )
        progress.update(task, completed=result.source.duration_seconds)
    return result


def ingest(
    file: Annotated[Path, typer.Argument(help="the mezzanine file (MP4, MOV, MKV, ...)")],
    title: Annotated[str, typer.Option("--title", help="the title's name")],
    year: Annotated[int | None, typer.Option("--year", help="release year")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Probe, encode (two H.264/AAC rungs, CMAF, HLS + DASH) and publish a title."""
    platform = load_platform()
    try:
        result = ingest_with_progress(platform, file, name=title, year=year, show=not as_json)
    except (UnplayableMedia, InvalidTitle, EncodeFailed) as error:
        fail(f"cannot ingest: {error}")
    if as_json:
        print(
            json.dumps(
                {
                    "title_id": result.title_id,
                    "name": result.name,
                    "duration_seconds": result.source.duration_seconds,
                    "renditions": result.renditions,
                }
            )
        )
    else:
        console.print(
            f"Published [bold]{result.name}[/] ({result.title_id}): "
            f"{result.renditions} renditions, {result.source.duration_seconds:.1f}s"
        )
