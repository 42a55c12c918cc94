"""The pieces of ``bench/cdn_sim.py``: Belady and LRU on traces checked by hand, and the
properties the trace generator promises (partial viewing, diurnal load, churn)."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from cineflux.edge.eviction import LeastRecentlyUsed, make_policy


def load_bench() -> ModuleType:
    path = Path(__file__).parents[2] / "bench" / "cdn_sim.py"
    spec = importlib.util.spec_from_file_location("cdn_sim", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["cdn_sim"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


sim = load_bench()
A, B, C = 1, 2, 3


def hit_positions(flags: bytearray) -> list[int]:
    return [index for index, flag in enumerate(flags) if flag]


def test_next_uses_points_at_the_following_request_of_the_same_object() -> None:
    following = sim.next_uses(np.array([A, B, A, C, A, B]))
    assert following.tolist() == [2, 5, 4, 6, 6, 6]


def test_belady_keeps_the_object_used_soonest_and_bypasses_the_farthest() -> None:
    # Two slots, a b c a b c: MIN stores a and b, bypasses c (used last), hits a and b.
    hits = sim.replay_belady([A, B, C, A, B, C], [1] * 6, capacity=2)
    assert hit_positions(hits) == [3, 4]


def test_belady_beats_lru_where_recency_misleads() -> None:
    trace = [A, B, A, C, A, B]
    belady = sim.replay_belady(trace, [1] * 6, capacity=2)
    lru, _ = sim.replay_policy(trace, [1] * 6, 2, LeastRecentlyUsed())
    assert hit_positions(belady) == [2, 4, 5]  # c is bypassed: a and b stay
    assert hit_positions(lru) == [2, 4]  # c pushed b out


def test_lru_cycles_through_a_loop_one_larger_than_the_cache() -> None:
    hits, _ = sim.replay_policy([A, B, C] * 3, [1] * 9, 2, LeastRecentlyUsed())
    assert hit_positions(hits) == []


def test_replay_respects_sizes_in_bytes() -> None:
    # a (2 bytes) and b (2 bytes) do not both fit in 3: every request misses.
    hits, _ = sim.replay_policy([A, B, A, B], [2, 2, 2, 2], 3, make_policy("lru"))
    assert hit_positions(hits) == []
    hits, _ = sim.replay_policy([A, B, A, B], [2, 2, 2, 2], 4, make_policy("lru"))
    assert hit_positions(hits) == [2, 3]


@pytest.fixture(scope="module")
def small() -> tuple[object, object, object]:
    scenario = replace(sim.Scenario(), subscribers=300_000, days=2, history_days=3)
    catalogue = sim.build_catalogue(scenario, np.random.default_rng(scenario.seed))
    trace = sim.site_trace(catalogue, scenario, 0, 300_000, seed=3)
    return scenario, catalogue, trace


def test_trace_is_in_time_order_and_covers_the_days(small: tuple[object, ...]) -> None:
    scenario, _, trace = small
    assert np.all(np.diff(trace.times) >= 0)
    assert trace.times[0] >= 0
    assert np.all(trace.served <= trace.sizes)
    assert trace.plays.shape[0] == scenario.history_days + scenario.days


def test_early_slices_are_requested_more_than_late_ones(small: tuple[object, ...]) -> None:
    _, _, trace = small
    slice_index = trace.objects % sim.MAX_SLICES
    assert (slice_index == 0).sum() > 1.3 * (slice_index == 3).sum()


def test_load_peaks_in_the_evening(small: tuple[object, ...]) -> None:
    _, _, trace = small
    hours = (trace.times % sim.DAY) // 3600
    assert (hours == sim.PEAK_HOUR).sum() > 5 * (hours == 4).sum()


def test_popularity_is_skewed(small: tuple[object, ...]) -> None:
    _, catalogue, trace = small
    plays = np.sort(trace.plays[-1])[::-1]
    top_tenth = plays[: catalogue.titles // 10].sum()
    assert top_tenth > 0.4 * plays.sum()


def test_catalogue_churns_daily(small: tuple[object, ...]) -> None:
    scenario, catalogue, _ = small
    # About 3 films and a season arrive, and as many works leave, each day (last 30 days).
    arrivals = ((catalogue.work_arrival >= -30) & (catalogue.work_arrival < 0)).sum()
    departures = ((catalogue.work_departure >= -30) & (catalogue.work_departure < 0)).sum()
    assert 60 < arrivals < 180 and 60 < departures < 180
    today = sim.title_weights(catalogue, scenario, 0, 0)
    gone = catalogue.work_departure[catalogue.work_of_title] <= 0
    assert np.all(today[gone] == 0)


def test_sites_share_five_million_subscribers_with_paris_largest() -> None:
    scenario = sim.Scenario()
    subscribers = sim.site_subscribers(scenario)
    assert len(subscribers) >= 20
    assert abs(int(subscribers.sum()) - 5_000_000) <= len(subscribers)
    assert subscribers[0] == subscribers.max() > 2 * subscribers[1]


def test_nightly_fill_turns_first_requests_into_hits() -> None:
    scenario = replace(sim.Scenario(), subscribers=200_000, days=2, history_days=3)
    runs = [sim.Run("lru", 1.0), sim.Run("fill:rendition,pinned+lru", 1.0)]
    result = sim.run_site((scenario, 20, runs, sim.DEFAULT_MODEL))
    reactive, filled = (result["runs"][run.key] for run in runs)
    assert filled["hit_bytes"] > reactive["hit_bytes"]
    assert filled["fill_bytes"] > 0
