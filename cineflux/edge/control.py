"""The edge's contact with the control plane: heartbeats and proactive fill.

Both are optional and never fatal: an edge whose control plane is down keeps serving from
its cache and its upstreams, logging each failed contact. Requests are signed with the
first token key (``tokens.sign_request``), so the control plane knows which edge speaks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cineflux.edge.fill import (
    FillPlan,
    PlanError,
    TokenBucket,
    due_window_start,
    fill_order,
    parse_plan,
    seconds_until_next_check,
)
from cineflux.edge.server import EdgeServer
from cineflux.edge.tokens import sign_request
from cineflux.edge.upstream import UpstreamError, http_exchange, read_body

logger = logging.getLogger("cineflux.edge.control")

HEARTBEAT_TARGET = "/api/cdn/heartbeat"
SIGNATURE_HEADER = "X-Cineflux-Edge-Signature"
MAX_ANSWER_BYTES = 16 * 1024 * 1024
PLAN_POLL_SECONDS = 600.0
PLAN_RETRY_SECONDS = 30.0  # at most; sooner when heartbeats are more frequent
CONTACT_ERRORS = (OSError, TimeoutError, UpstreamError, ValueError)


def plan_target(site: str) -> str:
    """The control plane's fill-plan route for ``site``."""
    return f"/api/cdn/sites/{site}/fill-plan"


def heartbeat_body(server: EdgeServer, *, egress_bps: int, healthy: bool) -> dict[str, Any]:
    """What an edge reports every few seconds."""
    config = server.config
    connections = len(server.connections)
    load = max(egress_bps / config.capacity_bps, connections / config.max_connections)
    return {
        "edge": config.name,
        "site": config.site,
        "base_url": config.public_url,
        "healthy": healthy,
        "load": round(load, 4),
        "egress_bps": egress_bps,
        "capacity_bps": config.capacity_bps,
        "open_connections": connections,
        "disk_used_bytes": server.cache.used + server.cache.reserved,
        "disk_capacity_bytes": server.cache.capacity,
    }


