"""Media records: registering a published package and reading it back."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from cineflux.clock import Clock
from cineflux.media.models import MediaPackage, Rendition
from cineflux.media.packaging import Package


def register_package(
    session: Session,
    *,
    clock: Clock,
    title_id: str,
    storage_prefix: str,
    package: Package,
    source_width: int,
    source_height: int,
) -> MediaPackage:
    """Record a package published under ``storage_prefix`` as the media of ``title_id``."""
    record = MediaPackage(
        title_id=title_id,
        storage_prefix=storage_prefix,
        dash_manifest=package.dash_manifest,
        hls_manifest=package.hls_manifest,
        poster=package.poster,
        duration_seconds=package.duration_seconds,
        source_width=source_width,
        source_height=source_height,
        created_at=clock.now(),
        renditions=[
            Rendition(
                kind=r.kind, codecs=r.codecs, bandwidth=r.bandwidth, width=r.width, height=r.height
            )
            for r in package.renditions
        ],
    )
    session.add(record)
    session.flush()
    return record


def packages_by_title(session: Session, title_ids: Iterable[str]) -> dict[str, MediaPackage]:
    """The package of each of these titles that has one."""
    ids = list(title_ids)
    if not ids:
        return {}
    rows = session.scalars(select(MediaPackage).where(MediaPackage.title_id.in_(ids)))
    return {package.title_id: package for package in rows}


def package_for_title(session: Session, title_id: str) -> MediaPackage | None:
    """The package of one title, if it has one."""
    return session.scalar(select(MediaPackage).where(MediaPackage.title_id == title_id))


def all_storage_prefixes(session: Session) -> set[str]:
    """Every storage prefix that a package references."""
    return set(session.scalars(select(MediaPackage.storage_prefix)))
