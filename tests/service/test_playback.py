"""Authorising plays on the real database: every refusal, heartbeats, expiry, stop, resume."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from cineflux.billing import service as billing
from cineflux.catalog.models import TitlePlays
from cineflux.clock import FrozenClock
from cineflux.config import Settings
from cineflux.edge import tokens
from cineflux.playback import service as playback
from cineflux.playback.flows import (
    PlaybackContext,
    PlaybackStart,
    PlayRequest,
    renew_playback,
    start_playback,
    stop_playback,
)
from cineflux.playback.service import Device
from cineflux.profiles import service as profiles
from cineflux.rights import service as rights
from tests.factories import grant, make_title
from tests.playback_helpers import (
    Subscriber,
    packaged,
    playable_film,
    second_profile,
    subscriber,
)

BROWSER = Device(codecs=("avc1.64001e", "mp4a.40.2"), max_height=1080)
KEYS = "k1:" + "s" * 32


@pytest.fixture
def ctx(settings: Settings, clock: FrozenClock) -> PlaybackContext:
    settings.edge_token_keys = SecretStr(KEYS)
    return PlaybackContext.from_settings(settings, clock=clock, signing_key=b"x" * 32)


@pytest.fixture
def viewer(db: Session, clock: FrozenClock, settings: Settings) -> Subscriber:
    return subscriber(db, clock, settings)


def play(
    db: Session, ctx: PlaybackContext, viewer: Subscriber, title_id: str, **changes: object
) -> PlaybackStart:
    request = PlayRequest(
        user_id=viewer.user_id,
        title_id=title_id,
        profile_id=viewer.profile_id,
        device=BROWSER,
        client_ip="192.0.2.10",
    )
    for name, value in changes.items():
        object.__setattr__(request, name, value)
    return start_playback(db, ctx=ctx, request=request)


def test_a_play_answers_a_session_signed_manifests_tracks_and_the_origin(
    db: Session, ctx: PlaybackContext, viewer: Subscriber, clock: FrozenClock, settings: Settings
) -> None:
    film = playable_film(db, clock, settings)
    started = play(db, ctx, viewer, film.id)
    session_id = started.session.id
    assert 1 <= len(session_id) <= 64 and set(session_id) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    )
    assert started.base_urls == [ctx.delivery.origin_url]  # no edge registered
    assert started.manifests.dash == f"/t/{started.manifests.token}/titles/{film.id}/manifest.mpd"
    assert started.manifests.hls.endswith(f"/titles/{film.id}/master.m3u8")
    assert started.thumbnails is not None and started.thumbnails.endswith("/thumbnails.vtt")
    assert started.manifests.expires_at == clock.now() + timedelta(seconds=300)
    assert [(t.language, t.name) for t in started.audio] == [("fr", "Français"), ("en", "English")]
    assert [t.language for t in started.subtitles] == ["fr"]
    assert started.heights == [234, 360]
    assert started.resume_position_seconds == 0.0
    assert started.policy.heartbeat_seconds == 30


def test_the_token_opens_this_titles_package_only_for_its_lifetime(
    db: Session, ctx: PlaybackContext, viewer: Subscriber, clock: FrozenClock, settings: Settings
) -> None:
    film = playable_film(db, clock, settings)
    other = playable_film(db, clock, settings, "Autre")
    started = play(db, ctx, viewer, film.id)
    token = started.manifests.token
    keys = tokens.parse_keys(KEYS)
    now = clock.now().timestamp()
    claims = tokens.verify_token(
        token, keys=keys, path=f"/titles/{film.id}/video/seg-00001.m4s", now=now
    )
    assert claims.session_id == started.session.id
    assert claims.path_prefix == f"/titles/{film.id}/"
    with pytest.raises(tokens.OutsidePrefix):
        tokens.verify_token(token, keys=keys, path=f"/titles/{other.id}/manifest.mpd", now=now)
    with pytest.raises(tokens.TokenExpired):
        tokens.verify_token(token, keys=keys, path=f"/titles/{film.id}/manifest.mpd", now=now + 300)


def test_heartbeats_renew_the_token_save_the_position_and_count_the_play_once(
    db: Session, ctx: PlaybackContext, viewer: Subscriber, clock: FrozenClock, settings: Settings
) -> None:
    film = playable_film(db, clock, settings)
    started = play(db, ctx, viewer, film.id)
    for position in (30.0, 60.0):
        clock.advance(timedelta(seconds=30))
        renewal = renew_playback(
            db, ctx=ctx, user_id=viewer.user_id, session_id=started.session.id,
            position_seconds=position,
        )  # fmt: skip
    assert renewal.manifests.expires_at == clock.now() + timedelta(seconds=300)
    assert renewal.manifests.token != started.manifests.token
    tokens.verify_token(
        renewal.manifests.token,
        keys=tokens.parse_keys(KEYS),
        path=f"/titles/{film.id}/manifest.mpd",
        now=(clock.now() + timedelta(seconds=299)).timestamp(),
    )
    entry = profiles.progress_of(
        db, user_id=viewer.user_id, profile_id=viewer.profile_id, title_id=film.id
    )
    assert entry is not None and entry.position_seconds == 60.0
    assert db.scalars(select(TitlePlays.plays).where(TitlePlays.title_id == film.id)).all() == [1]
    # The next play of the title resumes where the profile stopped.
    stop_playback(db, ctx=ctx, user_id=viewer.user_id, session_id=started.session.id)
    assert play(db, ctx, viewer, film.id).resume_position_seconds == 60.0


def test_a_title_watched_to_the_end_starts_again_from_the_beginning(
    db: Session, ctx: PlaybackContext, viewer: Subscriber, clock: FrozenClock, settings: Settings
) -> None:
    film = playable_film(db, clock, settings)
    started = play(db, ctx, viewer, film.id)
    stop_playback(
        db, ctx=ctx, user_id=viewer.user_id, session_id=started.session.id, position_seconds=599
    )
    assert play(db, ctx, viewer, film.id).resume_position_seconds == 0.0


def test_a_session_without_heartbeat_for_90_seconds_no_longer_counts(
    db: Session, ctx: PlaybackContext, clock: FrozenClock, settings: Settings
) -> None:
    viewer = subscriber(db, clock, settings, "solo@example.org", plan="essentiel")
    film = playable_film(db, clock, settings)
    first = play(db, ctx, viewer, film.id)
    clock.advance(timedelta(seconds=89))
    with pytest.raises(playback.StreamLimitReached):
        play(db, ctx, viewer, film.id)
    clock.advance(timedelta(seconds=1))
    second = play(db, ctx, viewer, film.id)
    assert [s.id for s in playback.active_sessions(
        db, user_id=viewer.user_id, now=clock.now(), policy=ctx.policy
    )] == [second.session.id]  # fmt: skip
    # The lapsed session cannot come back: its place may be taken.
    with pytest.raises(playback.PlaybackSessionEnded):
        renew_playback(
            db, ctx=ctx, user_id=viewer.user_id, session_id=first.session.id, position_seconds=5
        )


def test_heartbeats_keep_a_session_counting_past_90_seconds(
    db: Session, ctx: PlaybackContext, clock: FrozenClock, settings: Settings
) -> None:
    viewer = subscriber(db, clock, settings, "solo@example.org", plan="essentiel")
    film = playable_film(db, clock, settings)
    first = play(db, ctx, viewer, film.id)
    for _ in range(4):
        clock.advance(timedelta(seconds=30))
        renew_playback(
            db, ctx=ctx, user_id=viewer.user_id, session_id=first.session.id, position_seconds=1
        )
    clock.advance(timedelta(seconds=60))
    with pytest.raises(playback.StreamLimitReached, match="1 stream at once"):
        play(db, ctx, viewer, film.id)


def test_stopping_frees_the_stream_at_once_and_ends_the_session(
    db: Session, ctx: PlaybackContext, clock: FrozenClock, settings: Settings
) -> None:
    viewer = subscriber(db, clock, settings, "solo@example.org", plan="essentiel")
    film = playable_film(db, clock, settings)
    first = play(db, ctx, viewer, film.id)
    stop_playback(db, ctx=ctx, user_id=viewer.user_id, session_id=first.session.id)
    stop_playback(db, ctx=ctx, user_id=viewer.user_id, session_id=first.session.id)  # idempotent
    play(db, ctx, viewer, film.id)
    with pytest.raises(playback.PlaybackSessionEnded):
        renew_playback(
            db, ctx=ctx, user_id=viewer.user_id, session_id=first.session.id, position_seconds=1
        )


def test_another_accounts_session_is_unknown(
    db: Session, ctx: PlaybackContext, viewer: Subscriber, clock: FrozenClock, settings: Settings
) -> None:
    film = playable_film(db, clock, settings)
    started = play(db, ctx, viewer, film.id)
    stranger = subscriber(db, clock, settings, "stranger@example.org")
    with pytest.raises(playback.PlaybackSessionNotFound):
        stop_playback(db, ctx=ctx, user_id=stranger.user_id, session_id=started.session.id)
    with pytest.raises(playback.PlaybackSessionNotFound):
        renew_playback(
            db, ctx=ctx, user_id=stranger.user_id, session_id=started.session.id,
            position_seconds=1,
        )  # fmt: skip


# --- Refusals ---


def test_an_account_without_subscription_is_refused(
    db: Session, ctx: PlaybackContext, clock: FrozenClock, settings: Settings
) -> None:
    from cineflux.accounts import service as accounts

    user = accounts.create_user(db, clock=clock, email="free@example.org", password="p" * 12)
    profile = profiles.ensure_first_profile(db, clock=clock, user_id=user.id, name="Free")
    film = playable_film(db, clock, settings)
    viewer = Subscriber(user.id, user.email, profile.id)
    with pytest.raises(playback.SubscriptionRequired, match="/plans"):
        play(db, ctx, viewer, film.id)


def test_past_due_plays_during_the_grace_period_and_is_refused_after_it(
    db: Session, ctx: PlaybackContext, viewer: Subscriber, clock: FrozenClock, settings: Settings
) -> None:
    film = playable_film(db, clock, settings)
    subscription = billing.live_subscription(db, user_id=viewer.user_id)
    assert subscription is not None
    subscription.state = "past_due"
    subscription.past_due_since = clock.now()
    db.flush()
    clock.advance(timedelta(days=13, hours=23))
    started = play(db, ctx, viewer, film.id)
    stop_playback(db, ctx=ctx, user_id=viewer.user_id, session_id=started.session.id)
    clock.advance(timedelta(hours=1))  # 14 days: dunning is over
    with pytest.raises(playback.PaymentOverdue, match="update the card"):
        play(db, ctx, viewer, film.id)


def test_a_lapsed_subscription_gets_no_new_token(
    db: Session, ctx: PlaybackContext, viewer: Subscriber, clock: FrozenClock, settings: Settings
) -> None:
    film = playable_film(db, clock, settings)
    started = play(db, ctx, viewer, film.id)
    subscription = billing.live_subscription(db, user_id=viewer.user_id)
    assert subscription is not None
    subscription.state = "past_due"
    subscription.past_due_since = clock.now() - timedelta(days=15)
    db.flush()
    clock.advance(timedelta(seconds=30))
    with pytest.raises(playback.PaymentOverdue):
        renew_playback(
            db, ctx=ctx, user_id=viewer.user_id, session_id=started.session.id, position_seconds=30
        )


def test_a_title_not_licensed_in_the_viewers_territory_is_refused(
    db: Session, ctx: PlaybackContext, viewer: Subscriber, clock: FrozenClock, settings: Settings
) -> None:
    film = make_title(db, clock, "Ailleurs")
    grant(db, clock, film, "DE", policy=rights.rights_policy(db, settings.platform_profile))
    packaged(db, film)
    with pytest.raises(playback.NotAvailableHere):
        play(db, ctx, viewer, film.id)


def test_eu_portability_plays_the_home_catalogue(
    db: Session, ctx: PlaybackContext, viewer: Subscriber, clock: FrozenClock, settings: Settings
) -> None:
    film = make_title(db, clock, "Heimat")
    grant(db, clock, film, "DE", policy=rights.rights_policy(db, settings.platform_profile))
    packaged(db, film)
    # A German subscriber travelling in France (where GeoIP places nobody here: FR) keeps
    # the German catalogue, once the home country is verified.
    started = play(db, ctx, viewer, film.id, home_country="DE", home_country_verified=True)
    assert started.session.play.territory == "DE"
    with pytest.raises(playback.NotAvailableHere):
        play(db, ctx, viewer, film.id, home_country="DE", home_country_verified=False)


def test_a_title_above_the_profiles_limit_is_refused(
    db: Session, ctx: PlaybackContext, viewer: Subscriber, clock: FrozenClock, settings: Settings
) -> None:
    film = playable_film(db, clock, settings, "Ados", rating="16")
    kid = second_profile(db, clock, viewer, name="Léo", max_rating="12")
    with pytest.raises(playback.RatedAboveProfile, match="-16"):
        play(db, ctx, viewer, film.id, profile_id=kid.id)


def test_an_episode_takes_its_series_rating(
    db: Session, ctx: PlaybackContext, viewer: Subscriber, clock: FrozenClock, settings: Settings
) -> None:
    series = make_title(db, clock, "Série", kind="series", rating="16")
    season = make_title(db, clock, "Saison 1", kind="season", parent_id=series.id, number=1)
    episode = make_title(db, clock, "Pilote", kind="episode", parent_id=season.id, number=1)
    grant(db, clock, series, policy=rights.rights_policy(db, settings.platform_profile))
    packaged(db, episode)
    kid = second_profile(db, clock, viewer, name="Léo", max_rating="12")
    with pytest.raises(playback.RatedAboveProfile):
        play(db, ctx, viewer, episode.id, profile_id=kid.id)
    assert play(db, ctx, viewer, episode.id).session.play.title_id == episode.id
    with pytest.raises(playback.NotPlayable, match="episode"):
        play(db, ctx, viewer, season.id)


def test_a_pin_protected_profile_needs_its_pin_or_a_session_that_chose_it(
    db: Session, ctx: PlaybackContext, viewer: Subscriber, clock: FrozenClock, settings: Settings
) -> None:
    film = playable_film(db, clock, settings)
    profiles.set_pin(db, user_id=viewer.user_id, profile_id=viewer.profile_id, pin="2468")
    with pytest.raises(playback.ProfilePinRequired):
        play(db, ctx, viewer, film.id)
    with pytest.raises(profiles.WrongPin):
        play(db, ctx, viewer, film.id, pin="1111")
    assert play(db, ctx, viewer, film.id, pin="2468").session.play.profile_id == viewer.profile_id
    assert play(db, ctx, viewer, film.id, profile_unlocked=True)


def test_a_18_film_needs_the_accounts_code_in_this_session(
    db: Session, ctx: PlaybackContext, viewer: Subscriber, clock: FrozenClock, settings: Settings
) -> None:
    film = playable_film(db, clock, settings, "Nuit", rating="18")
    profiles.set_adult_code(db, clock=clock, user_id=viewer.user_id, code="7531")
    profiles.update_profile(
        db, user_id=viewer.user_id, profile_id=viewer.profile_id,
        spec=profiles.ProfileSpec(name="Ana", max_rating="18"), adult_code="7531",
    )  # fmt: skip
    with pytest.raises(profiles.AdultCodeRequired):
        play(db, ctx, viewer, film.id)
    with pytest.raises(profiles.WrongPin):
        play(db, ctx, viewer, film.id, adult_code="0000")
    assert play(db, ctx, viewer, film.id, adult_code="7531")
    assert play(db, ctx, viewer, film.id, adult_code_entered=True)


def test_a_device_that_decodes_none_of_the_renditions_is_refused(
    db: Session, ctx: PlaybackContext, viewer: Subscriber, clock: FrozenClock, settings: Settings
) -> None:
    film = make_title(db, clock, "AV1 seulement")
    grant(db, clock, film, policy=rights.rights_policy(db, settings.platform_profile))
    packaged(db, film, codecs="av01.0.04M.08")
    with pytest.raises(playback.DeviceCannotPlay, match="av01"):
        play(db, ctx, viewer, film.id)
    small_screen = Device(codecs=("av01",), max_height=240)
    assert play(db, ctx, viewer, film.id, device=small_screen).heights == [234]
    with pytest.raises(playback.InvalidPlaybackRequest):
        play(db, ctx, viewer, film.id, device=Device(codecs=()))


def test_the_plans_stream_limit_refuses_one_more(
    db: Session, ctx: PlaybackContext, viewer: Subscriber, clock: FrozenClock, settings: Settings
) -> None:
    film = playable_film(db, clock, settings)
    play(db, ctx, viewer, film.id)
    play(db, ctx, viewer, film.id)
    with pytest.raises(playback.StreamLimitReached, match="2 streams at once") as refused:
        play(db, ctx, viewer, film.id)
    assert refused.value.limit == 2
    # Another account is not affected.
    other = subscriber(db, clock, settings, "other@example.org")
    assert play(db, ctx, other, film.id)


def test_codec_families_match_across_sample_entries() -> None:
    rungs = [playback.VideoRung("hev1.1.6.L93.B0", 1080), playback.VideoRung("avc3.4d401f", 720)]
    device = Device(codecs=("hvc1", "avc1.640028"))
    hd = playback.VideoLimit.of(device, plan_resolution="HD")
    sd = playback.VideoLimit.of(device, plan_resolution="SD")
    assert playback.playable_heights(rungs, hd) == [720, 1080]
    assert playback.playable_heights(rungs, sd) == []
