"""Capacity arithmetic, the fill window, play histories and the order of a fill plan."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from cineflux.delivery import popularity
from cineflux.delivery.capacity import (
    InvalidCapacityPlan,
    format_plan,
    parse_site_shares,
    plan_capacity,
)
from cineflux.delivery.errors import InvalidFillWindow
from cineflux.delivery.fill import FillItem, FillPlan, history, parse_fill_window


def test_five_million_subscribers_make_about_a_terabit_per_second() -> None:
    plan = plan_capacity(
        subscribers=5_000_000, peak_concurrency="0.045", bitrate_mbps="4.5", edge_gbps="100"
    )
    assert plan.streams == 225_000
    assert plan.peak_gbps == Decimal("1012.5")
    assert plan.usable_edge_gbps == Decimal("70.0")
    # 1012.5 / 70 = 14.46 -> 15 edges for the peak, one spare.
    (site,) = plan.sites
    assert (site.edges_for_peak, site.edges) == (15, 16)
    assert plan.total_edges == 16


def test_floats_from_the_command_line_do_not_round_up_a_stream() -> None:
    plan = plan_capacity(
        subscribers=5_000_000, peak_concurrency=0.045, bitrate_mbps=4.5, edge_gbps=100
    )
    assert plan.streams == 225_000  # 5e6 * 0.045 in binary floating point is 225000.00000000003


def test_each_site_gets_its_share_rounded_up_plus_spares() -> None:
    plan = plan_capacity(
        subscribers=1_000_000,
        peak_concurrency="0.05",
        bitrate_mbps="5",
        edge_gbps="40",
        headroom="0.25",
        spare_edges=2,
        sites=parse_site_shares("paris=0.7,lyon=0.3"),
    )
    # 50,000 streams x 5 Mb/s = 250 Gb/s; 30 Gb/s usable per edge.
    paris, lyon = plan.sites
    assert paris.peak_gbps == Decimal("175.0") and paris.edges_for_peak == 6  # 5.83
    assert lyon.peak_gbps == Decimal("75.0") and lyon.edges_for_peak == 3  # 2.5
    assert (paris.edges, lyon.edges, plan.total_edges) == (8, 5, 13)
    assert paris.utilisation == Decimal("175.0") / (8 * 40)


def test_an_exact_fit_needs_no_extra_edge() -> None:
    plan = plan_capacity(
        subscribers=1000,
        peak_concurrency="0.1",
        bitrate_mbps="700",
        edge_gbps="10",
        headroom="0.3",
        spare_edges=0,
    )
    # 100 streams x 700 Mb/s = 70 Gb/s = exactly 10 edges at 7 Gb/s.
    assert plan.sites[0].edges_for_peak == 10


def test_even_a_tiny_site_has_one_edge_for_its_peak() -> None:
    plan = plan_capacity(
        subscribers=10, peak_concurrency="0.1", bitrate_mbps="1", edge_gbps="100", spare_edges=0
    )
    assert plan.sites[0].edges_for_peak == 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("paris=0.5,lyon=0.4", "add up to 1"),
        ("paris=0.5,paris=0.5", "listed twice"),
        ("paris", "expected site=share"),
        ("Paris=1", "expected site=share"),
        ("paris=abc", "not a number"),
        ("paris=0,lyon=1", "above 0"),
        ("", "no site"),
    ],
)
def test_bad_site_shares_are_refused(spec: str, message: str) -> None:
    with pytest.raises(InvalidCapacityPlan, match=message):
        parse_site_shares(spec)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"peak_concurrency": "1.5"}, "peak concurrency"),
        ({"subscribers": 0}, "subscribers"),
        ({"edge_gbps": "0"}, "positive"),
        ({"headroom": "1"}, "headroom"),
        ({"spare_edges": -1}, "spare"),
    ],
)
def test_impossible_plans_are_refused(changes: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "subscribers": 100,
        "peak_concurrency": "0.05",
        "bitrate_mbps": "5",
        "edge_gbps": "10",
        **changes,
    }
    with pytest.raises(InvalidCapacityPlan, match=message):
        plan_capacity(**arguments)  # type: ignore[arg-type]


def test_the_printed_plan_shows_the_arithmetic() -> None:
    text = format_plan(
        plan_capacity(
            subscribers=5_000_000,
            peak_concurrency="0.045",
            bitrate_mbps="4.5",
            edge_gbps="100",
            sites=parse_site_shares("paris=0.6,lyon=0.4"),
        )
    )
    assert "peak concurrency   4.5 % = 225,000 streams" in text
    assert "peak traffic       1,012.5 Gb/s = 1.01 Tb/s" in text
    # Paris: 607.5 Gb/s / 70 = 8.68 -> 9 + 1 spare; Lyon: 405 / 70 = 5.79 -> 6 + 1.
    assert text.splitlines()[-3].split() == ["paris", "60", "%", "607.5", "9", "10", "61", "%"]
    assert text.splitlines()[-1].split() == ["total", "100", "%", "1,012.5", "15", "17"]


PARIS = "Europe/Paris"


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        # 20:00 UTC in winter is 21:00 in Paris: tonight's window, 02:00-06:00 = 01:00-05:00Z.
        (datetime(2026, 1, 15, 20, 0, tzinfo=UTC), "2026-01-16T01:00", "2026-01-16T05:00"),
        # Inside the window: the running one.
        (datetime(2026, 1, 16, 3, 0, tzinfo=UTC), "2026-01-16T01:00", "2026-01-16T05:00"),
        # Just as it ends: the next night's.
        (datetime(2026, 1, 16, 5, 0, tzinfo=UTC), "2026-01-17T01:00", "2026-01-17T05:00"),
        # Summer time: 02:00 in Paris is 00:00Z.
        (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), "2026-07-02T00:00", "2026-07-02T04:00"),
    ],
)
def test_the_fill_window_is_the_running_or_next_one(now: datetime, start: str, end: str) -> None:
    window = parse_fill_window("02:00-06:00", PARIS)
    found = window.occurrence(now)
    assert found == (
        datetime.fromisoformat(start + "+00:00"),
        datetime.fromisoformat(end + "+00:00"),
    )


def test_a_window_across_midnight_ends_the_next_day() -> None:
    window = parse_fill_window("23:30-05:00", PARIS)
    assert (window.start, window.end) == (time(23, 30), time(5, 0))
    start, end = window.occurrence(datetime(2026, 1, 16, 1, 0, tzinfo=UTC))  # 02:00 Paris
    assert start == datetime(2026, 1, 15, 22, 30, tzinfo=UTC)
    assert end == datetime(2026, 1, 16, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "zone", "message"),
    [
        ("2:00-6:00", PARIS, "HH:MM-HH:MM"),
        ("02:00-24:00", PARIS, "HH:MM-HH:MM"),
        ("02:00", PARIS, "HH:MM-HH:MM"),
        ("03:00-03:00", PARIS, "same time"),
        ("02:00-06:00", "Mars/Olympus", "unknown time zone"),
    ],
)
def test_bad_fill_windows_are_refused(text: str, zone: str, message: str) -> None:
    with pytest.raises(InvalidFillWindow, match=message):
        parse_fill_window(text, zone)


def test_history_lists_each_day_oldest_first_with_zeros() -> None:
    plays = {date(2026, 1, 15): 5, date(2026, 1, 13): 2, date(2026, 1, 1): 99}
    assert history(plays, today=date(2026, 1, 15), days=4) == [0, 2, 0, 5]


def test_a_fill_plan_states_its_window_and_bandwidth_budget() -> None:
    window = parse_fill_window("02:00-06:00", PARIS)
    start, end = window.occurrence(datetime(2026, 1, 15, 20, 0, tzinfo=UTC))
    item = FillItem("t1", 2.5, 1000, "p0", "tok", ["/titles/t1/manifest.mpd"])
    plan = FillPlan("paris", start, window, start, end, 800.0, 5000, [item])
    # 800 Mb/s for 4 hours = 100 MB/s x 14,400 s.
    assert plan.window_bytes == 1_440_000_000_000
    body = plan.to_json()
    assert body["window"] == {"start": "02:00", "end": "06:00", "timezone": PARIS}
    assert body["items"] == [
        {
            "title_id": "t1",
            "score": 2.5,
            "bytes": 1000,
            "edge": "p0",
            "token": "tok",
            "paths": ["/titles/t1/manifest.mpd"],
        }
    ]


def test_fill_order_takes_the_best_titles_that_fit() -> None:
    today = date(2026, 1, 15)
    demands = [
        popularity.TitleDemand("hit", [50, 60, 80]),
        popularity.TitleDemand("fading", [90, 10, 1]),
        popularity.TitleDemand("new", [0, 0, 10], first_available=date(2026, 1, 14)),
        popularity.TitleDemand("premiere", [0, 0, 0], opens_tomorrow=True),
        popularity.TitleDemand("forgotten", [0, 0, 0]),
    ]
    scores = popularity.predicted_demand(demands, today=today)
    sizes = {"hit": 40, "fading": 40, "new": 40, "premiere": 40, "forgotten": 1}
    order = popularity.fill_order(scores, sizes=sizes, capacity_bytes=120)
    # hit 80 + 60/√2 + 50/2 = 147; fading 53; new 10 x 3 (released yesterday) = 30; the
    # premiere borrows the score of the third title with history (30): the tie goes by id.
    assert order == ["hit", "fading", "new"]
    assert scores["premiere"] == scores["new"]
    assert "forgotten" not in popularity.fill_order(scores, sizes=sizes, capacity_bytes=10**6)
