"""``cineflux rights`` and ``cineflux report``: decide, explain, simulate, report."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cineflux.catalog import service as catalog
from cineflux.cli_support import console, fail, load_platform
from cineflux.db import transaction
from cineflux.rights import service as rights
from cineflux.rights.chronology import (
    LICENSE_TYPES,
    PLATFORM_PROFILES,
    Decision,
    RuleSetError,
    hypothetical_film_decision,
    load_rule_sets,
    paris_date,
    paris_midnight,
)
from cineflux.rights.territory import UnknownTerritoryCode, normalise_territory

app = typer.Typer(
    help="Rights: windows, the chronologie des médias, scenarios.", no_args_is_help=True
)
rule_sets_app = typer.Typer(help="The chronologie's dated rule sets.", no_args_is_help=True)
app.add_typer(rule_sets_app, name="rule-sets")
report_app = typer.Typer(help="Regulatory reports.", no_args_is_help=True)

OnOption = Annotated[
    str | None,
    typer.Option("--on", help="a day (YYYY-MM-DD, at 00:00 Paris) or an ISO instant; default now"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]


def parse_instant(text: str | None) -> datetime:
    """A day (00:00 in Paris) or an ISO 8601 instant with a zone; now when absent."""
    if text is None:
        return datetime.now(UTC)
    try:
        if len(text) == 10:
            return paris_midnight(date.fromisoformat(text))
        instant = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{text!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 instant")
    if instant.tzinfo is None:
        fail(f"{text!r} needs a time zone (e.g. +01:00 or Z)")
    return instant.astimezone(UTC)


def _territory(code: str) -> str:
    try:
        return normalise_territory(code)
    except UnknownTerritoryCode as error:
        fail(str(error))


def _license(code: str) -> str:
    license_type = code.strip().upper()
    if license_type not in LICENSE_TYPES:
        fail(f"unknown licence type {code!r}; choose one of {', '.join(LICENSE_TYPES)}")
    return license_type


def _describe(decision: Decision) -> str:
    state = "[green]available[/]" if decision.available else "[red]not available[/]"
    when = []
    if decision.opens_at:
        when.append(f"opens {paris_date(decision.opens_at)}")
    if decision.closes_at:
        when.append(f"closes {paris_date(decision.closes_at)}")
    suffix = f" ({', '.join(when)})" if when else ""
    return f"{state}{suffix}: {decision.reason}"


@app.command("check")
def check(
    territory: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 code")] = "FR",
    license: Annotated[str, typer.Option("--license", help="SVOD TVOD EST AVOD FVOD")] = "SVOD",
    release_date: Annotated[
        str, typer.Option("--release-date", help="French cinema release, YYYY-MM-DD")
    ] = "",
    on: OnOption = None,
    platform_profile: Annotated[
        str | None,
        typer.Option(help=f"one of {', '.join(PLATFORM_PROFILES)}; default: the setting"),
    ] = None,
    free_tv_broadcast: Annotated[
        str | None, typer.Option(help="first free-TV broadcast, YYYY-MM-DD")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """When may a hypothetical film, released in French cinemas on a date, be offered?"""
    if not release_date:
        fail("--release-date is required")
    try:
        released = date.fromisoformat(release_date)
        broadcast = date.fromisoformat(free_tv_broadcast) if free_tv_broadcast else None
    except ValueError as error:
        fail(f"bad date: {error}")
    platform = load_platform()
    with platform.sessions() as session:
        try:
            policy = rights.rights_policy(
                session, platform_profile or platform.settings.platform_profile
            )
            decision = hypothetical_film_decision(
                policy=policy,
                territory=_territory(territory),
                license_type=_license(license),
                release_date=released,
                on=parse_instant(on),
                first_free_tv_broadcast=broadcast,
            )
        except RuleSetError as error:
            fail(str(error))
    if as_json:
        print(json.dumps(decision.to_json()))
    else:
        console.print(_describe(decision))


def _find_title(session: Any, reference: str) -> Any:
    matches = catalog.find_titles(session, reference)
    if not matches:
        fail(f"no title has the id or name {reference!r}")
    if len(matches) > 1:
        ids = ", ".join(f"{t.id} ({t.year})" for t in matches)
        fail(f"{len(matches)} titles are named {reference!r}; give an id: {ids}")
    return matches[0]


@app.command("explain")
def explain(
    title: Annotated[str, typer.Argument(help="title id or exact name")],
    territory: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 code")] = "FR",
    on: OnOption = None,
    as_json: JsonOption = False,
) -> None:
    """Explain a title's state in a territory: every licence type, its windows and rules."""
    platform = load_platform()
    at = parse_instant(on)
    with platform.sessions() as session:
        found = _find_title(session, title)
        policy = rights.rights_policy(session, platform.settings.platform_profile)
        result = rights.explain(
            session, policy=policy, title_id=found.id, territory=_territory(territory), at=at
        )
    windows = [
        {
            "id": w.id,
            "license_type": w.license_type,
            "starts_at": w.starts_at.isoformat(),
            "ends_at": w.ends_at.isoformat() if w.ends_at else None,
            "format_cap": w.format_cap,
            "holdbacks": [
                {
                    "starts_at": h.starts_at.isoformat(),
                    "ends_at": h.ends_at.isoformat() if h.ends_at else None,
                    "reason": h.reason,
                }
                for h in w.holdbacks
            ],
            "licensor": w.licensor,
        }
        for w in result.windows
    ]
    if as_json:
        print(
            json.dumps(
                {
                    "title": {"id": found.id, "name": found.name, "kind": found.kind},
                    "territory": result.territory,
                    "at": at.isoformat(),
                    "platform_profile": policy.platform_profile,
                    "fr_release_date": (
                        found.fr_release_date.isoformat() if found.fr_release_date else None
                    ),
                    "decisions": {k: d.to_json() for k, d in result.decisions.items()},
                    "windows": windows,
                }
            )
        )
        return
    release = found.fr_release_date.isoformat() if found.fr_release_date else "none"
    console.print(
        f"[bold]{found.name}[/] ({found.kind}, French cinema release: {release}) in "
        f"{result.territory} on {paris_date(at)}, platform profile {policy.platform_profile}"
    )
    for license_type, decision in result.decisions.items():
        console.print(f"  {license_type:5} {_describe(decision)}")
    for window in windows:
        console.print(
            f"  window {window['license_type']} {window['starts_at']} → "
            f"{window['ends_at'] or 'open'} {window['format_cap']} {window['licensor']}"
        )


