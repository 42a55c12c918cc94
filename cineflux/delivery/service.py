"""Delivery: serving media (pure: URLs, content types, cache lifetimes) and the delivery
network's service (edges and their heartbeats, steering a playback to signed edge URLs).

Services flush and never commit; time always comes in as ``now``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cineflux.config import Settings
from cineflux.delivery.coverage import (
    EMPTY_COVERAGE,
    SITE_NAME,
    ClientSite,
    CoverageMap,
    load_coverage,
    locate_client,
)
from cineflux.delivery.errors import (
    EdgeSignatureInvalid,
    EdgeSignatureStale,
    InvalidHeartbeat,
    SiteNotFound,
)
from cineflux.delivery.fill import parse_fill_window
from cineflux.delivery.health import (
    HealthPolicy,
    Rotation,
    effective_load,
    rotation_after_heartbeat,
    rotation_at,
)
from cineflux.delivery.models import Edge, Site
from cineflux.delivery.steering import (
    EdgeView,
    Location,
    SteeringPolicy,
    rank_locations,
    spill_order,
)
from cineflux.edge import tokens
from cineflux.edge.fill import FillWindow
from cineflux.edge.media_types import CONTENT_TYPES as CONTENT_TYPES
from cineflux.edge.media_types import MANIFEST_MAX_AGE as MANIFEST_MAX_AGE
from cineflux.edge.media_types import SEGMENT_MAX_AGE as SEGMENT_MAX_AGE
from cineflux.edge.media_types import RangeNotSatisfiable as RangeNotSatisfiable
from cineflux.edge.media_types import cache_control_for as cache_control_for
from cineflux.edge.media_types import content_type_for as content_type_for
from cineflux.edge.media_types import parse_range as parse_range
from cineflux.readcache import ReadCache
from cineflux.rights.territory import GeoResolver

MEDIA_ROUTE = "/media"
# Content types, cache lifetimes and ranges come from cineflux.edge.media_types (imported
# above under their own names): the edges answer with the same table.


@dataclass(frozen=True)
class PlaybackUrls:
    """Where a player finds a title's streams and poster."""

    dash: str
    hls: str
    poster: str
    thumbnails: str | None = None


def media_url(storage_prefix: str, name: str) -> str:
    """The URL path serving the file ``name`` of a package."""
    return f"{MEDIA_ROUTE}/{storage_prefix}/{name}"


class PublishedPackage(Protocol):
    """What delivery needs to know of a published package."""

    @property
    def storage_prefix(self) -> str: ...
    @property
    def dash_manifest(self) -> str: ...
    @property
    def hls_manifest(self) -> str: ...
    @property
    def poster(self) -> str: ...
    @property
    def thumbnails(self) -> str | None: ...


def playback_urls(package: PublishedPackage) -> PlaybackUrls:
    """The playback URLs of a published package (served by this application for now)."""
    prefix = package.storage_prefix
    return PlaybackUrls(
        dash=media_url(prefix, package.dash_manifest),
        hls=media_url(prefix, package.hls_manifest),
        poster=media_url(prefix, package.poster),
        thumbnails=media_url(prefix, package.thumbnails) if package.thumbnails else None,
    )


# --- The delivery network: keys, edges, steering ---------------------------------------------

EDGE_SIGNATURE_HEADER = "X-Cineflux-Edge-Signature"
EDGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
DEFAULT_EDGE_KEY_ID = "k0"
# Steering weighs edges by link speed; an edge that does not say gets a nominal 10 Gb/s.
NOMINAL_CAPACITY_BPS = 10_000_000_000


def edge_keys_spec(settings: Settings, signing_key: bytes) -> str:
    """The edge token keys as ``kid:secret,...``: the setting, else one derived key.

    The derived key lets a demo's edges work with no configuration; it is the platform
    secret's HMAC, so it changes when that secret does, and never reveals it.
    """
    if settings.edge_token_keys is not None:
        return settings.edge_token_keys.get_secret_value()
    derived = hmac.new(signing_key, b"edge-token-key", hashlib.sha256).hexdigest()
    return f"{DEFAULT_EDGE_KEY_ID}:{derived}"


