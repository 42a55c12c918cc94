"""``cineflux ingest``, ``cineflux media …`` and ``cineflux worker``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from cineflux.catalog import service as catalog
from cineflux.catalog.service import InvalidTitle
from cineflux.cli_support import console, fail, load_platform
from cineflux.media import service as media
from cineflux.media.encoder import EncodeFailed
from cineflux.media.flows import (
    IngestFailed,
    IngestResult,
    SubmittedIngest,
    ingest_into,
    worker_context,
)
from cineflux.media.plan import InvalidIngestRequest
from cineflux.media.probe import UnplayableMedia
from cineflux.media.service import JobProgress
from cineflux.media.subtitles import InvalidSubtitles
from cineflux.media.tasks import finalize_pending, work_until_idle
from cineflux.platform import Platform

REFUSALS = (UnplayableMedia, InvalidTitle, InvalidIngestRequest, InvalidSubtitles, EncodeFailed)

media_app = typer.Typer(help="Encoding jobs and ladders.", no_args_is_help=True)


def ingest_with_progress(
    platform: Platform,
    path: Path,
    *,
    name: str,
    year: int | None,
    audio_languages: list[str] | None = None,
    subtitles: list[str] | None = None,
    show: bool = True,
) -> IngestResult:
    """Ingest one file, drawing a Rich progress bar of the job (percent and ETA)."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[state]}"),
        TimeRemainingColumn(),
        console=console,
        disable=not show,
    ) as progress:
        bar = progress.add_task(f"Encoding {name}", total=100, state="")

        def submitted(job: SubmittedIngest) -> None:
            progress.update(bar, description=f"Encoding {job.name}")

        def advanced(job: JobProgress) -> None:
            state = "playable" if job.playable and job.state == "running" else job.state
            progress.update(bar, completed=100 * job.progress, state=state)

        return ingest_into(
            platform,
            path,
            name=name,
            year=year,
            audio_languages=audio_languages,
            subtitles=subtitles,
            on_submitted=submitted,
            on_progress=advanced,
        )