@app.command("what-if")
def what_if(
    rule_set_file: Annotated[Path, typer.Argument(help="JSON rule set(s), as chronologie.json")],
    on: OnOption = None,
    territory: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 code")] = "FR",
    as_json: JsonOption = False,
) -> None:
    """Compare the catalogue under a proposed rule set with the rules in force on a date."""
    try:
        proposal = load_rule_sets(rule_set_file)
    except (OSError, RuleSetError) as error:
        fail(str(error))
    platform = load_platform()
    at = parse_instant(on)
    with platform.sessions() as session:
        current = rights.rights_policy(session, platform.settings.platform_profile)
        proposed = rights.proposed_policy(current, proposal, paris_date(at))
        changes = rights.compare_policies(
            session, current=current, proposed=proposed, territory=_territory(territory), at=at
        )
    summary = {
        license_type: {
            "gained": sorted(
                (
                    {"id": c.title_id, "name": c.name}
                    for c in changes
                    if c.license_type == license_type and c.gained
                ),
                key=lambda item: item["name"],
            ),
            "lost": sorted(
                (
                    {"id": c.title_id, "name": c.name}
                    for c in changes
                    if c.license_type == license_type and not c.gained
                ),
                key=lambda item: item["name"],
            ),
        }
        for license_type in LICENSE_TYPES
    }
    if as_json:
        print(
            json.dumps(
                {
                    "on": paris_date(at).isoformat(),
                    "territory": territory.upper(),
                    "proposal": [r.name for r in proposal],
                    "licence_types": summary,
                }
            )
        )
        return
    table = Table(
        title=f"{', '.join(r.name for r in proposal)} vs rules in force, {paris_date(at)}"
    )
    for column in ("licence", "gained", "lost", "examples"):
        table.add_column(column)
    for license_type, result in summary.items():
        examples = [f"+{t['name']}" for t in result["gained"][:3]] + [
            f"-{t['name']}" for t in result["lost"][:3]
        ]
        table.add_row(
            license_type, str(len(result["gained"])), str(len(result["lost"])), ", ".join(examples)
        )
    console.print(table)


