""" "Continue watching" and the next episode, on the real database with an injected clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session

from cineflux.catalog import service as catalog
from cineflux.catalog.flows import Viewer
from cineflux.catalog.models import Title
from cineflux.clock import FrozenClock
from cineflux.config import Settings
from cineflux.playback.flows import (
    PlaybackContext,
    PlaybackStart,
    PlayRequest,
    renew_playback,
    start_playback,
    stop_playback,
)
from cineflux.playback.service import Device
from cineflux.profiles import flows as watching
from cineflux.profiles import service as profiles
from cineflux.rights import service as rights
from tests.factories import grant, make_title
from tests.playback_helpers import Subscriber, packaged, playable_film, second_profile, subscriber

BROWSER = Device(codecs=("avc1.64001e", "mp4a.40.2"), max_height=1080)


@pytest.fixture
def viewer(db: Session, clock: FrozenClock, settings: Settings) -> Subscriber:
    return subscriber(db, clock, settings)


def series_of(
    db: Session, clock: FrozenClock, settings: Settings, name: str, seasons: tuple[int, ...]
) -> list[Title]:
    """A licensed series whose seasons have these numbers of packaged episodes, in order."""
    series = make_title(db, clock, name, kind="series")
    episodes = []
    for season_number, count in enumerate(seasons, start=1):
        season = make_title(
            db, clock, f"{name} S{season_number}", kind="season", parent_id=series.id,
            number=season_number,
        )  # fmt: skip
        for number in range(1, count + 1):
            episode = make_title(
                db, clock, f"{name} {season_number}x{number}", kind="episode",
                parent_id=season.id, number=number,
            )  # fmt: skip
            packaged(db, episode)
            episodes.append(episode)
    grant(db, clock, series, policy=rights.rights_policy(db, settings.platform_profile))
    return episodes


def watch(
    db: Session, clock: FrozenClock, viewer: Subscriber, title: Title, position: float,
    *, profile_id: str | None = None,
) -> None:  # fmt: skip
    """The profile got to ``position`` of a 600-second title, a minute after the last one."""
    clock.advance(timedelta(minutes=1))
    profiles.record_progress(
        db, clock=clock, user_id=viewer.user_id, profile_id=profile_id or viewer.profile_id,
        title_id=title.id, position_seconds=position, duration_seconds=600.0,
        credits_start_seconds=title.credits_start_seconds,
    )  # fmt: skip


def row(
    db: Session, clock: FrozenClock, viewer: Subscriber, *, profile_id: str | None = None,
    max_age: int | None = None,
) -> list[watching.ResumeCard]:  # fmt: skip
    return watching.continue_watching(
        db, Viewer("FR", clock.now(), max_age=max_age),
        user_id=viewer.user_id, profile_id=profile_id or viewer.profile_id,
    )  # fmt: skip


def test_titles_in_progress_come_most_recently_watched_first_with_their_progress(
    db: Session, clock: FrozenClock, settings: Settings, viewer: Subscriber
) -> None:
    first = playable_film(db, clock, settings, "Premier")
    second = playable_film(db, clock, settings, "Second")
    watch(db, clock, viewer, first, 300.0)
    watch(db, clock, viewer, second, 120.0)
    cards = row(db, clock, viewer)
    assert [c.name for c in cards] == ["Second", "Premier"]
    assert cards[1].position_seconds == 300.0 and cards[1].progress == 0.5
    watch(db, clock, viewer, first, 310.0)
    assert [c.name for c in row(db, clock, viewer)] == ["Premier", "Second"]


def test_a_glance_is_not_in_progress_and_a_finished_film_leaves_the_row(
    db: Session, clock: FrozenClock, settings: Settings, viewer: Subscriber
) -> None:
    glanced = playable_film(db, clock, settings, "Coup d'œil")
    film = playable_film(db, clock, settings, "Fini")
    watch(db, clock, viewer, glanced, 5.0)
    watch(db, clock, viewer, film, 400.0)
    assert [c.name for c in row(db, clock, viewer)] == ["Fini"]
    watch(db, clock, viewer, film, 571.0)  # past 95 %
    assert row(db, clock, viewer) == []


def test_a_film_is_finished_once_its_credits_start(
    db: Session, clock: FrozenClock, settings: Settings, viewer: Subscriber
) -> None:
    film = playable_film(db, clock, settings, "Générique")
    catalog.set_credits_start(db, film.id, 540.0)
    watch(db, clock, viewer, film, 539.0)
    assert [c.title_id for c in row(db, clock, viewer)] == [film.id]
    watch(db, clock, viewer, film, 540.0)
    assert row(db, clock, viewer) == []


def test_a_series_shows_the_episode_to_resume_once(
    db: Session, clock: FrozenClock, settings: Settings, viewer: Subscriber
) -> None:
    e1, e2, _e3 = series_of(db, clock, settings, "Série", (3,))
    watch(db, clock, viewer, e1, 580.0)
    watch(db, clock, viewer, e2, 200.0)
    [card] = row(db, clock, viewer)
    assert (card.title_id, card.name, card.season, card.number) == (e2.id, "Série", 1, 2)
    assert card.episode_name == "Série 1x2" and card.position_seconds == 200.0
    assert not card.up_next


def test_a_completed_episode_brings_the_next_one_across_seasons(
    db: Session, clock: FrozenClock, settings: Settings, viewer: Subscriber
) -> None:
    _e1, e2, s2e1 = series_of(db, clock, settings, "Saga", (2, 1))
    watch(db, clock, viewer, e2, 590.0)
    [card] = row(db, clock, viewer)
    assert (card.title_id, card.season, card.number) == (s2e1.id, 2, 1)
    assert card.up_next and card.position_seconds == 0.0 and card.progress == 0.0
    # A glance at the next episode leaves it offered from where the row says.
    watch(db, clock, viewer, s2e1, 4.0)
    assert [c.title_id for c in row(db, clock, viewer)] == [s2e1.id]


def test_the_last_episode_of_a_series_completed_takes_the_series_out(
    db: Session, clock: FrozenClock, settings: Settings, viewer: Subscriber
) -> None:
    e1, e2 = series_of(db, clock, settings, "Courte", (2,))
    watch(db, clock, viewer, e1, 300.0)
    watch(db, clock, viewer, e2, 599.0)
    assert row(db, clock, viewer) == []


def test_the_row_keeps_to_the_profiles_age_limit_and_to_rights_here_and_now(
    db: Session, clock: FrozenClock, settings: Settings, viewer: Subscriber
) -> None:
    adult = playable_film(db, clock, settings, "Thriller", rating="16")
    family = playable_film(db, clock, settings, "Famille")
    belgian = make_title(db, clock, "Belge")
    grant(db, clock, belgian, "BE", policy=rights.rights_policy(db, settings.platform_profile))
    packaged(db, belgian)
    for title in (adult, family, belgian):
        watch(db, clock, viewer, title, 300.0)
    assert [c.name for c in row(db, clock, viewer)] == ["Famille", "Thriller"]
    assert [c.name for c in row(db, clock, viewer, max_age=12)] == ["Famille"]


def test_another_profiles_progress_is_not_shown(
    db: Session, clock: FrozenClock, settings: Settings, viewer: Subscriber
) -> None:
    film = playable_film(db, clock, settings, "Le mien")
    other = second_profile(db, clock, viewer, name="Léo")
    watch(db, clock, viewer, film, 300.0, profile_id=other.id)
    assert row(db, clock, viewer) == []
    assert [c.name for c in row(db, clock, viewer, profile_id=other.id)] == ["Le mien"]
    with pytest.raises(profiles.ProfileNotFound):
        row(db, clock, subscriber(db, clock, settings, "b@example.org"), profile_id=other.id)


def test_removing_an_episode_takes_its_whole_series_out_of_the_row(
    db: Session, clock: FrozenClock, settings: Settings, viewer: Subscriber
) -> None:
    e1, e2, _e3 = series_of(db, clock, settings, "Retirée", (3,))
    film = playable_film(db, clock, settings, "Reste")
    watch(db, clock, viewer, film, 200.0)
    watch(db, clock, viewer, e1, 590.0)
    watch(db, clock, viewer, e2, 100.0)
    assert [c.title_id for c in row(db, clock, viewer)] == [e2.id, film.id]
    watching.remove_from_continue_watching(
        db, user_id=viewer.user_id, profile_id=viewer.profile_id, title_id=e2.id
    )
    assert [c.title_id for c in row(db, clock, viewer)] == [film.id]


@pytest.fixture
def ctx(settings: Settings, clock: FrozenClock) -> PlaybackContext:
    settings.edge_token_keys = SecretStr("k1:" + "s" * 32)
    return PlaybackContext.from_settings(settings, clock=clock, signing_key=b"x" * 32)


def test_a_play_of_an_episode_names_the_next_one_and_when_to_offer_it(
    db: Session, ctx: PlaybackContext, clock: FrozenClock, settings: Settings, viewer: Subscriber
) -> None:
    e1, e2, s2e1 = series_of(db, clock, settings, "Suite", (2, 1))
    catalog.set_credits_start(db, e2.id, 550.0)

    def start(title: Title) -> PlaybackStart:
        request = PlayRequest(viewer.user_id, title.id, viewer.profile_id, BROWSER, None)
        return start_playback(db, ctx=ctx, request=request)

    first = start(e1)
    assert first.next_episode is not None
    assert (first.next_episode.title_id, first.next_episode.season) == (e2.id, 1)
    assert first.next_episode.offer_at_seconds == 580.0  # 20 s before the end
    stop_playback(db, ctx=ctx, user_id=viewer.user_id, session_id=first.session.id)
    second = start(e2)
    assert second.credits_start_seconds == 550.0
    assert second.next_episode is not None and second.next_episode.title_id == s2e1.id
    assert second.next_episode.offer_at_seconds == 550.0
    # A heartbeat past the credits completes the episode: the row offers the next one.
    clock.advance(timedelta(seconds=30))
    renew_playback(
        db, ctx=ctx, user_id=viewer.user_id, session_id=second.session.id, position_seconds=551
    )
    assert [c.title_id for c in row(db, clock, viewer)] == [s2e1.id]
    stop_playback(db, ctx=ctx, user_id=viewer.user_id, session_id=second.session.id)
    assert start(s2e1).next_episode is None  # the series' last episode


def test_a_film_has_no_next_episode(
    db: Session, ctx: PlaybackContext, clock: FrozenClock, settings: Settings, viewer: Subscriber
) -> None:
    film = playable_film(db, clock, settings)
    request = PlayRequest(viewer.user_id, film.id, viewer.profile_id, BROWSER, None)
    assert start_playback(db, ctx=ctx, request=request).next_episode is None


def test_credits_start_is_set_on_films_and_episodes_only(
    db: Session, clock: FrozenClock, settings: Settings
) -> None:
    film = make_title(db, clock, "Film")
    assert catalog.set_credits_start(db, film.id, 5412.5).credits_start_seconds == 5412.5
    assert catalog.set_credits_start(db, film.id, None).credits_start_seconds is None
    with pytest.raises(catalog.InvalidTitle):
        catalog.set_credits_start(db, film.id, -1.0)
    with pytest.raises(catalog.InvalidTitle):
        catalog.set_credits_start(db, make_title(db, clock, "S", kind="series").id, 60.0)
    assert catalog.parse_position("1:30:12.5") == 5412.5
    assert catalog.parse_position("2:05") == 125.0
    with pytest.raises(catalog.InvalidTitle):
        catalog.parse_position("1:-2")
