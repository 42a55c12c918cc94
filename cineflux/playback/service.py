"""Playback sessions: admitting a play under the plan's stream limit, heartbeats, stopping.

Services flush and never commit; time always comes in as ``now``. Which plays are allowed
at all (subscription, rights, profile) is decided in ``flows.py``, which calls ``admit``
last, once every other check passed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cineflux.config import Settings
from cineflux.db import holds_sqlite_write_lock
from cineflux.playback.models import PlaybackAccount, PlaybackSession
from cineflux.prepared import Prepared


class PlaybackError(Exception):
    """Base of the playback domain's errors."""


class SubscriptionRequired(PlaybackError):
    """The account has no subscription giving access now."""


class PaymentOverdue(PlaybackError):
    """The subscription is past due beyond its grace: the card must be updated."""


class NotAvailableHere(PlaybackError):
    """The title may not be watched in the viewer's territory now (rights)."""


class NotPlayable(PlaybackError):
    """The title has nothing to play: a series or season, or no published media yet."""


class RatedAboveProfile(PlaybackError):
    """The title is rated above the profile's maturity limit."""


class ProfilePinRequired(PlaybackError):
    """The profile has a PIN and this session has not entered it."""


class DeviceCannotPlay(PlaybackError):
    """None of the title's video renditions suits the device and the plan."""


class InvalidPlaybackRequest(PlaybackError):
    """A request whose content cannot be accepted (device description, position)."""


