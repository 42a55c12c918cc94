"""Background work of billing: the renewal run and the delivery of provider webhooks.

Each unit of work opens its own transaction, so one subscription's failure never undoes
another's renewal, and a crash loses at most the subscription being processed.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select, update

from cineflux.billing import service as billing
from cineflux.billing.models import SimulatedEvent
from cineflux.billing.signatures import SIGNATURE_HEADER, WebhookRejected, sign
from cineflux.db import transaction
from cineflux.platform import Platform

log = logging.getLogger(__name__)

# Takes a body and its signature header; answers with an HTTP status.
WebhookSender = Callable[[bytes, str], int]


@dataclass
class RunReport:
    """What one billing run did, counted by outcome ("paid", "failed", "expired", …)."""

    outcomes: Counter[str] = field(default_factory=Counter)
    conflicts: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts, for ``--json``."""
        return {**dict(sorted(self.outcomes.items())), "conflicts": self.conflicts}


def run_billing(platform: Platform, *, batch: int = 500) -> RunReport:
    """Renew, retry and end every subscription that is due now; safe to run concurrently."""
    policy = billing.BillingPolicy.from_settings(platform.settings)
    report = RunReport()
    seen: set[str] = set()
    while True:
        with transaction(platform.sessions) as session:
            due = billing.due_subscriptions(
                session, now=platform.clock.now(), policy=policy, limit=batch
            )
        # One step per subscription per run: a run never charges two periods in a row.
        due = [(sid, version) for sid, version in due if sid not in seen]
        if not due:
            return report
        for subscription_id, version in due:
            seen.add(subscription_id)
            try:
                with transaction(platform.sessions) as session:
                    outcome = billing.process_due(
                        session,
                        ctx=billing.BillingContext.of(
                            session, clock=platform.clock, settings=platform.settings
                        ),
                        subscription_id=subscription_id,
                        version=version,
                    )
            except billing.BillingConflict:
                report.conflicts += 1
                continue
            if outcome is not None:
                report.outcomes[outcome] += 1
                log.info("billing", extra={"subscription": subscription_id, "outcome": outcome})


def in_process_sender(platform: Platform) -> WebhookSender:
    """Deliver to this process's webhook handler, exactly as the HTTP endpoint would."""
    secret = platform.settings.webhook_secret()

    def send(body: bytes, signature: str) -> int:
        try:
            with transaction(platform.sessions) as session:
                billing.receive_webhook(
                    session,
                    ctx=billing.BillingContext.of(
                        session, clock=platform.clock, settings=platform.settings
                    ),
                    secret=secret,
                    tolerance_seconds=platform.settings.billing_webhook_tolerance_seconds,
                    body=body,
                    signature=signature,
                )
        except WebhookRejected:
            return 400
        except billing.BillingConflict:
            return 409
        return 200

    return send


def http_sender(url: str, *, timeout: float = 10.0) -> WebhookSender:
    """Deliver by POSTing to ``url`` (a running ``cineflux serve``'s /api/billing/webhooks)."""

    def send(body: bytes, signature: str) -> int:
        request = urllib.request.Request(  # noqa: S310 - the operator's own endpoint
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    return send


def deliver_webhooks(platform: Platform, send: WebhookSender, *, limit: int = 100) -> int:
    """Sign and send the simulated provider's pending events; how many were accepted.

    At least once: an event is marked delivered after the receiver accepted it, so a crash
    in between sends it again, and the receiver ignores the copy.
    """
    secret = platform.settings.webhook_secret()
    with transaction(platform.sessions) as session:
        pending = list(
            session.execute(
                select(SimulatedEvent.id, SimulatedEvent.payload)
                .where(SimulatedEvent.delivered_at.is_(None))
                .order_by(SimulatedEvent.created_at, SimulatedEvent.id)
                .limit(limit)
            )
        )
    accepted = 0
    for event_id, payload in pending:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        signature = sign(secret, body, int(platform.clock.now().timestamp()))
        try:
            status = send(body, signature)
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except OSError as failure:
            error = f"{type(failure).__name__}: {failure}"
        with transaction(platform.sessions) as session:
            values: dict[str, object] = {"attempts": SimulatedEvent.attempts + 1}
            if error is None:
                values["delivered_at"] = platform.clock.now()
                accepted += 1
            else:
                values["last_error"] = error[:300]
            session.execute(
                update(SimulatedEvent)
                .where(SimulatedEvent.id == event_id, SimulatedEvent.delivered_at.is_(None))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
    return accepted


def start_billing_thread(
    platform: Platform, *, every_seconds: float = 30, run_every: int = 120
) -> tuple[threading.Thread, threading.Event]:
    """From inside ``cineflux serve``: deliver webhooks often, run renewals about hourly."""
    stop = threading.Event()
    send = in_process_sender(platform)

    def loop() -> None:
        ticks = 0
        while True:
            try:
                deliver_webhooks(platform, send)
                if ticks % run_every == 0:
                    run_billing(platform)
            except Exception:  # one bad pass must not end the loop; the next one retries
                log.exception("billing pass failed")
            ticks += 1
            if stop.wait(every_seconds):
                return

    thread = threading.Thread(target=loop, name="billing", daemon=True)
    thread.start()
    return thread, stop
