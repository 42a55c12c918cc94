"""``cineflux keys``: content keys at rest, and rotating the master key that wraps them."""

from __future__ import annotations

from typing import Annotated

import typer

from cineflux.cli_support import console, fail, load_platform
from cineflux.db import transaction
from cineflux.protection.keystore import key_store, master_key_counts

app = typer.Typer(help="Content keys and their master keys.", no_args_is_help=True)


@app.command("status")
def status() -> None:
    """How many content keys each master key wraps, and which master key is current."""
    platform = load_platform()
    store = key_store(platform.settings)
    with transaction(platform.sessions) as session:
        counts = master_key_counts(session)
    configured = [key_id for key_id, _ in store.master.keys]
    for key_id in [*configured, *sorted(set(counts) - set(configured))]:
        role = (
            "current" if key_id == configured[0] else "older" if key_id in configured else "MISSING"
        )
        console.print(f"{key_id:<20} {role:<8} {counts.get(key_id, 0)} content keys")


@app.command("rewrap")
def rewrap(
    batch: Annotated[int, typer.Option(min=1, help="keys per transaction")] = 500,
) -> None:
    """Re-wrap every content key under the current master key (the first of
    CINEFLUX_CONTENT_MASTER_KEYS), one short transaction per batch; older master keys can
    then be removed. Key ids do not change: nothing is re-packaged."""
    platform = load_platform()
    store = key_store(platform.settings)
    total = 0
    unavailable: tuple[str, ...] = ()
    while True:
        with transaction(platform.sessions) as session:
            done = store.rewrap_batch(session, limit=batch)
        total += done.rewrapped
        unavailable = done.unavailable
        if done.rewrapped < batch:
            break
    current = store.master.current[0]
    console.print(f"{total} content keys re-wrapped under master key {current}.")
    if unavailable:
        fail(
            f"{len(unavailable)} content keys are wrapped under master keys "
            "CINEFLUX_CONTENT_MASTER_KEYS does not hold (their titles cannot play): "
            f"{', '.join(unavailable[:10])}{' …' if len(unavailable) > 10 else ''}"
        )
