"""The pure rules of watching: watched, worth resuming, next episode, when to offer it."""

from __future__ import annotations

from cineflux.catalog.episodes import EpisodeRef, following_episode
from cineflux.profiles.watching import is_started, is_watched, next_episode_offer_at


def test_a_title_is_watched_from_95_percent_of_its_length() -> None:
    assert not is_watched(949.9, 1000.0, None)
    assert is_watched(950.0, 1000.0, None)
    assert is_watched(1000.0, 1000.0, None)


def test_a_title_with_credits_is_watched_once_they_start_even_before_95_percent() -> None:
    assert not is_watched(879.0, 1000.0, 880.0)
    assert is_watched(880.0, 1000.0, 880.0)
    # Credits later than 95 % do not hold the 95 % rule back.
    assert is_watched(960.0, 1000.0, 990.0)


def test_without_a_length_or_credits_nothing_counts_as_watched() -> None:
    assert not is_watched(5000.0, None, None)
    assert is_watched(5000.0, None, 4000.0)


def test_resuming_needs_a_minute_or_2_percent_of_a_short_title() -> None:
    assert not is_started(59.0, 7200.0)
    assert is_started(60.0, 7200.0)
    assert not is_started(11.0, 600.0)  # 2 % of 10 minutes is 12 s
    assert is_started(12.0, 600.0)
    assert not is_started(30.0, None)


def test_the_next_episode_is_offered_at_the_credits_else_20_seconds_before_the_end() -> None:
    assert next_episode_offer_at(1500.0, 1380.0) == 1380.0
    assert next_episode_offer_at(1500.0, None) == 1480.0
    assert next_episode_offer_at(10.0, None) == 0.0
    assert next_episode_offer_at(None, None) is None


SERIES = [
    EpisodeRef("s2e1", 2, 1),
    EpisodeRef("s1e2", 1, 2),
    EpisodeRef("s1e1", 1, 1),
    EpisodeRef("s1e3", 1, 3),
    EpisodeRef("s3e1", 3, 1),
]


def test_the_next_episode_is_the_next_number_of_the_same_season() -> None:
    following = following_episode(EpisodeRef("s1e1", 1, 1), SERIES)
    assert following is not None and following.title_id == "s1e2"


def test_after_a_seasons_last_episode_comes_the_first_of_the_next_season() -> None:
    following = following_episode(EpisodeRef("s1e3", 1, 3), SERIES)
    assert following is not None and following.title_id == "s2e1"


def test_numbers_may_have_gaps_and_a_season_may_be_missing() -> None:
    episodes = [EpisodeRef("a", 1, 1), EpisodeRef("b", 1, 4), EpisodeRef("c", 4, 2)]
    assert following_episode(episodes[0], episodes) == episodes[1]
    assert following_episode(episodes[1], episodes) == episodes[2]


def test_the_last_episode_of_the_series_has_no_next() -> None:
    assert following_episode(EpisodeRef("s3e1", 3, 1), SERIES) is None
    assert following_episode(EpisodeRef("only", 1, 1), [EpisodeRef("only", 1, 1)]) is None
