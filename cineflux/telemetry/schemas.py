"""The QoE API's bodies: a batch of one playback session's events, checked strictly."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cineflux.telemetry.service import MAX_EVENTS_PER_BATCH, BatchIn, EventIn

HOUR_MS = 3_600_000
MAX_BPS = 10_000_000_000  # 10 Gb/s: above any rung, below anything absurd

Milliseconds = Annotated[int, Field(ge=0, le=HOUR_MS)]
BitsPerSecond = Annotated[int, Field(ge=0, le=MAX_BPS)]


class _Event(BaseModel):
    # Strict: "12" is not 12, and a field no event has is an error, not silence.
    model_config = ConfigDict(extra="forbid", strict=True)

    at: AwareDatetime | None = Field(
        None, description="when it happened (client clock; clamped to the server's)"
    )


class StartupEvent(_Event):
    """Time from play (or load) to the first frame."""

    kind: Literal["startup"]
    ms: Annotated[int, Field(ge=0, le=600_000)]


class RebufferEvent(_Event):
    """Stalls after the first frame (``waiting`` until ``playing``)."""

    kind: Literal["rebuffer"]
    count: Annotated[int, Field(ge=1, le=10_000)] = 1
    duration_ms: Milliseconds


class PlayedEvent(_Event):
    """Time spent playing since the last report: the denominator of the rebuffer ratio."""

    kind: Literal["played"]
    ms: Milliseconds


class BitrateEvent(_Event):
    """A switch between variants (``from_bps`` absent for the first one)."""

    kind: Literal["bitrate"]
    from_bps: BitsPerSecond | None = None
    to_bps: Annotated[int, Field(ge=1, le=MAX_BPS)]


class ErrorEvent(_Event):
    """A player error, by its code (Shaka's numeric codes, or a short name)."""

    kind: Literal["error"]
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,32}$")]


class CmcdEvent(_Event):
    """CTA-5004 data as sent on a media request: ``CMCD=<url-encoded payload>``."""

    kind: Literal["cmcd"]
    query: Annotated[str, Field(min_length=5, max_length=4096)]


QoeEventIn = Annotated[
    StartupEvent | RebufferEvent | PlayedEvent | BitrateEvent | ErrorEvent | CmcdEvent,
    Field(discriminator="kind"),
]


class QoeBatchIn(BaseModel):
    """Events of one playback session, served by one edge."""

    model_config = ConfigDict(extra="forbid", strict=True)

    session_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
    title_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,64}$")]
    edge: Annotated[
        str,
        Field(
            pattern=r"^(origin|[a-z0-9]([a-z0-9.-]{0,252})(:[0-9]{1,5})?|\[[0-9a-f:.]{2,45}\](:[0-9]{1,5})?)$",
            description="host[:port] of the server that served, or 'origin'",
        ),
    ]
    events: Annotated[list[QoeEventIn], Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)]

    def to_batch(self) -> BatchIn:
        """The batch as the service takes it."""
        return BatchIn(
            session_id=self.session_id,
            title_id=self.title_id,
            edge=self.edge,
            events=[_event(e) for e in self.events],
        )


def _event(event: QoeEventIn) -> EventIn:
    if isinstance(event, StartupEvent | PlayedEvent):
        return EventIn(kind=event.kind, at=event.at, duration_ms=event.ms)
    if isinstance(event, RebufferEvent):
        return EventIn(
            kind="rebuffer", at=event.at, count=event.count, duration_ms=event.duration_ms
        )
    if isinstance(event, BitrateEvent):
        return EventIn(kind="bitrate", at=event.at, from_bps=event.from_bps, to_bps=event.to_bps)
    if isinstance(event, ErrorEvent):
        return EventIn(kind="error", at=event.at, error_code=event.code)
    return EventIn(kind="cmcd", at=event.at, cmcd_query=event.query)


class QoeAccepted(BaseModel):
    """How many events were stored."""

    accepted: int