@app.command("refresh")
def refresh() -> None:
    """Recompute every title's availability (after changing the platform profile)."""
    platform = load_platform()
    with transaction(platform.sessions) as session:
        policy = rights.rights_policy(session, platform.settings.platform_profile)
        written = rights.refresh_all_availability(session, policy=policy)
    console.print(f"Availability recomputed: {written} spans")


@rule_sets_app.command("list")
def list_rule_sets(as_json: JsonOption = False) -> None:
    """The stored rule sets, oldest first."""
    platform = load_platform()
    with platform.sessions() as session:
        stored = rights.rule_sets(session)
    if as_json:
        print(json.dumps({"rule_sets": [r.to_json() for r in stored]}))
        return
    table = Table(title="Chronologie des médias")
    for column in ("name", "in force from", "TVOD", "SVOD signatory/other/investor", "source"):
        table.add_column(column)
    for r in stored:
        svod = "/".join(str(r.svod_months.get(p, "-")) for p in PLATFORM_PROFILES)
        table.add_row(r.name, str(r.in_force_from), str(r.months.get("TVOD", "-")), svod, r.source)
    console.print(table)


@rule_sets_app.command("add")
def add_rule_sets(
    rule_set_file: Annotated[Path, typer.Argument(help="JSON rule set(s), as chronologie.json")],
) -> None:
    """Store new dated rule sets and recompute availability."""
    try:
        proposal = load_rule_sets(rule_set_file)
    except (OSError, RuleSetError) as error:
        fail(str(error))
    platform = load_platform()
    try:
        with transaction(platform.sessions) as session:
            for rule_set in proposal:
                rights.add_rule_set(session, rule_set)
            policy = rights.rights_policy(session, platform.settings.platform_profile)
            written = rights.refresh_all_availability(session, policy=policy)
    except rights.RightsError as error:
        fail(str(error))
    names = ", ".join(r.name for r in proposal)
    console.print(f"Added {names}; availability recomputed ({written} spans)")


@app.command("grant")
def grant(
    title: Annotated[str, typer.Argument(help="title id or exact name")],
    territory: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 code")],
    start: Annotated[str, typer.Option(help="YYYY-MM-DD (00:00 Paris) or ISO instant")],
    end: Annotated[str | None, typer.Option(help="exclusive; open-ended when absent")] = None,
    license: Annotated[str, typer.Option("--license", help="SVOD TVOD EST AVOD FVOD")] = "SVOD",
    format_cap: Annotated[str, typer.Option("--format", help="SD HD UHD")] = "HD",
) -> None:
    """Grant a window by hand (avails imports are the usual way)."""
    platform = load_platform()
    try:
        with transaction(platform.sessions) as session:
            found = _find_title(session, title)
            window = rights.add_window(
                session,
                clock=platform.clock,
                title_id=found.id,
                spec=rights.WindowSpec(
                    territory=territory,
                    license_type=license,
                    starts_at=parse_instant(start),
                    ends_at=parse_instant(end) if end else None,
                    format_cap=format_cap,
                ),
            )
            policy = rights.rights_policy(session, platform.settings.platform_profile)
            rights.refresh_availability(session, policy=policy, title_ids=[found.id])
    except rights.RightsError as error:
        fail(str(error))
    console.print(f"Window {window.id} granted on [bold]{found.name}[/]")


@report_app.command("catalogue")
def report_catalogue(
    territory: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 code")] = "FR",
    on: OnOption = None,
    license: Annotated[str, typer.Option("--license", help="SVOD TVOD EST AVOD FVOD")] = "SVOD",
    as_json: JsonOption = False,
) -> None:
    """Share of European and of French-language works among the titles available."""
    platform = load_platform()
    at = parse_instant(on)
    with platform.sessions() as session:
        report = rights.catalogue_report(
            session, territory=_territory(territory), at=at, license_type=_license(license)
        )
    figures = {
        "territory": report.territory,
        "on": report.on.isoformat(),
        "license_type": license.upper(),
        "titles": report.titles,
        "european_works": report.european,
        "french_language_works": report.french_language,
        "european_share": round(report.european_share, 4),
        "french_language_share": round(report.french_language_share, 4),
    }
    if as_json:
        print(json.dumps(figures))
        return
    console.print(
        f"{report.territory} on {report.on}: {report.titles} titles available ({license.upper()})\n"
        f"  European works        {report.european:>7}  {report.european_share:6.1%}\n"
        f"  French-language works {report.french_language:>7}  "
        f"{report.french_language_share:6.1%}"
    )
