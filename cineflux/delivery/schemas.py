"""API shapes of the delivery network: edges' heartbeats and fill plans, the edge list."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class HeartbeatIn(BaseModel):
    """What an edge reports every few seconds (signed: ``X-Cineflux-Edge-Signature``)."""

    edge: str = Field(max_length=64, description="the edge's unique name")
    site: str = Field(max_length=40, description="the site it serves")
    base_url: str = Field(max_length=255, description="where players reach it")
    healthy: bool
    load: float = Field(ge=0, description="0 idle, 1 saturated")
    egress_bps: int = Field(ge=0)
    capacity_bps: int = Field(ge=0, description="link speed")
    open_connections: int = Field(ge=0)
    disk_used_bytes: int = Field(ge=0)
    disk_capacity_bytes: int = Field(ge=0)


class HeartbeatAck(BaseModel):
    """The heartbeat was recorded; whether players are sent to the edge now."""

    accepted: bool
    in_rotation: bool


class EdgeRead(BaseModel):
    """An edge as the operator console shows it."""

    id: str
    name: str
    site: str
    base_url: str
    healthy: bool
    load: float = Field(description="reported load, or egress over capacity when higher")
    egress_bps: int
    capacity_bps: int
    open_connections: int
    disk_used_bytes: int
    disk_capacity_bytes: int
    last_heartbeat_at: datetime
    in_rotation: bool
    rotation_since: datetime
    rotation_reason: str


class EdgeList(BaseModel):
    """Every edge, by site then name."""

    items: list[EdgeRead]


class FillWindowRead(BaseModel):
    """The off-peak hours, local time."""

    start: str = Field(examples=["02:00"])
    end: str = Field(examples=["06:00"])
    timezone: str = Field(examples=["Europe/Paris"])


class FillItemRead(BaseModel):
    """A package to fetch: every path, with a token opening its prefix until the window ends."""

    title_id: str
    score: float
    bytes: int
    edge: str | None = Field(description="the edge of the site that holds this title")
    token: str
    paths: list[str]


class FillPlanRead(BaseModel):
    """A site's fill plan, best title first."""

    site: str
    generated_at: datetime
    window: FillWindowRead
    bandwidth_mbps: float
    capacity_bytes: int
    items: list[FillItemRead]