@dataclass(frozen=True)
class DeliveryConfig:
    """Everything the delivery network's services depend on, from settings."""

    keys: dict[str, bytes]
    coverage: CoverageMap
    health: HealthPolicy
    steering: SteeringPolicy
    default_site: str | None
    origin_url: str
    token_ttl_seconds: int
    fill_window: FillWindow
    fill_bandwidth_mbps: float
    fill_share: float
    default_territory: str
    geo: GeoResolver | None = None

    def territories_of(self, site: str) -> tuple[str, ...]:
        """The countries whose viewers a site serves: its coverage zone's, else the default."""
        geography = self.coverage.sites.get(site)
        if geography is not None and geography.countries:
            return geography.countries
        return (self.default_territory,)

    @property
    def signing_key_id(self) -> str:
        """The key new tokens are signed with: the first listed."""
        return next(iter(self.keys))

    @classmethod
    def from_settings(
        cls, settings: Settings, *, signing_key: bytes, geo: GeoResolver | None = None
    ) -> DeliveryConfig:
        """The configuration of these settings; reads the coverage zone file (cached)."""
        coverage = EMPTY_COVERAGE
        if settings.coverage_zones is not None:
            coverage = coverage_of(settings.coverage_zones)
        return cls(
            keys=tokens.parse_keys(edge_keys_spec(settings, signing_key)),
            coverage=coverage,
            health=HealthPolicy.from_settings(settings),
            steering=SteeringPolicy(site_overload=settings.cdn_site_overload),
            default_site=settings.cdn_default_site,
            origin_url=(settings.cdn_origin_url or settings.base_url).rstrip("/"),
            token_ttl_seconds=settings.cdn_token_ttl_seconds,
            fill_window=parse_fill_window(settings.cdn_fill_window, settings.cdn_fill_timezone),
            fill_bandwidth_mbps=settings.cdn_fill_bandwidth_mbps,
            fill_share=settings.cdn_fill_share,
            default_territory=settings.default_territory,
            geo=geo,
        )


