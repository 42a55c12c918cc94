"""Popularity prediction for the nightly fill: decay, new releases, opening windows, and the
order in which a site's disk is filled."""

from __future__ import annotations

from datetime import date

import pytest

from cineflux.delivery.popularity import (
    PopularityModel,
    TitleDemand,
    decayed_plays,
    fill_order,
    predicted_demand,
)

TODAY = date(2026, 11, 27)


def test_decayed_plays_halves_the_weight_of_each_half_life() -> None:
    assert decayed_plays([0, 0, 10], half_life_days=1.0) == pytest.approx(10.0)
    assert decayed_plays([10, 0, 0], half_life_days=1.0) == pytest.approx(2.5)
    assert decayed_plays([8, 0], half_life_days=2.0) == pytest.approx(8 * 0.5**0.5)


def test_recent_plays_outrank_the_same_plays_long_ago() -> None:
    scores = predicted_demand(
        [
            TitleDemand("fading", daily_plays=[100, 0, 0, 0, 0, 0, 0]),
            TitleDemand("rising", daily_plays=[0, 0, 0, 0, 0, 0, 100]),
        ],
        today=TODAY,
    )
    assert scores["rising"] > scores["fading"] > 0


def test_a_new_release_is_boosted_for_its_first_week_only() -> None:
    model = PopularityModel(new_release_days=7, new_release_boost=3.0)
    scores = predicted_demand(
        [
            TitleDemand("catalogue", daily_plays=[10]),
            TitleDemand("new", daily_plays=[10], first_available=date(2026, 11, 25)),
            TitleDemand("last-month", daily_plays=[10], first_available=date(2026, 10, 27)),
        ],
        today=TODAY,
        model=model,
    )
    assert scores["new"] == pytest.approx(3 * scores["catalogue"])
    assert scores["last-month"] == pytest.approx(scores["catalogue"])


def test_a_title_opening_tomorrow_gets_the_demand_of_a_well_placed_title() -> None:
    known = [TitleDemand(f"t{rank}", daily_plays=[100 - rank]) for rank in range(30)]
    scores = predicted_demand(
        [*known, TitleDemand("premiere", daily_plays=[0], opens_tomorrow=True)],
        today=TODAY,
        model=PopularityModel(opening_rank=5),
    )
    assert scores["premiere"] == pytest.approx(scores["t4"])
    # Without the flag, no history means no demand.
    unflagged = predicted_demand([*known, TitleDemand("quiet", daily_plays=[0])], today=TODAY)
    assert unflagged["quiet"] == 0


def test_fill_order_takes_the_best_that_fit_and_skips_the_rest() -> None:
    scores = {"a": 9.0, "b": 8.0, "c": 7.0, "d": 0.0}
    sizes = {"a": 50, "b": 60, "c": 40, "d": 1}
    # b does not fit after a; c still does; d has no demand.
    assert fill_order(scores, sizes=sizes, capacity_bytes=100) == ["a", "c"]


def test_fill_order_breaks_ties_by_id_and_ignores_unknown_sizes() -> None:
    scores = {"z": 1.0, "m": 1.0, "a": 1.0, "nosize": 5.0}
    sizes = {"z": 1, "m": 1, "a": 1}
    assert fill_order(scores, sizes=sizes, capacity_bytes=10) == ["a", "m", "z"]
