"""Pydantic models of the playback API."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from cineflux.playback.flows import PlaybackRenewal, PlaybackStart, Track
from cineflux.playback.models import PlaybackSession
from cineflux.playback.service import Device
from cineflux.playback.session_manifests import ManifestKind, SessionManifest
from cineflux.protection.cenc import CLEAR_KEY


class DeviceIn(BaseModel):
    """What the player can do."""

    codecs: Annotated[
        list[Annotated[str, Field(max_length=64)]],
        Field(
            min_length=1,
            max_length=32,
            description="RFC 6381 codec strings or families it decodes: avc1, hvc1, av01, mp4a",
        ),
    ]
    max_height: Annotated[
        int | None, Field(ge=144, le=4320, description="the tallest picture it shows")
    ] = None
    drm: Annotated[
        list[Annotated[str, Field(max_length=64)]],
        Field(max_length=8, description="DRM systems it has: clearkey, widevine, playready"),
    ] = []

    def to_device(self) -> Device:
        """The domain's view of the device."""
        return Device(codecs=tuple(self.codecs), max_height=self.max_height, drm=tuple(self.drm))


class PlaybackCreate(BaseModel):
    """Pressing play on a film or an episode."""

    title_id: Annotated[str, Field(max_length=64)]
    profile_id: Annotated[str, Field(max_length=64)]
    device: DeviceIn
    pin: Annotated[
        str | None,
        Field(max_length=8, description="the profile's PIN, unless the session chose it with it"),
    ] = None
    adult_code: Annotated[
        str | None,
        Field(max_length=16, description="the -18 code, unless this session entered it"),
    ] = None
    manifest: Annotated[
        ManifestKind | None,
        Field(description="put this personalised manifest in the answer (one round trip less)"),
    ] = None


class TrackRead(BaseModel):
    """An audio or subtitle track (BCP-47 language)."""

    language: str | None
    name: str | None
    codecs: str
    forced: bool


class ManifestsRead(BaseModel):
    """The play's personalised manifests, on this API: only the video it may have, segments
    on the base URLs in order, under the token (the session's account only)."""

    dash: str
    hls: str


class InlineManifestRead(BaseModel):
    """A personalised manifest carried in the answer: the one its route would send now."""

    kind: ManifestKind
    media_type: str
    body: str


class NextEpisodeRead(BaseModel):
    """The episode to offer once this one nears its end."""

    title_id: str
    name: str
    season: int | None
    number: int | None
    offer_at_seconds: Annotated[
        float | None, Field(description="offer it from here: the credits, else the last 20 s")
    ]


class LicenceRead(BaseModel):
    """Where the player gets the keys of an encrypted title (EME)."""

    key_system: Annotated[str, Field(description="EME key system, e.g. org.w3.clearkey")]
    url: Annotated[
        str, Field(description="POST the CDM's licence request here, as the same account")
    ]
    key_ids: Annotated[list[str], Field(description="the title's key ids, 32 hex digits")]


class PlaybackRead(BaseModel):
    """An authorised play: where to fetch it, for how long, from where in the title."""

    session_id: str
    title_id: str
    profile_id: str
    base_urls: Annotated[
        list[str], Field(description="servers in order: the viewer's edges first, origin last")
    ]
    manifests: ManifestsRead
    token: Annotated[str, Field(description="the path segment after /t/ in signed paths")]
    token_expires_at: datetime
    poster: str
    thumbnails: Annotated[str | None, Field(description="WebVTT trickplay thumbnails")]
    audio_tracks: list[TrackRead]
    subtitle_tracks: list[TrackRead]
    video_heights: Annotated[
        list[int], Field(description="video rungs the device decodes within the plan's limit")
    ]
    resume_position_seconds: float
    duration_seconds: float | None
    heartbeat_interval_seconds: int
    session_timeout_seconds: int
    licence: Annotated[
        LicenceRead | None, Field(description="set when the title is encrypted (CENC)")
    ] = None
    credits_start_seconds: float | None = None
    next_episode: NextEpisodeRead | None = None
    manifest: Annotated[
        InlineManifestRead | None, Field(description="the manifest the request asked for")
    ] = None


class HeartbeatIn(BaseModel):
    """The player still plays, at this position."""

    position_seconds: Annotated[float, Field(ge=0, allow_inf_nan=False)]


class HeartbeatRead(BaseModel):
    """The play goes on: a fresh token for the same paths."""

    session_id: str
    manifests: ManifestsRead
    token: str
    token_expires_at: datetime
    heartbeat_interval_seconds: int


class ActivePlaybackRead(BaseModel):
    """A play that counts against the plan now."""

    session_id: str
    title_id: str
    profile_id: str
    started_at: datetime
    last_heartbeat_at: datetime
    position_seconds: float


def _manifests(session_id: str) -> ManifestsRead:
    # The routes of manifest_api.py.
    return ManifestsRead(
        dash=f"/api/playback/{session_id}/manifest.mpd",
        hls=f"/api/playback/{session_id}/master.m3u8",
    )


def _track(track: Track) -> TrackRead:
    return TrackRead(
        language=track.language, name=track.name, codecs=track.codecs, forced=track.forced
    )


def _licence(start: PlaybackStart) -> LicenceRead | None:
    if start.protection is None:
        return None
    system = start.protection.key_system
    url = f"/api/playback/{start.session.id}/license"
    return LicenceRead(
        key_system=system,
        url=url if system == CLEAR_KEY else f"{url}/{system}",
        key_ids=list(start.protection.kids),
    )


def playback_read(
    start: PlaybackStart, manifest: tuple[ManifestKind, SessionManifest] | None = None
) -> PlaybackRead:
    """The API's view of a started play, with the manifest it was asked to carry."""
    row = start.session
    return PlaybackRead(
        session_id=row.id,
        title_id=row.play.title_id,
        profile_id=row.play.profile_id,
        base_urls=start.base_urls,
        manifests=_manifests(row.id),
        token=start.manifests.token,
        token_expires_at=start.manifests.expires_at,
        poster=start.poster,
        thumbnails=start.thumbnails,
        audio_tracks=[_track(t) for t in start.audio],
        subtitle_tracks=[_track(t) for t in start.subtitles],
        video_heights=start.heights,
        resume_position_seconds=start.resume_position_seconds,
        duration_seconds=start.duration_seconds,
        heartbeat_interval_seconds=start.policy.heartbeat_seconds,
        session_timeout_seconds=start.policy.session_timeout_seconds,
        licence=_licence(start),
        credits_start_seconds=start.credits_start_seconds,
        next_episode=(
            NextEpisodeRead(**asdict(start.next_episode)) if start.next_episode else None
        ),
        manifest=(
            InlineManifestRead(
                kind=manifest[0],
                media_type=manifest[1].media_type,
                body=manifest[1].body.decode(),
            )
            if manifest
            else None
        ),
    )


def heartbeat_read(renewal: PlaybackRenewal) -> HeartbeatRead:
    """The API's view of a renewed play."""
    return HeartbeatRead(
        session_id=renewal.session.id,
        manifests=_manifests(renewal.session.id),
        token=renewal.manifests.token,
        token_expires_at=renewal.manifests.expires_at,
        heartbeat_interval_seconds=renewal.policy.heartbeat_seconds,
    )


def active_read(row: PlaybackSession) -> ActivePlaybackRead:
    """The API's view of a play in progress."""
    return ActivePlaybackRead(
        session_id=row.id,
        title_id=row.title_id,
        profile_id=row.profile_id,
        started_at=row.started_at,
        last_heartbeat_at=row.last_heartbeat_at,
        position_seconds=row.position_seconds,
    )