def coverage_of(path: Path) -> CoverageMap:
    """The coverage map of a file, parsed once per version of the file."""
    try:
        stat = path.stat()
    except OSError:
        return load_coverage(path)  # raises with the reason
    return _cached_coverage(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _cached_coverage(path: str, _mtime_ns: int, _size: int) -> CoverageMap:
    return load_coverage(Path(path))


def verify_edge_request(
    config: DeliveryConfig,
    signature: str | None,
    *,
    method: str,
    target: str,
    body: bytes,
    now: datetime,
) -> str:
    """The key id that signed an edge's request; else why it is refused.

    Holding an edge key is what makes an edge: the first signed heartbeat registers it.
    """
    try:
        return tokens.verify_request(
            signature,
            keys=config.keys,
            method=method,
            target=target,
            body=body,
            now=now.timestamp(),
        )
    except tokens.TokenExpired:
        raise EdgeSignatureStale("the request was signed too long ago") from None
    except tokens.TokenError:
        raise EdgeSignatureInvalid("the request is not signed with an edge key") from None


@dataclass(frozen=True)
class Heartbeat:
    """What an edge reports every few seconds."""

    edge: str
    site: str
    base_url: str
    healthy: bool
    load: float
    egress_bps: int
    capacity_bps: int
    open_connections: int
    disk_used_bytes: int
    disk_capacity_bytes: int


def _checked(heartbeat: Heartbeat) -> Heartbeat:
    if not EDGE_NAME.fullmatch(heartbeat.edge):
        raise InvalidHeartbeat("edge names are 1-64 letters, digits, '.', '_' or '-'")
    if not SITE_NAME.fullmatch(heartbeat.site):
        raise InvalidHeartbeat("site names are 1-40 lower-case letters, digits and hyphens")
    url = urlsplit(heartbeat.base_url)
    if url.scheme not in ("http", "https") or not url.netloc or url.query or url.fragment:
        raise InvalidHeartbeat("base_url is an http(s) URL without query or fragment")
    if len(heartbeat.base_url) > 255:
        raise InvalidHeartbeat("base_url is at most 255 characters")
    numbers = (
        heartbeat.egress_bps,
        heartbeat.capacity_bps,
        heartbeat.open_connections,
        heartbeat.disk_used_bytes,
        heartbeat.disk_capacity_bytes,
    )
    if heartbeat.load < 0 or any(number < 0 for number in numbers):
        raise InvalidHeartbeat("load, traffic, connections and disk sizes cannot be negative")
    return heartbeat


def _site(session: Session, name: str, *, now: datetime) -> Site:
    site = session.scalar(select(Site).where(Site.name == name))
    if site is not None:
        return site
    try:
        # A savepoint: two edges of a new site may register at once, one of them wins.
        with session.begin_nested():
            site = Site(name=name, created_at=now)
            session.add(site)
    except IntegrityError:
        site = session.scalars(select(Site).where(Site.name == name)).one()
    return site


def record_heartbeat(
    session: Session, heartbeat: Heartbeat, *, now: datetime, policy: HealthPolicy
) -> Edge:
    """Register the edge on its first heartbeat, else update it; decide its rotation."""
    heartbeat = _checked(heartbeat)
    site = _site(session, heartbeat.site, now=now)
    edge = session.scalar(select(Edge).where(Edge.name == heartbeat.edge))
    load = effective_load(heartbeat.load, heartbeat.egress_bps, heartbeat.capacity_bps)
    current = None if edge is None else rotation_now(edge, now=now, policy=policy)
    rotation = rotation_after_heartbeat(
        current, healthy=heartbeat.healthy, load=load, at=now, policy=policy
    )
    if edge is None:
        edge = Edge(name=heartbeat.edge, registered_at=now)
        session.add(edge)
    edge.site = site
    edge.base_url = heartbeat.base_url.rstrip("/")
    edge.last_heartbeat_at = now
    edge.healthy = heartbeat.healthy
    edge.load = heartbeat.load
    edge.egress_bps = heartbeat.egress_bps
    edge.capacity_bps = heartbeat.capacity_bps
    edge.open_connections = heartbeat.open_connections
    edge.disk_used_bytes = heartbeat.disk_used_bytes
    edge.disk_capacity_bytes = heartbeat.disk_capacity_bytes
    edge.in_rotation = rotation.in_rotation
    edge.rotation_since = rotation.since
    edge.rotation_reason = rotation.reason
    session.flush()
    return edge


def rotation_now(edge: Edge, *, now: datetime, policy: HealthPolicy) -> Rotation:
    """The edge's rotation at ``now``, counting heartbeats missed since its last one."""
    recorded = Rotation(edge.in_rotation, edge.rotation_since, edge.rotation_reason)
    return rotation_at(recorded, last_heartbeat_at=edge.last_heartbeat_at, now=now, policy=policy)


@dataclass(frozen=True)
class EdgeStatus:
    """An edge as operators see it."""

    id: str
    name: str
    site: str
    base_url: str
    healthy: bool
    load: float  # effective: the reported load, or egress over link capacity if higher
    egress_bps: int
    capacity_bps: int
    open_connections: int
    disk_used_bytes: int
    disk_capacity_bytes: int
    last_heartbeat_at: datetime
    in_rotation: bool
    rotation_since: datetime
    rotation_reason: str


# Plain rows, not entities, with a statement built once: every play ranks the edges, and
# building the statement cost more than running it (bench/playback.py).
_SITE_NAME = Site.__table__.c.name.label("site_name")
_EDGES = (
    select(*Edge.__table__.c, _SITE_NAME)
    .join(Site.__table__, Site.__table__.c.id == Edge.__table__.c.site_id)
    .order_by(_SITE_NAME, Edge.__table__.c.name)
)


_EDGE_ROWS: ReadCache[tuple[Row[Any], ...]] = ReadCache({Edge.__tablename__, Site.__tablename__})


def edge_statuses(
    session: Session, *, now: datetime, policy: HealthPolicy, site: str | None = None
) -> list[EdgeStatus]:
    """Every edge (or a site's), by site then name, with its rotation at ``now``."""
    if site is None:
        # Every play ranks them: kept until an edge or a site changes (a heartbeat does).
        rows = _EDGE_ROWS.get(session, "all", lambda: tuple(session.execute(_EDGES)))
    else:
        rows = tuple(session.execute(_EDGES.where(Site.name == site)))
    statuses = []
    for row in rows:
        rotation = rotation_at(
            Rotation(row.in_rotation, row.rotation_since, row.rotation_reason),
            last_heartbeat_at=row.last_heartbeat_at,
            now=now,
            policy=policy,
        )
        statuses.append(
            EdgeStatus(
                id=row.id,
                name=row.name,
                site=row.site_name,
                base_url=row.base_url,
                healthy=row.healthy,
                load=effective_load(row.load, row.egress_bps, row.capacity_bps),
                egress_bps=row.egress_bps,
                capacity_bps=row.capacity_bps,
                open_connections=row.open_connections,
                disk_used_bytes=row.disk_used_bytes,
                disk_capacity_bytes=row.disk_capacity_bytes,
                last_heartbeat_at=row.last_heartbeat_at,
                in_rotation=rotation.in_rotation,
                rotation_since=rotation.since,
                rotation_reason=rotation.reason,
            )
        )
    return statuses


def get_site(session: Session, name: str) -> Site:
    """A registered site, or ``SiteNotFound``."""
    site = session.scalar(select(Site).where(Site.name == name))
    if site is None:
        raise SiteNotFound(f"no edge has registered in site {name!r}")
    return site


def edge_views(statuses: list[EdgeStatus]) -> list[EdgeView]:
    """What steering needs of each edge."""
    return [
        EdgeView(
            name=status.name,
            site=status.site,
            base_url=status.base_url,
            in_rotation=status.in_rotation,
            load=status.load,
            weight=float(status.capacity_bps or NOMINAL_CAPACITY_BPS),
        )
        for status in statuses
    ]


def package_path_prefix(storage_prefix: str) -> str:
    """The object path prefix a token opens for a package: ``/titles/<id>/``."""
    return tokens.check_object_path("/" + storage_prefix.strip("/") + "/")


def sign_path_prefix(
    config: DeliveryConfig,
    *,
    path_prefix: str,
    session_id: str,
    expires: datetime,
    withheld: Iterable[str] = (),
) -> str:
    """A token opening ``path_prefix`` for ``session_id`` until ``expires``, but not the
    ``withheld`` directories under it."""
    key_id = config.signing_key_id
    return tokens.sign_token(
        key_id=key_id,
        key=config.keys[key_id],
        path_prefix=path_prefix,
        session_id=session_id,
        expires=int(expires.timestamp()),
        withheld=withheld,
    )


@dataclass(frozen=True)
class SignedPlayback:
    """Where a player fetches a package, and the one token that opens it on each server.

    ``base_urls`` are tried in order (the client's edges, a spill site's, the origin last);
    the URL of a package file ``name`` on the i-th server is ``url(i, name)``, i.e.
    ``base_urls[i] + "/t/<token>/<storage prefix>/<name>"``. Relative references inside
    the manifests inherit the token, since it is one path segment.
    """

    base_urls: list[str]
    token: str
    storage_prefix: str
    expires_at: datetime
    ttl_seconds: int
    client_site: ClientSite
    locations: list[Location]

    def path(self, name: str) -> str:
        """The signed path of a package file, the same on every server."""
        return tokens.signed_path(self.token, f"/{self.storage_prefix.strip('/')}/{name}")

    def url(self, index: int, name: str) -> str:
        """The signed URL of a package file on the ``index``-th server."""
        return self.base_urls[index] + self.path(name)


def playback_locations(
    session: Session,
    config: DeliveryConfig,
    *,
    client_ip: str | None,
    storage_prefix: str,
    session_id: str,
    now: datetime,
    withheld: Iterable[str] = (),
) -> SignedPlayback:
    """The ranked servers and the signed token for one playback of a package.

    ``storage_prefix`` is the package's (``titles/<id>``); ``session_id`` the playback
    session's id (1-64 of ``[A-Za-z0-9_-]``), which the token carries so that edges can log
    it; ``withheld``, the package's directories the play may not fetch. Edges of the
    client's site come first, the title's own edge (rendezvous hashing) at their head; a
    saturated site spills to its neighbour; the origin is always last.
    """
    statuses = edge_statuses(session, now=now, policy=config.health)
    client = locate_client(config.coverage, config.geo, client_ip, default_site=config.default_site)
    sites = {status.site for status in statuses}
    spill = (
        spill_order(client.site, sites, config.coverage.sites) if client.site is not None else []
    )
    locations = rank_locations(
        content_key=storage_prefix.strip("/"),
        client_site=client.site,
        edges=edge_views(statuses),
        spill=spill,
        origin_url=config.origin_url,
        policy=config.steering,
    )
    # Whole seconds, as the token carries them: what the player is told is what edges check.
    expires = (now + timedelta(seconds=config.token_ttl_seconds)).replace(microsecond=0)
    token = sign_path_prefix(
        config,
        path_prefix=package_path_prefix(storage_prefix),
        session_id=session_id,
        expires=expires,
        withheld=withheld,
    )
    return SignedPlayback(
        base_urls=[location.base_url for location in locations],
        token=token,
        storage_prefix=storage_prefix.strip("/"),
        expires_at=expires,
        ttl_seconds=config.token_ttl_seconds,
        client_site=client,
        locations=locations,
    )
