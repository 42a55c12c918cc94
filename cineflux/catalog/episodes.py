"""Pure order of a series' episodes: which one follows another."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class EpisodeRef:
    """An episode by its place in the series: season number, episode number."""

    title_id: str
    season: int | None
    number: int | None


def _place(episode: EpisodeRef) -> tuple[bool, int, bool, int, str]:
    # Unnumbered seasons and episodes come after numbered ones; the id breaks ties stably.
    return (
        episode.season is None,
        episode.season or 0,
        episode.number is None,
        episode.number or 0,
        episode.title_id,
    )


def following_episode(current: EpisodeRef, episodes: Iterable[EpisodeRef]) -> EpisodeRef | None:
    """The episode after ``current``: the next number in its season, else the first episode
    of the next season that has one; None after the last episode of the series."""
    ordered = sorted(episodes, key=_place)
    after = [e for e in ordered if _place(e) > _place(current)]
    return after[0] if after else None
