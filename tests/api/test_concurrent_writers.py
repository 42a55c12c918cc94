"""More concurrent writing requests than worker threads: all answer, none waits out SQLite.

Writers used to queue inside ``BEGIN IMMEDIATE``, each holding a worker thread; the one
holding the write lock then found no thread for its handler, and every writer waited out
the 30-second busy timeout (seen as auths/s falling to nothing under ``bench/playback.py``).
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread
from fastapi.testclient import TestClient

WRITERS = 12
THREADS = 2


async def asgi_delete(app: Any, path: str, cookie: str) -> int:
    """One DELETE straight through the ASGI interface (one event loop for all); its status."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "DELETE",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def test_more_concurrent_writers_than_threads_all_answer_at_once(signed_in: TestClient) -> None:
    app = signed_in.app
    cookie = "; ".join(f"{name}={value}" for name, value in signed_in.cookies.items())
    statuses: list[int] = []

    async def stop_unknown_play(number: int) -> None:
        # A writing request (DELETE) whose handler needs the signed-in user: threads.
        statuses.append(await asgi_delete(app, f"/api/playback/no-such-play-{number}", cookie))

    async def main() -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        with anyio.fail_after(20):  # the busy timeout is 30 s: waiting it out fails here
            async with anyio.create_task_group() as group:
                for number in range(WRITERS):
                    group.start_soon(stop_unknown_play, number)

    anyio.run(main)
    assert statuses == [404] * WRITERS
