"""The manifests a playback session's player loads: the package's own, personalised.

The playback service writes them per session, as large services do: only the video rungs
the device decodes within the plan's resolution (and the screen's), every segment fetched
from the servers steering ranks for the viewer now, under a fresh token of the session.
Segments and HLS media playlists stay the package's objects, the same for every play, so
edge caches are shared. The package's manifests are read once per version and kept parsed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from sqlalchemy.orm import Session

from cineflux.delivery import service as delivery
from cineflux.media import service as media
from cineflux.playback import service as playback
from cineflux.playback.flows import (
    PlaybackContext,
    PlaybackStart,
    check_subscription,
    withheld_rungs,
)
from cineflux.playback.manifests import (
    NoPlayableVideo,
    parse_mpd,
    personalise_dash,
    personalise_hls,
)
from cineflux.playback.service import Device, DeviceCannotPlay, NotPlayable, VideoLimit
from cineflux.storage import Storage

if TYPE_CHECKING:
    from cineflux.media.models import MediaPackage

ManifestKind = Literal["dash", "hls"]
MEDIA_TYPES: dict[ManifestKind, str] = {
    "dash": "application/dash+xml",
    "hls": "application/vnd.apple.mpegurl",
}
T = TypeVar("T")


class PackageManifests:
    """Package manifests as last read from storage, parsed, by key and version tag.

    Bounded (least recently used go first) and shared by the request threads. A manifest
    rewritten in storage has a new tag, so it is read again: nothing is ever stale.
    """

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, storage: Storage, key: str, parse: Callable[[bytes], T]) -> T:
        """The parsed manifest under ``key``; ``NotPlayable`` when it is not stored."""
        info = storage.stat(key)
        if info is None:
            raise NotPlayable("this title's media was withdrawn")
        with self._lock:
            if (key, info.etag) in self._items:
                self._items.move_to_end((key, info.etag))
                parsed: T = self._items[(key, info.etag)]
                return parsed
        try:
            data = storage.read_bytes(key)
        except FileNotFoundError:
            raise NotPlayable("this title's media was withdrawn") from None
        parsed = parse(data)
        with self._lock:
            # Read after the tag: a rewrite in between is kept under the older tag, and
            # the next request, seeing the newer tag, reads it again.
            self._items[(key, info.etag)] = parsed
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return parsed


PACKAGE_MANIFESTS = PackageManifests()


@dataclass(frozen=True)
class SessionManifest:
    """A personalised manifest, ready to send."""

    body: bytes
    media_type: str


def session_manifest(
    session: Session,
    *,
    ctx: PlaybackContext,
    storage: Storage,
    user_id: str,
    session_id: str,
    kind: ManifestKind,
    client_ip: str | None,
    cache: PackageManifests = PACKAGE_MANIFESTS,
) -> SessionManifest:
    """The session's manifest of this kind, if the session is the account's and still
    counts (``PlaybackSessionEnded`` otherwise) and the subscription still allows watching.

    The rungs follow the plan as it is now and the device the play was started with.
    """
    now = ctx.clock.now()
    row = playback.live_session(
        session, user_id=user_id, session_id=session_id, now=now, policy=ctx.policy
    )
    entitlements = check_subscription(session, ctx=ctx, user_id=user_id, now=now)
    package = media.package_for_title(session, row.title_id)
    if package is None or package.storage_prefix != row.storage_prefix:
        raise NotPlayable("this title's media was withdrawn")
    limit = VideoLimit.of(Device.from_json(row.device), plan_resolution=entitlements.max_resolution)
    signed = delivery.playback_locations(
        session,
        ctx.delivery,
        client_ip=client_ip,
        storage_prefix=row.storage_prefix,
        session_id=row.id,
        now=now,
        withheld=withheld_rungs(package, limit),
    )
    return _personalised(storage, cache, package, limit=limit, signed=signed, kind=kind)


def started_manifest(
    storage: Storage,
    start: PlaybackStart,
    kind: ManifestKind,
    cache: PackageManifests = PACKAGE_MANIFESTS,
) -> SessionManifest:
    """The manifest of a play just started, as its manifest route would answer it now: the
    start's answer may carry it, which spares the player a round trip before it begins."""
    return _personalised(
        storage, cache, start.package, limit=start.video_limit, signed=start.signed, kind=kind
    )


def _personalised(
    storage: Storage,
    cache: PackageManifests,
    package: MediaPackage,
    *,
    limit: VideoLimit,
    signed: delivery.SignedPlayback,
    kind: ManifestKind,
) -> SessionManifest:
    # The package's directory on each server, under the token: what manifests resolve against.
    servers = [base + signed.path("") for base in signed.base_urls]
    prefix = package.storage_prefix.strip("/")
    try:
        if kind == "dash":
            mpd = cache.get(storage, f"{prefix}/{package.dash_manifest}", parse_mpd)
            body = personalise_dash(mpd, allows=limit.allows, servers=servers)
        else:
            playlist = cache.get(storage, f"{prefix}/{package.hls_manifest}", bytes.decode)
            body = personalise_hls(playlist, allows=limit.allows, server=servers[0]).encode()
    except NoPlayableVideo:
        raise DeviceCannotPlay(
            "none of this title's video suits the device at a size the plan and screen allow"
        ) from None
    return SessionManifest(body=body, media_type=MEDIA_TYPES[kind])
