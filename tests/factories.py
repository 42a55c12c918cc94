"""Factories for catalogue and rights data: short to call, explicit about what matters."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from cineflux.catalog import service as catalog
from cineflux.catalog.models import Title
from cineflux.clock import Clock
from cineflux.db import transaction
from cineflux.platform import Platform
from cineflux.rights import service as rights
from cineflux.rights.chronology import RightsPolicy, paris_midnight
from cineflux.rights.models import RightsWindow


def day(text: str) -> datetime:
    """00:00 in Paris on an ISO date: the instant rights are decided at in these tests."""
    return paris_midnight(date.fromisoformat(text))


def make_title(
    session: Session,
    clock: Clock,
    name: str,
    *,
    kind: str = "movie",
    year: int | None = 2020,
    parent_id: str | None = None,
    number: int | None = None,
    fr_release: str | None = None,
    free_tv: str | None = None,
    european: bool = False,
    french: bool = False,
    rating: str = "TP",
    genres: tuple[str, ...] = (),
    fr_name: str | None = None,
    synopsis: str = "",
    published: bool = True,
) -> Title:
    """A title with the details rights and rows look at."""
    title = catalog.create_title(
        session,
        clock=clock,
        name=name,
        year=year,
        kind=kind,
        parent_id=parent_id,
        number=number,
    )
    localizations = {"en": (name, synopsis)}
    if fr_name is not None:
        localizations["fr"] = (fr_name, synopsis)
    catalog.set_details(
        session,
        title.id,
        catalog.TitleDetails(
            fr_release_date=date.fromisoformat(fr_release) if fr_release else None,
            first_free_tv_broadcast=date.fromisoformat(free_tv) if free_tv else None,
            european_work=european,
            french_language_work=french,
            age_rating=rating,
            genres=genres,
            localizations=localizations,
        ),
    )
    if published:
        catalog.mark_published(session, title.id, at=clock.now())
    return title


def grant(
    session: Session,
    clock: Clock,
    title: Title,
    territory: str = "FR",
    *,
    start: str = "2000-01-01",
    end: str | None = None,
    license_type: str = "SVOD",
    policy: RightsPolicy | None = None,
    holdbacks: tuple[tuple[str, str], ...] = (),
) -> RightsWindow:
    """A window on a title; with ``policy``, the title's availability is refreshed too."""
    window = rights.add_window(
        session,
        clock=clock,
        title_id=title.id,
        spec=rights.WindowSpec(
            territory=territory,
            license_type=license_type,
            starts_at=day(start),
            ends_at=day(end) if end else None,
            holdbacks=tuple(rights.HoldbackSpec(day(a), day(b)) for a, b in holdbacks),
        ),
    )
    if policy is not None:
        rights.refresh_availability(session, policy=policy, title_ids=[title.id])
    return window


def license_in_france(platform: Platform, title_id: str, *, start: str = "2000-01-01") -> None:
    """Commit an open-ended FR SVOD window on a title, so subscribers may see and play it."""
    with transaction(platform.sessions) as session:
        title = catalog.get_title(session, title_id)
        policy = rights.rights_policy(session, platform.settings.platform_profile)
        grant(session, platform.clock, title, start=start, policy=policy)