class StreamLimitReached(PlaybackError):
    """The account already plays as many streams as its plan allows."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class PlaybackSessionNotFound(PlaybackError):
    """No such playback session in this account."""


class PlaybackSessionEnded(PlaybackError):
    """The session was stopped, or went without heartbeat too long: start the play again."""


@dataclass(frozen=True)
class PlaybackPolicy:
    """How long plays and their tokens last without news from the player."""

    heartbeat_seconds: int = 30
    session_timeout_seconds: int = 90
    token_ttl_seconds: int = 300

    @classmethod
    def from_settings(cls, settings: Settings) -> PlaybackPolicy:
        """The policy of the ``CINEFLUX_PLAYBACK_*`` settings."""
        return cls(
            heartbeat_seconds=settings.playback_heartbeat_seconds,
            session_timeout_seconds=settings.playback_session_timeout_seconds,
            token_ttl_seconds=settings.playback_token_ttl_seconds,
        )

    @property
    def timeout(self) -> timedelta:
        """How long a session counts after its last heartbeat."""
        return timedelta(seconds=self.session_timeout_seconds)


# --- Devices (pure) -----------------------------------------------------------------------

_CODEC = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,63}")
_DRM = re.compile(r"[a-z0-9][a-z0-9.-]{0,63}")
# Sample entries that carry the same codec (in-band or out-of-band parameter sets).
_CODEC_ALIASES = {"avc3": "avc1", "hev1": "hvc1", "dvh1": "dvhe"}
# The tallest picture each plan's resolution allows.
PLAN_HEIGHTS = {"SD": 576, "HD": 1080, "UHD": 2160}


@dataclass(frozen=True)
class Device:
    """What the player says it can do: codecs (RFC 6381 strings or their 4-letter family),
    the tallest picture it shows, the DRM systems it has."""

    codecs: tuple[str, ...]
    max_height: int | None = None
    drm: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The device as the session row keeps it (its personalised manifests read it)."""
        return {"codecs": list(self.codecs), "max_height": self.max_height, "drm": list(self.drm)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Device:
        """The device a session row kept."""
        return cls(
            codecs=tuple(data.get("codecs") or ()),
            max_height=data.get("max_height"),
            drm=tuple(data.get("drm") or ()),
        )


def checked_device(device: Device) -> Device:
    """The device if its description makes sense; ``InvalidPlaybackRequest`` otherwise."""
    if not device.codecs or len(device.codecs) > 32:
        raise InvalidPlaybackRequest("a device lists 1 to 32 codecs it decodes")
    if not all(_CODEC.fullmatch(codec) for codec in device.codecs):
        raise InvalidPlaybackRequest("codecs are RFC 6381 strings such as avc1.64001f")
    if len(device.drm) > 8 or not all(_DRM.fullmatch(system) for system in device.drm):
        raise InvalidPlaybackRequest("DRM systems are lower-case names such as clearkey")
    if device.max_height is not None and not 144 <= device.max_height <= 4320:
        raise InvalidPlaybackRequest("max_height is between 144 and 4320 pixels")
    return device


def codec_family(codecs: str) -> str:
    """The sample-entry family of an RFC 6381 codec string (``avc1.64001f`` → ``avc1``)."""
    family = codecs.split(",")[0].strip().split(".")[0].lower()
    return _CODEC_ALIASES.get(family, family)


@dataclass(frozen=True)
class VideoRung:
    """What choosing a video rendition needs to know of it."""

    codecs: str
    height: int


@dataclass(frozen=True)
class VideoLimit:
    """Which video rungs a play may receive: the codec families the device decodes, no
    taller than the plan's resolution and the device's screen."""

    families: frozenset[str]
    max_height: int

    @classmethod
    def of(cls, device: Device, *, plan_resolution: str | None) -> VideoLimit:
        """The limit of this device on a plan of this resolution (SD when unknown)."""
        caps = [PLAN_HEIGHTS.get(plan_resolution or "", PLAN_HEIGHTS["SD"])]
        if device.max_height is not None:
            caps.append(device.max_height)
        return cls(frozenset(codec_family(codec) for codec in device.codecs), min(caps))

    def allows(self, codecs: str, height: int | None) -> bool:
        """Whether a rung of this codec and height may be played (an unknown height may not)."""
        return (
            height is not None
            and height <= self.max_height
            and codec_family(codecs) in self.families
        )


def playable_heights(rungs: Iterable[VideoRung], limit: VideoLimit) -> list[int]:
    """The heights of the rungs the limit (device, plan and screen) allows."""
    return sorted(rung.height for rung in rungs if limit.allows(rung.codecs, rung.height))


# --- Sessions -----------------------------------------------------------------------------


def new_session_id() -> str:
    """An opaque playback session id: 32 characters of ``[A-Za-z0-9_-]`` (192 bits)."""
    return secrets.token_urlsafe(24)


def lock_account(session: Session, *, user_id: str) -> None:
    """Serialise the account's admissions until this transaction ends.

    An upsert on the account's own row: PostgreSQL holds that row's lock to the end (a
    concurrent first insert waits, then updates, without an error); on SQLite any write
    takes the database's write lock, held to the end just the same, and a transaction that
    began by taking it (``db.transaction``) needs no statement at all.
    """
    if holds_sqlite_write_lock(session):
        return  # the whole database's, from BEGIN IMMEDIATE: no other admission runs
    dialect = session.get_bind().dialect.name
    statement = _ACCOUNT_LOCKS.get(dialect)
    if statement is None:
        statement = _ACCOUNT_LOCKS[dialect] = Prepared(_account_lock(dialect))
    statement.execute(session, {"user_id": user_id})


# Built once per dialect, not per play: building the statement cost more than running it.
_ACCOUNT_LOCKS: dict[str, Prepared] = {}


def _account_lock(dialect: str) -> Any:
    if dialect == "postgresql":
        statement: Any = postgresql_insert(PlaybackAccount)
    elif dialect == "sqlite":
        statement = sqlite_insert(PlaybackAccount)
    else:
        raise NotImplementedError(f"playback does not support {dialect}")
    return statement.values(
        user_id=bindparam("user_id"), admissions_checked=1
    ).on_conflict_do_update(
        index_elements=["user_id"],
        set_={"admissions_checked": PlaybackAccount.admissions_checked + 1},
    )


def _live(now: datetime, policy: PlaybackPolicy) -> Sequence[Any]:
    return (
        PlaybackSession.stopped_at.is_(None),
        PlaybackSession.last_heartbeat_at > now - policy.timeout,
    )


def active_sessions(
    session: Session, *, user_id: str, now: datetime, policy: PlaybackPolicy
) -> list[PlaybackSession]:
    """The account's plays that count against its plan at ``now``, oldest first."""
    return list(
        session.scalars(
            select(PlaybackSession)
            .where(PlaybackSession.user_id == user_id, *_live(now, policy))
            .order_by(PlaybackSession.started_at)
        )
    )


@dataclass(frozen=True)
class NewPlay:
    """What a session is opened for, once every other check passed."""

    user_id: str
    profile_id: str
    title_id: str
    storage_prefix: str
    territory: str
    duration_seconds: float | None
    device: Device
    resume_from: float = 0.0


@dataclass(frozen=True)
class AdmittedPlay:
    """The session ``admit`` opened: its id, what it plays and since when (a plain value:
    building the ORM entity of a row just inserted cost a play more CPU than inserting it)."""

    id: str
    play: NewPlay
    started_at: datetime


# The account's streams that count: built once (see _ACCOUNT_LOCKS).
_LIVE_COUNT = Prepared(
    select(func.count())
    .select_from(PlaybackSession)
    .where(
        PlaybackSession.user_id == bindparam("user_id"),
        PlaybackSession.stopped_at.is_(None),
        PlaybackSession.last_heartbeat_at > bindparam("since"),
    )
)


_INSERT_PLAY = Prepared(insert(cast(Table, PlaybackSession.__table__)))


def admit(
    session: Session, play: NewPlay, *, stream_limit: int, now: datetime, policy: PlaybackPolicy
) -> AdmittedPlay:
    """Open a playback session if the account plays fewer than ``stream_limit`` streams.

    The count and the insert run under the account's lock, so concurrent requests of one
    account are admitted one after the other and never more than the limit.
    """
    lock_account(session, user_id=play.user_id)
    # Prepared (on the driver's cursor): these statements name no ORM entity to load, and
    # SQLAlchemy's execution around them cost more CPU than running them.
    playing = _LIVE_COUNT.scalar(session, {"user_id": play.user_id, "since": now - policy.timeout})
    if (playing or 0) >= stream_limit:
        plural = "s" if stream_limit != 1 else ""
        raise StreamLimitReached(
            f"your plan allows {stream_limit} stream{plural} at once and all are in use: "
            "stop watching on another screen, or wait a minute after it stopped",
            limit=stream_limit,
        )
    session_id = new_session_id()
    values = {
        "id": session_id,
        "user_id": play.user_id,
        "profile_id": play.profile_id,
        "title_id": play.title_id,
        "storage_prefix": play.storage_prefix,
        "territory": play.territory,
        "duration_seconds": play.duration_seconds,
        "device": play.device.to_json(),
        "started_at": now,
        "last_heartbeat_at": now,
        "position_seconds": play.resume_from,
        "play_counted": False,
        "stopped_at": None,
    }
    # A plain INSERT rather than a new entity: the unit of work's flush of one new object
    # cost more CPU than the rest of the admission, and later reads of the play in this
    # transaction load it from the database like any row.
    _INSERT_PLAY.execute(session, values)
    return AdmittedPlay(id=session_id, play=play, started_at=now)


def get_session(session: Session, *, user_id: str, session_id: str) -> PlaybackSession:
    """One of the account's playback sessions; another account's is as unknown as none."""
    row = session.get(PlaybackSession, session_id)
    if row is None or row.user_id != user_id:
        raise PlaybackSessionNotFound("no such playback session")
    return row


def live_session(
    session: Session, *, user_id: str, session_id: str, now: datetime, policy: PlaybackPolicy
) -> PlaybackSession:
    """One of the account's sessions that still counts at ``now``.

    A stopped session, or one silent past the timeout, has lost its place (another screen
    may have taken it): ``PlaybackSessionEnded``, and the player asks for a new play.
    """
    row = get_session(session, user_id=user_id, session_id=session_id)
    if row.stopped_at is not None:
        raise PlaybackSessionEnded("this play was stopped; start it again")
    if now - row.last_heartbeat_at >= policy.timeout:
        raise PlaybackSessionEnded(
            f"no heartbeat for {policy.session_timeout_seconds} s: the play ended; start it again"
        )
    return row


def _checked_position(row: PlaybackSession, position_seconds: float) -> float:
    if not position_seconds >= 0:  # also refuses NaN
        raise InvalidPlaybackRequest("the position is a number of seconds, 0 or more")
    if row.duration_seconds is not None:
        # Players report a little past the end (rounding, the last frame): keep the end.
        return min(position_seconds, row.duration_seconds)
    return position_seconds


def heartbeat(
    session: Session,
    *,
    user_id: str,
    session_id: str,
    position_seconds: float,
    now: datetime,
    policy: PlaybackPolicy,
) -> PlaybackSession:
    """The player still plays at ``position_seconds``: the session counts for another while
    (``PlaybackSessionEnded`` once it no longer does, see ``live_session``)."""
    row = live_session(session, user_id=user_id, session_id=session_id, now=now, policy=policy)
    row.position_seconds = _checked_position(row, position_seconds)
    row.last_heartbeat_at = max(row.last_heartbeat_at, now)
    session.flush()
    return row


def claim_play_count(session: Session, *, session_id: str) -> bool:
    """True once per session: the caller then counts one play of its title.

    A conditional UPDATE, so two heartbeats racing on one session count it once.
    """
    result = session.execute(
        update(PlaybackSession)
        .where(PlaybackSession.id == session_id, PlaybackSession.play_counted.is_(False))
        .values(play_counted=True)
        .returning(PlaybackSession.id)
        .execution_options(synchronize_session=False)
    )
    claimed = result.first() is not None
    if claimed:
        row = session.get(PlaybackSession, session_id)
        if row is not None:
            session.refresh(row, ["play_counted"])
    return claimed


def stop(
    session: Session,
    *,
    user_id: str,
    session_id: str,
    now: datetime,
    position_seconds: float | None = None,
) -> PlaybackSession:
    """End a play at once: its stream is free for another screen. Stopping twice is fine."""
    row = get_session(session, user_id=user_id, session_id=session_id)
    if row.stopped_at is None:
        row.stopped_at = now
        if position_seconds is not None:
            row.position_seconds = _checked_position(row, position_seconds)
        session.flush()
    return row