class ControlPlane:
    """Heartbeats and fill plans for one edge, with ``clock`` injectable for tests."""

    def __init__(
        self,
        server: EdgeServer,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        plan_poll_seconds: float = PLAN_POLL_SECONDS,
    ) -> None:
        self.server = server
        self.config = server.config
        self.clock = clock
        self.plan_poll_seconds = plan_poll_seconds
        self.filling = False
        self.last_window_run: datetime | None = None
        self._egress_mark = (time.monotonic(), 0)
        self.egress_bps = 0

    async def signed_exchange(
        self, method: str, target: str, body: bytes = b""
    ) -> tuple[int, bytes]:
        """One signed request to the control plane: status and body."""
        assert self.config.control is not None
        key_id, key = next(iter(self.config.keys.items()))
        signature = sign_request(
            key_id=key_id, key=key, method=method, target=target, body=body, at=int(time.time())
        )
        headers = {SIGNATURE_HEADER: signature, "Accept": "application/json"}
        if body:
            headers["Content-Type"] = "application/json"
        status, answer_headers, reader, writer = await http_exchange(
            self.config.control, method, target, headers=headers, body=body, timeout=5.0
        )
        try:
            data = await asyncio.wait_for(read_body(reader, answer_headers, MAX_ANSWER_BYTES), 30)
        finally:
            writer.close()
        return status, data

    def _measure_egress(self) -> int:
        now = time.monotonic()
        total = self.server.metrics.total_bytes_served
        then, before = self._egress_mark
        self._egress_mark = (now, total)
        if now > then:
            self.egress_bps = int((total - before) * 8 / (now - then))
        return self.egress_bps

    async def send_heartbeat(self) -> bool:
        """Report load and health once; whether the control plane took it."""
        healthy = self.server.cache.usable()
        self.server.healthy = healthy
        body = heartbeat_body(self.server, egress_bps=self._measure_egress(), healthy=healthy)
        raw = json.dumps(body, separators=(",", ":")).encode()
        try:
            status, _ = await self.signed_exchange("POST", HEARTBEAT_TARGET, raw)
        except CONTACT_ERRORS as error:
            logger.warning("heartbeat failed", extra={"error": str(error) or type(error).__name__})
            return False
        if status != 200:
            logger.warning("heartbeat refused", extra={"status": status})
        return status == 200

    async def heartbeat_loop(self) -> None:
        """Heartbeat every ``--heartbeat-seconds`` until cancelled."""
        while not self.server.stopping:
            await self.send_heartbeat()
            await asyncio.sleep(self.config.heartbeat_seconds)

    async def fetch_plan(self) -> FillPlan:
        """This edge's part of its site's fill plan, or ``PlanError``/a contact error."""
        status, data = await self.signed_exchange("GET", plan_target(self.config.site))
        if status != 200:
            raise PlanError(f"fill plan answered {status}")
        try:
            return parse_plan(json.loads(data)).for_edge(self.config.name)
        except json.JSONDecodeError:
            raise PlanError("fill plan is not JSON") from None

    async def plan_loop(self) -> None:
        """Fetch the plan now and then; run it once per window, inside the window."""
        window = None
        while not self.server.stopping:
            poll = self.plan_poll_seconds
            try:
                plan = await self.fetch_plan()
                window = plan.window
                due = due_window_start(plan.window, self.clock(), self.last_window_run)
                if due is not None and not self.filling:
                    self.last_window_run = due
                    await self.run_plan(plan, respect_window=True)
            except (*CONTACT_ERRORS, PlanError) as error:
                logger.warning("fill plan unavailable", extra={"error": str(error)})
                # A new edge asks before its first heartbeat registered its site, and a
                # control plane comes back: try again after the next heartbeat rather than
                # at the next poll.
                poll = min(poll, PLAN_RETRY_SECONDS, self.config.heartbeat_seconds)
            await asyncio.sleep(seconds_until_next_check(window, self.clock(), poll))

    def request_fill(self) -> bool:
        """Fetch the plan and run it now, whatever the hour (operators, tests)."""
        if self.filling or self.config.control is None:
            return False
        self.filling = True  # taken now, so that two triggers cannot both start a run
        self.server.spawn(self._fill_now())
        return True

    async def _fill_now(self) -> None:
        try:
            plan = await self.fetch_plan()
        except (*CONTACT_ERRORS, PlanError) as error:
            logger.warning("fill plan unavailable", extra={"error": str(error)})
            self.filling = False
            return
        await self.run_plan(plan, respect_window=False, already_marked=True)

    async def run_plan(
        self, plan: FillPlan, *, respect_window: bool, already_marked: bool = False
    ) -> int:
        """Fetch the plan's missing objects in order under its cap; the number stored."""
        if self.filling and not already_marked:
            return 0
        self.filling = True
        server = self.server
        server.cache.hold_plan([path for item in plan.items for path in item.paths])
        bucket = TokenBucket.full(plan.bandwidth_bytes_per_second, time.monotonic())
        kept: set[str] = set()
        stored = 0
        try:
            for item, path in fill_order(plan, frozenset(server.cache.objects)):
                if respect_window and not plan.window.contains(self.clock()):
                    logger.info("fill window closed", extra={"stored": stored})
                    break
                if server.cache.contains(path):
                    kept.add(path)
                    continue
                await asyncio.sleep(bucket.consume(0, time.monotonic()))  # the cap's debt
                fill = server.fills.get(path) or server.start_fill(
                    path, item.token, limiter=bucket, protected=frozenset(kept)
                )
                outcome = await asyncio.shield(fill.done)
                if outcome == "stored":
                    kept.add(path)
                    stored += 1
                    server.metrics.fill_objects += 1
                    entry = server.cache.objects.get(path)
                    server.metrics.fill_bytes += entry.size if entry else 0
                elif outcome == "not_stored":
                    logger.info("cache full of planned objects", extra={"stored": stored})
                    break
        finally:
            self.filling = False
        logger.info("fill run ended", extra={"stored": stored, "site": plan.site})
        return stored
