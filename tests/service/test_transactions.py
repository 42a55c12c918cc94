"""Units of work that read, then write, while another one commits in between.

On SQLite a deferred transaction that read before another committed can no longer write:
SQLite answers "database is locked" at once, whatever the busy timeout (the bug that made
sign-ins fail while edges heartbeat). ``db.transaction`` takes the write lock at BEGIN so
the second one waits its turn instead.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from cineflux.accounts import service as accounts
from cineflux.accounts.models import User
from cineflux.db import transaction
from cineflux.platform import Platform


def test_a_unit_of_work_that_read_still_writes_after_another_one_committed(
    platform: Platform,
) -> None:
    first_has_read = threading.Event()
    second_failed: list[BaseException] = []

    def second_unit_of_work() -> None:
        first_has_read.wait(timeout=30)
        try:
            with transaction(platform.sessions) as session:
                accounts.create_user(
                    session, clock=platform.clock, email="second@example.org", password="p" * 12
                )
        except BaseException as error:  # surfaced in the test thread below
            second_failed.append(error)

    second = threading.Thread(target=second_unit_of_work)
    second.start()
    with transaction(platform.sessions) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0
        first_has_read.set()
        # Give the other one the time to commit if it can: on SQLite it must not (it waits
        # for this transaction's lock); on PostgreSQL it may, and both must land anyway.
        second.join(timeout=1)
        accounts.create_user(
            session, clock=platform.clock, email="first@example.org", password="p" * 12
        )
    second.join(timeout=60)

    assert not second.is_alive() and not second_failed, second_failed
    with transaction(platform.sessions) as session:
        emails = set(session.scalars(select(User.email)))
    assert emails == {"first@example.org", "second@example.org"}
