"""Proactive fill's pure parts: windows in Paris time, the bandwidth cap, the plan."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from cineflux.edge.fill import (
    FillWindow,
    PlanError,
    TokenBucket,
    due_window_start,
    fill_order,
    parse_plan,
    seconds_until_next_check,
)

PARIS = ZoneInfo("Europe/Paris")
NIGHT = FillWindow(time(2, 0), time(6, 0), PARIS)
OVER_MIDNIGHT = FillWindow(time(23, 0), time(5, 0), PARIS)


def paris(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def test_a_window_holds_its_hours_in_paris_time() -> None:
    assert NIGHT.contains(paris(2026, 11, 27, 2, 0))
    assert NIGHT.contains(paris(2026, 11, 27, 5, 59))
    assert not NIGHT.contains(paris(2026, 11, 27, 6, 0))
    assert not NIGHT.contains(paris(2026, 11, 27, 1, 59))
    # 01:30 UTC in winter is 02:30 in Paris.
    assert NIGHT.contains(datetime(2026, 11, 27, 1, 30, tzinfo=UTC))


def test_a_window_over_midnight_opened_the_evening_before() -> None:
    assert OVER_MIDNIGHT.contains(paris(2026, 11, 27, 23, 30))
    assert OVER_MIDNIGHT.contains(paris(2026, 11, 28, 4, 0))
    assert not OVER_MIDNIGHT.contains(paris(2026, 11, 28, 12, 0))
    assert OVER_MIDNIGHT.current_start(paris(2026, 11, 28, 4, 0)) == paris(2026, 11, 27, 23, 0)
    assert OVER_MIDNIGHT.current_start(paris(2026, 11, 28, 12, 0)) is None


def test_the_next_start_is_tomorrow_once_today_has_begun_and_keeps_wall_time_across_dst() -> None:
    assert NIGHT.next_start(paris(2026, 11, 27, 1, 0)) == paris(2026, 11, 27, 2, 0)
    assert NIGHT.next_start(paris(2026, 11, 27, 3, 0)) == paris(2026, 11, 28, 2, 0)
    # Clocks go forward on 29 March 2026: 23:00 is still 23:00 in Paris the next day.
    before = paris(2026, 3, 28, 23, 30)
    assert OVER_MIDNIGHT.next_start(before) == paris(2026, 3, 29, 23, 0)
    assert OVER_MIDNIGHT.next_start(before).astimezone(UTC).hour == 21


def test_a_window_runs_once_per_opening() -> None:
    inside = paris(2026, 11, 27, 3, 0)
    first = due_window_start(NIGHT, inside, None)
    assert first == paris(2026, 11, 27, 2, 0)
    assert due_window_start(NIGHT, paris(2026, 11, 27, 4, 0), first) is None
    assert due_window_start(NIGHT, paris(2026, 11, 27, 12, 0), first) is None
    assert due_window_start(NIGHT, paris(2026, 11, 28, 2, 1), first) == paris(2026, 11, 28, 2, 0)


def test_the_plan_is_looked_at_again_when_the_window_opens_or_at_the_poll() -> None:
    assert seconds_until_next_check(NIGHT, paris(2026, 11, 27, 1, 50), 600) == 600
    assert seconds_until_next_check(NIGHT, paris(2026, 11, 27, 1, 58), 600) == 120
    assert seconds_until_next_check(None, paris(2026, 11, 27, 1, 58), 600) == 600


def test_the_bucket_allows_a_burst_then_paces_at_its_rate() -> None:
    bucket = TokenBucket.full(rate=1000.0, now=0.0)
    assert bucket.consume(1000, now=0.0) == 0.0
    assert bucket.consume(500, now=0.0) == pytest.approx(0.5)
    # Half a second later the debt is paid; another 1000 bytes need one more second.
    assert bucket.consume(1000, now=0.5) == pytest.approx(1.0)
    # A long idle time refills to the burst only, not beyond.
    assert bucket.consume(1000, now=100.0) == 0.0
    assert bucket.consume(1, now=100.0) == pytest.approx(0.001)


def test_a_bucket_held_to_its_waits_sends_at_its_rate_over_time() -> None:
    bucket = TokenBucket.full(rate=2_000_000.0, now=0.0)
    clock = 0.0
    for _ in range(100):
        clock += bucket.consume(256 * 1024, now=clock)
    # 100 chunks of 256 KiB at 2 MB/s take (26.2 MB - the 2 MB burst) / 2 MB/s.
    assert clock == pytest.approx((100 * 256 * 1024 - 2_000_000) / 2_000_000, rel=1e-6)


PLAN = {
    "site": "paris",
    "generated_at": "2026-11-27T01:00:00+00:00",
    "window": {"start": "02:00", "end": "06:00", "timezone": "Europe/Paris"},
    "bandwidth_mbps": 80,
    "items": [
        {
            "title_id": "a",
            "score": 9.5,
            "bytes": 10,
            "token": "tok-a",
            "paths": ["/titles/a/master.m3u8", "/titles/a/seg.m4s"],
        },
        {
            "title_id": "b",
            "score": 3.0,
            "bytes": 10,
            "token": "tok-b",
            "paths": ["/titles/b/master.m3u8"],
        },
    ],
}


def test_a_plan_parses_into_window_cap_and_items_in_order() -> None:
    plan = parse_plan(PLAN)
    assert plan.site == "paris"
    assert plan.window == NIGHT
    assert plan.bandwidth_bytes_per_second == 10_000_000
    assert [item.title_id for item in plan.items] == ["a", "b"]
    order = fill_order(plan, {"/titles/a/seg.m4s"})
    assert [(item.token, path) for item, path in order] == [
        ("tok-a", "/titles/a/master.m3u8"),
        ("tok-b", "/titles/b/master.m3u8"),
    ]


def test_each_edge_fills_only_the_titles_it_owns_with_its_share_of_the_site_cap() -> None:
    owned = {
        **PLAN,
        "items": [
            {**PLAN["items"][0], "edge": "paris-1"},  # type: ignore[index]
            {**PLAN["items"][1], "edge": "paris-2"},  # type: ignore[index]
            {**PLAN["items"][1], "title_id": "c", "edge": None},  # type: ignore[index]
        ],
    }
    plan = parse_plan(owned)
    first, second = plan.for_edge("paris-1"), plan.for_edge("paris-2")
    assert [item.title_id for item in first.items] == ["a", "c"]
    assert [item.title_id for item in second.items] == ["b", "c"]
    # Two owners split the site's 80 Mb/s: the site never fills faster than its cap.
    assert first.bandwidth_bytes_per_second == second.bandwidth_bytes_per_second == 5_000_000
    # An edge the plan does not name yet (just joined) still gets an even share.
    assert plan.for_edge("paris-3").bandwidth_bytes_per_second == 10_000_000 / 3


@pytest.mark.parametrize(
    "change",
    [
        {"bandwidth_mbps": 0},
        {"window": {"start": "25:00", "end": "06:00"}},
        {"items": [{"title_id": "a", "token": "t", "paths": ["/titles/../etc/passwd"]}]},
        {"items": [{"title_id": "a", "paths": ["/titles/a/x"]}]},
        {"window": {"start": "02:00", "end": "06:00", "timezone": "Mars/Olympus"}},
    ],
)
def test_unusable_plans_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(PlanError):
        parse_plan({**PLAN, **change})
