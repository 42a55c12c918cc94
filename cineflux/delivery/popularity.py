"""Tomorrow's demand for each title, predicted from what is known tonight: pure.

Proactive fill (the nightly plan per site) and ``bench/cdn_sim.py`` both rank titles with
this, so the simulation measures the very model that the control plane runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class TitleDemand:
    """What is known of one title tonight, in one territory or site."""

    title_id: str
    daily_plays: Sequence[int]  # plays on each of the last days, the most recent (today) last
    first_available: date | None = None  # the day it became watchable there
    opens_tomorrow: bool = False  # a rights window opens tomorrow: no history yet


@dataclass(frozen=True)
class PopularityModel:
    """Tunables of the prediction; the defaults are the ones ``bench/cdn_sim.py`` chose."""

    half_life_days: float = 2.0
    new_release_days: int = 7
    new_release_boost: float = 3.0
    # Titles with no history yet (a window opening tomorrow) are given the demand of a
    # title at this rank among those with history.
    opening_rank: int = 20


DEFAULT_MODEL = PopularityModel()


def decayed_plays(daily_plays: Sequence[int], half_life_days: float) -> float:
    """Plays weighted by age: today's count fully, each older day less, by half-life."""
    decay = 0.5 ** (1.0 / half_life_days)
    total = 0.0
    weight = 1.0
    for plays in reversed(daily_plays):
        total += plays * weight
        weight *= decay
    return total


def predicted_demand(
    demands: Iterable[TitleDemand], *, today: date, model: PopularityModel = DEFAULT_MODEL
) -> dict[str, float]:
    """A score per title, proportional to the plays expected tomorrow."""
    demands = list(demands)
    scores: dict[str, float] = {}
    for demand in demands:
        score = decayed_plays(demand.daily_plays, model.half_life_days)
        if demand.first_available is not None:
            age = (today - demand.first_available).days
            if 0 <= age < model.new_release_days:
                score *= model.new_release_boost
        scores[demand.title_id] = score
    known = sorted((s for s in scores.values() if s > 0), reverse=True)
    opening_score = known[min(model.opening_rank, len(known)) - 1] if known else 1.0
    for demand in demands:
        if demand.opens_tomorrow and not any(demand.daily_plays):
            scores[demand.title_id] = max(scores[demand.title_id], opening_score)
    return scores


def fill_order(
    scores: Mapping[str, float], *, sizes: Mapping[str, int], capacity_bytes: int
) -> list[str]:
    """Titles to hold, best first, as many as fit in ``capacity_bytes`` (ties by id)."""
    # Two stable sorts with C-level keys (by id, then by score, descending, which keeps
    # the id order among equals): a site's plan ranks tens of thousands of renditions.
    ranked = sorted(
        sorted(t for t, s in scores.items() if s > 0), key=scores.__getitem__, reverse=True
    )
    chosen: list[str] = []
    used = 0
    for title_id in ranked:
        size = sizes.get(title_id, 0)
        if size <= 0 or used + size > capacity_bytes:
            continue
        chosen.append(title_id)
        used += size
    return chosen
