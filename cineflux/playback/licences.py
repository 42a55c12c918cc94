"""Licences for encrypted titles: who may have a title's content keys, and the seam for DRMs.

A licence is given only inside an authorised play: an active playback session of the
caller's account (not stopped, heartbeat within the timeout), for key ids of that session's
title. What the licence looks like belongs to the key system: ``LicenceServer`` is the
seam, Clear Key (W3C EME, JWK sets) the built-in implementation; a Widevine, PlayReady or
FairPlay proxy implements the same protocol, forwards the CDM's challenge to its vendor's
licence service with the grant as policy, and is registered under its key system.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from cineflux.config import Settings
from cineflux.playback import service as playback
from cineflux.playback.service import (
    DeviceCannotPlay,
    PlaybackError,
    PlaybackPolicy,
    PlaybackSessionEnded,
)
from cineflux.protection.cenc import CLEAR_KEY, clear_key_licence, parse_clear_key_request
from cineflux.protection.keystore import KeyStore, TitleKey

# The names devices give (``device.drm``) for the EME key systems.
DEVICE_KEY_SYSTEMS = {
    "clearkey": CLEAR_KEY,
    "widevine": "com.widevine.alpha",
    "playready": "com.microsoft.playready",
    "fairplay": "com.apple.fps",
}


class LicenceRefused(PlaybackError):
    """The play may not have these keys: another title's, or unknown."""


class KeySystemUnsupported(PlaybackError):
    """No licence server is registered for this key system."""


@dataclass(frozen=True)
class LicenceGrant:
    """What the playback service authorised: this play of this title, these keys only."""

    session_id: str
    user_id: str
    title_id: str
    keys: Mapping[str, TitleKey]  # by key id, the title's own

    def __repr__(self) -> str:
        return f"LicenceGrant(session={self.session_id!r}, title={self.title_id!r})"


@dataclass(frozen=True)
class Licence:
    """A licence server's answer, passed to the CDM as is."""

    body: bytes
    media_type: str = "application/json"


class LicenceServer(Protocol):
    """Turns a CDM's licence challenge into a licence, within what the grant allows."""

    @property
    def key_system(self) -> str:
        """The EME name it answers for, e.g. ``org.w3.clearkey``, ``com.widevine.alpha``."""
        ...

    def licence(self, grant: LicenceGrant, challenge: bytes) -> Licence:
        """The licence for ``challenge``; ``LicenceRefused`` for keys outside the grant."""
        ...


@dataclass(frozen=True)
class ClearKeyServer:
    """W3C Clear Key: the request lists key ids, the licence is a JWK set of those keys."""

    key_system: str = CLEAR_KEY

    def licence(self, grant: LicenceGrant, challenge: bytes) -> Licence:
        """The JWK set of the asked keys, if every one belongs to the granted title."""
        request = parse_clear_key_request(challenge)
        if any(kid not in grant.keys for kid in request.kids):
            raise LicenceRefused("these keys are not this play's title's")
        keys = {kid: grant.keys[kid].key for kid in request.kids}
        return Licence(clear_key_licence(keys, request.session_type))


@dataclass(frozen=True)
class LicenceServers:
    """The licence servers by key system: Clear Key built in, proxies added by operators."""

    servers: Mapping[str, LicenceServer] = field(
        default_factory=lambda: {CLEAR_KEY: ClearKeyServer()}
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> LicenceServers:
        """Clear Key, plus the proxies ``CINEFLUX_LICENCE_SERVERS`` names."""
        return _licence_servers(settings.licence_servers, settings)

    def for_key_system(self, key_system: str) -> LicenceServer:
        """The server of this key system; ``KeySystemUnsupported`` if none."""
        server = self.servers.get(key_system)
        if server is None:
            raise KeySystemUnsupported(f"no licence server for {key_system}")
        return server


def _licence_servers(spec: str, settings: Settings) -> LicenceServers:
    """``key.system=package.module:factory,…``: each factory takes the settings and
    answers a ``LicenceServer`` (a DRM vendor's proxy); Clear Key is always there."""
    servers: dict[str, LicenceServer] = {CLEAR_KEY: ClearKeyServer()}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key_system, _, target = part.partition("=")
        module_name, _, attribute = target.strip().partition(":")
        if not key_system.strip() or not module_name or not attribute:
            raise ValueError(f"CINEFLUX_LICENCE_SERVERS: {part!r} is not key.system=module:factory")
        factory = getattr(importlib.import_module(module_name), attribute)
        servers[key_system.strip()] = factory(settings)
    return LicenceServers(servers)


@dataclass(frozen=True)
class PlayProtection:
    """An encrypted title's play: the key system the device will use and the key ids."""

    key_system: str
    kids: tuple[str, ...]


def play_protection(
    *, key_ids: dict[str, str], device_drm: tuple[str, ...], servers: LicenceServers
) -> PlayProtection | None:
    """How a device plays a title with these key ids (by track kind): None in clear;
    refused when it is encrypted and the device has no key system a licence server here
    answers for.

    There is no clear fallback: a title ingested encrypted exists only encrypted.
    """
    if not key_ids:
        return None
    for name in device_drm:
        key_system = DEVICE_KEY_SYSTEMS.get(name, name)
        if key_system in servers.servers:
            return PlayProtection(key_system, tuple(key_ids.values()))
    raise DeviceCannotPlay(
        "this title is encrypted and the device lists none of the DRM systems it is "
        f"licensed with ({', '.join(sorted(servers.servers))})"
    )


def _grant(
    session: Session,
    *,
    keys: KeyStore,
    user_id: str,
    session_id: str,
    now: datetime,
    policy: PlaybackPolicy,
) -> LicenceGrant:
    """The keys an active play of the caller's account may have: its title's."""
    row = playback.get_session(session, user_id=user_id, session_id=session_id)
    if row.stopped_at is not None:
        raise PlaybackSessionEnded("this play was stopped; start it again")
    if now - row.last_heartbeat_at >= policy.timeout:
        raise PlaybackSessionEnded("this play ended without heartbeat; start it again")
    title_keys = keys.title_keys(session, title_id=row.title_id)
    if not title_keys:
        raise LicenceRefused("this title is not encrypted: it needs no licence")
    return LicenceGrant(
        session_id=row.id,
        user_id=row.user_id,
        title_id=row.title_id,
        keys={key.kid: key for key in title_keys.values()},
    )


def content_key(
    session: Session,
    *,
    keys: KeyStore,
    user_id: str,
    session_id: str,
    kid: str,
    now: datetime,
    policy: PlaybackPolicy,
) -> bytes:
    """One raw content key, for HLS "identity" key delivery, under the licence's rules."""
    grant = _grant(
        session, keys=keys, user_id=user_id, session_id=session_id, now=now, policy=policy
    )
    if kid not in grant.keys:
        raise LicenceRefused("this key is not this play's title's")
    return grant.keys[kid].key


def issue_licence(
    session: Session,
    *,
    keys: KeyStore,
    servers: LicenceServers,
    user_id: str,
    session_id: str,
    key_system: str,
    challenge: bytes,
    now: datetime,
    policy: PlaybackPolicy,
) -> Licence:
    """A licence for an active play of the caller's account, for its title's keys only."""
    server = servers.for_key_system(key_system)
    grant = _grant(
        session, keys=keys, user_id=user_id, session_id=session_id, now=now, policy=policy
    )
    return server.licence(grant, challenge)