def ingest(
    file: Annotated[Path, typer.Argument(help="the mezzanine file (MP4, MOV, MKV, ...)")],
    title: Annotated[str, typer.Option("--title", help="the title's name")],
    year: Annotated[int | None, typer.Option("--year", help="release year")] = None,
    audio_lang: Annotated[
        str | None,
        typer.Option(
            "--audio-lang",
            help="languages of the source's audio streams, in order: fra,eng",
        ),
    ] = None,
    subtitles: Annotated[
        list[str] | None,
        typer.Option(
            "--subtitles",
            help="external subtitles, SRT or WebVTT: fr=film.fr.srt, fr:forced=signs.vtt "
            "(repeatable)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Probe, encode the ladder (CMAF, HLS + DASH), and publish a title as it becomes playable."""
    platform = load_platform()
    languages = [x.strip() for x in audio_lang.split(",")] if audio_lang else None
    try:
        result = ingest_with_progress(
            platform,
            file,
            name=title,
            year=year,
            audio_languages=languages,
            subtitles=subtitles,
            show=not as_json,
        )
    except REFUSALS as error:
        fail(f"cannot ingest: {error}")
    except IngestFailed as error:
        fail(f"encoding failed: {error}")
    if as_json:
        print(
            json.dumps(
                {
                    "title_id": result.title_id,
                    "job_id": result.job_id,
                    "name": result.name,
                    "duration_seconds": result.source.duration_seconds,
                    "renditions": result.renditions,
                    "seconds_to_playable": result.seconds_to_playable,
                    "seconds_to_complete": result.seconds_to_complete,
                }
            )
        )
    else:
        console.print(
            f"Published [bold]{result.name}[/] ({result.title_id}): {result.renditions} "
            f"renditions; playable after {result.seconds_to_playable:.1f}s, "
            f"complete after {result.seconds_to_complete:.1f}s"
        )


def _find_title_id(platform: Platform, reference: str) -> str:
    with platform.sessions() as session:
        matches = catalog.find_titles(session, reference)
    if not matches:
        fail(f"no title has the id or exact name {reference!r}")
    if len(matches) > 1:
        fail(f"{len(matches)} titles are named {reference!r}; give the id")
    return matches[0].id


@media_app.command("report")
def report(
    title: Annotated[str, typer.Argument(help="a title's id or exact name")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """The title's ladder: codec, size, bitrate and VMAF of every rung."""
    platform = load_platform()
    title_id = _find_title_id(platform, title)
    with platform.sessions() as session:
        name = catalog.get_title(session, title_id).name
        package = media.package_for_title(session, title_id)
        jobs = media.jobs_for_title(session, title_id)
        if package is None:
            state = jobs[0].state if jobs else "no job"
            fail(f"{name} has no published media yet (job {state})")
        rungs: list[dict[str, Any]] = [
            {
                "codec": r.codecs,
                "width": r.width,
                "height": r.height,
                "bitrate": r.average_bandwidth,
                "peak_bitrate": r.bandwidth,
                "vmaf": r.vmaf,
            }
            for r in package.renditions
            if r.kind == "video"
        ]
        audio = [
            {"language": r.language, "name": r.name, "codec": r.codecs, "bitrate": r.bandwidth}
            for r in package.renditions
            if r.kind == "audio"
        ]
        text = [
            {"language": r.language, "name": r.name, "forced": bool(r.forced)}
            for r in package.renditions
            if r.kind == "text"
        ]
        status = package.status
    if as_json:
        print(
            json.dumps(
                {
                    "title_id": title_id,
                    "name": name,
                    "status": status,
                    "rungs": rungs,
                    "audio": audio,
                    "subtitles": text,
                }
            )
        )
        return
    table = Table(title=f"{name} — {status}")
    for column in ("codec", "size", "bitrate kb/s", "peak kb/s", "VMAF"):
        table.add_column(column, justify="right" if column != "codec" else "left")
    for rung in rungs:
        table.add_row(
            rung["codec"],
            f"{rung['width']}x{rung['height']}",
            f"{(rung['bitrate'] or 0) / 1000:.0f}",
            f"{rung['peak_bitrate'] / 1000:.0f}",
            f"{rung['vmaf']:.1f}" if rung["vmaf"] is not None else "—",
        )
    console.print(table)
    for track in audio:
        console.print(f"audio  {track['name']} ({track['language'] or 'und'}) {track['codec']}")
    for subtitle in text:
        forced = " forced" if subtitle["forced"] else ""
        console.print(f"text   {subtitle['name']} ({subtitle['language']}){forced}")


@media_app.command("jobs")
def jobs(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Recent encoding jobs with their progress."""
    platform = load_platform()
    with platform.sessions() as session:
        rows = [
            media.job_progress(session, job.id, clock=platform.clock)
            for job in media.list_jobs(session)
        ]
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "id": p.id,
                        "title_id": p.title_id,
                        "state": p.state,
                        "progress": round(p.progress, 4),
                        "eta_seconds": p.eta_seconds,
                        "playable": p.playable,
                        "error": p.error,
                    }
                    for p in rows
                ]
            )
        )
        return
    table = Table(title="Encoding jobs")
    for column in ("job", "title", "state", "progress", "tasks", "error"):
        table.add_column(column)
    for p in rows:
        table.add_row(
            p.id[:8],
            p.title_id[:8],
            p.state + (" (playable)" if p.playable and p.state == "running" else ""),
            f"{100 * p.progress:.0f}%",
            f"{p.tasks_done}/{p.tasks_total}",
            p.error or "",
        )
    console.print(table)


def worker(
    once: Annotated[
        bool, typer.Option("--once", help="exit when no task is left instead of waiting")
    ] = False,
    threads: Annotated[int, typer.Option(help="tasks run at the same time")] = 1,
    poll_seconds: Annotated[float, typer.Option(help="pause between looks for work")] = 2.0,
    celery: Annotated[
        bool, typer.Option("--celery", help="take work from the Celery broker (Redis)")
    ] = False,
) -> None:
    """Run encoding tasks from the database (and take over those of dead workers)."""
    import threading

    platform = load_platform()
    if celery:
        from cineflux.media.celery_app import make_celery

        settings = platform.settings
        broker = settings.celery_broker_url or settings.redis_url
        if not broker:
            fail("--celery needs CINEFLUX_CELERY_BROKER_URL or CINEFLUX_REDIS_URL")
        make_celery(broker).worker_main(
            [
                "worker",
                f"--concurrency={threads}",
                "--queues=cineflux-media",
                "--loglevel=INFO",
                f"--hostname=cineflux-{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
            ]
        )
        return
    base = worker_context(platform)

    def loop() -> None:
        ctx = base.for_thread()
        while True:
            work_until_idle(ctx)
            finalize_pending(ctx)
            if once:
                return
            time.sleep(poll_seconds)

    pool = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
