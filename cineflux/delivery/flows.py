"""Delivery work that reads other domains: the nightly fill plan of a site.

Demand comes from the catalogue (plays per territory and day, publication dates), rights
(what opens soon, what is available) and media (packages); sizes from storage. The ranking
itself is ``popularity.predicted_demand`` and ``popularity.fill_order``, the very model
``bench/cdn_sim.py`` measures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from cineflux.catalog import service as catalog
from cineflux.delivery import popularity
from cineflux.delivery.fill import FillItem, FillPlan, history
from cineflux.delivery.health import MISSED_HEARTBEATS
from cineflux.delivery.service import (
    DeliveryConfig,
    edge_statuses,
    edge_views,
    get_site,
    package_path_prefix,
    sign_path_prefix,
)
from cineflux.delivery.steering import rendezvous_order
from cineflux.edge import tokens
from cineflux.media import service as media
from cineflux.platform import Platform
from cineflux.rights import service as rights
from cineflux.storage import Storage

HISTORY_DAYS = 14


def delivery_config(platform: Platform) -> DeliveryConfig:
    """The delivery network's configuration on this platform."""
    return DeliveryConfig.from_settings(
        platform.settings, signing_key=platform.signing_key, geo=platform.geo
    )


@dataclass(frozen=True)
class PackageFiles:
    """The object paths of a package and their total size."""

    paths: list[str]
    size_bytes: int


def package_files(storage: Storage, storage_prefix: str) -> PackageFiles:
    """Every servable object of a package, as edge object paths, and their total size."""
    paths: list[str] = []
    total = 0
    for key in storage.list_prefix(storage_prefix.strip("/")):
        try:
            path = tokens.check_object_path("/" + key)
        except tokens.UnsafePath:
            continue  # no edge could serve it either
        info = storage.stat(key)
        if info is None:
            continue  # removed while listing
        paths.append(path)
        total += info.size
    return PackageFiles(paths, total)


def _playable(session: Session, title_ids: Iterable[str]) -> set[str]:
    """The titles themselves, with a series or season replaced by its episodes."""
    found: set[str] = set()
    pending = list(title_ids)
    while pending:
        title_id = pending.pop()
        children = [child.id for child in catalog.children(session, title_id)]
        if children:
            pending.extend(children)
        else:
            found.add(title_id)
    return found


def site_demands(
    session: Session, *, territories: tuple[str, ...], now: datetime, zone: ZoneInfo
) -> list[popularity.TitleDemand]:
    """What is known tonight of every title a site's viewers may want tomorrow.

    Recent plays, titles that became watchable in the last week (new releases), and
    titles whose rights open before the end of tomorrow. A title with no play yet (opening
    tomorrow, or released since the last count) is marked as having no history, so the
    model gives it the demand of a well-placed title rather than none.
    """
    today = now.astimezone(zone).date()
    plays = catalog.daily_plays(
        session,
        territories=territories,
        since=today - timedelta(days=HISTORY_DAYS - 1),
        until=today,
    )
    new_since = now - timedelta(days=popularity.DEFAULT_MODEL.new_release_days)
    end_of_tomorrow = datetime.combine(today + timedelta(days=2), datetime.min.time(), zone)
    first_available: dict[str, datetime] = {}
    opening: set[str] = set()
    for territory in territories:
        available = rights.available_title_ids(territory, now)
        arrivals = rights.titles_opening(session, territory=territory, after=new_since, until=now)
        arrivals.update(catalog.published_since(session, since=new_since, among=available))
        for root, at in arrivals.items():
            for title_id in _playable(session, [root]):
                first_available[title_id] = min(at, first_available.get(title_id, at))
        soon = rights.titles_opening(session, territory=territory, after=now, until=end_of_tomorrow)
        opening |= _playable(session, soon)
    demands = []
    for title_id in sorted(set(plays) | set(first_available) | opening):
        daily = history(plays.get(title_id, {}), today=today, days=HISTORY_DAYS)
        arrived = first_available.get(title_id)
        demands.append(
            popularity.TitleDemand(
                title_id=title_id,
                daily_plays=daily,
                first_available=arrived.astimezone(zone).date() if arrived else None,
                opens_tomorrow=not any(daily) and (title_id in opening or arrived is not None),
            )
        )
    return demands


def fill_plan(
    session: Session, config: DeliveryConfig, *, storage: Storage, site: str, now: datetime
) -> FillPlan:
    """The plan a site's edges follow in the coming off-peak window, best title first.

    The site's capacity is ``fill_share`` of the disks of its live edges (heartbeating);
    each item names the edge that rendezvous hashing gives the title to, the one steering
    sends its viewers to, and carries a token opening the package until the window ends.
    """
    get_site(session, site)
    zone = config.fill_window.zone
    start, end = config.fill_window.occurrence(now)
    live = [
        status
        for status in edge_statuses(session, now=now, policy=config.health, site=site)
        if status.rotation_reason != MISSED_HEARTBEATS
    ]
    capacity = int(sum(status.disk_capacity_bytes for status in live) * config.fill_share)
    demands = site_demands(session, territories=config.territories_of(site), now=now, zone=zone)
    scores = popularity.predicted_demand(demands, today=now.astimezone(zone).date())
    packages = media.packages_by_title(session, [t for t, score in scores.items() if score > 0])
    files = {title_id: package_files(storage, p.storage_prefix) for title_id, p in packages.items()}
    chosen = popularity.fill_order(
        {title_id: scores[title_id] for title_id in packages},
        sizes={title_id: found.size_bytes for title_id, found in files.items()},
        capacity_bytes=capacity,
    )
    owners = edge_views(live)
    items = []
    for title_id in chosen:
        prefix = packages[title_id].storage_prefix
        ranked = rendezvous_order(prefix.strip("/"), owners)
        items.append(
            FillItem(
                title_id=title_id,
                score=scores[title_id],
                size_bytes=files[title_id].size_bytes,
                edge=ranked[0].name if ranked else None,
                token=sign_path_prefix(
                    config,
                    path_prefix=package_path_prefix(prefix),
                    session_id=f"fill-{site}",
                    expires=end,
                ),
                paths=files[title_id].paths,
            )
        )
    return FillPlan(
        site=site,
        generated_at=now,
        window=config.fill_window,
        window_start=start,
        window_end=end,
        bandwidth_mbps=config.fill_bandwidth_mbps,
        capacity_bytes=capacity,
        items=items,
    )
