"""The stream limit under races, on the real database with committing sessions and threads."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from cineflux.catalog import service as catalog
from cineflux.catalog.models import TitlePlays
from cineflux.db import transaction
from cineflux.platform import Platform
from cineflux.playback import service as playback
from cineflux.playback.flows import PlaybackContext, PlayRequest, start_playback
from cineflux.playback.models import PlaybackSession
from cineflux.playback.service import Device
from tests.playback_helpers import playable_film, subscriber
from tests.service.test_billing_concurrency import together


def test_fifty_plays_at_once_on_a_two_stream_plan_admit_exactly_two(platform: Platform) -> None:
    with transaction(platform.sessions) as session:
        viewer = subscriber(session, platform.clock, platform.settings, plan="standard")
        film = playable_film(session, platform.clock, platform.settings)
        film_id = film.id
    ctx = PlaybackContext.of(platform)
    request = PlayRequest(
        user_id=viewer.user_id,
        title_id=film_id,
        profile_id=viewer.profile_id,
        device=Device(codecs=("avc1",)),
        client_ip="192.0.2.10",
    )

    def press_play() -> str:
        try:
            with transaction(platform.sessions) as session:
                return start_playback(session, ctx=ctx, request=request).session.id
        except playback.StreamLimitReached:
            return "refused"

    answers = together(50, press_play)
    admitted = [answer for answer in answers if answer != "refused"]
    assert len(admitted) == 2 and answers.count("refused") == 48
    with transaction(platform.sessions) as session:
        stored = session.scalars(select(PlaybackSession.id)).all()
    assert sorted(stored) == sorted(admitted)


def test_plays_counted_at_once_are_all_counted(platform: Platform) -> None:
    with transaction(platform.sessions) as session:
        film_id = playable_film(session, platform.clock, platform.settings).id
    day = date(2026, 1, 15)

    def count_one() -> None:
        with transaction(platform.sessions) as session:
            catalog.record_play(session, title_id=film_id, territory="FR", day=day)

    together(20, count_one)
    with transaction(platform.sessions) as session:
        plays = session.scalar(select(func.sum(TitlePlays.plays)))
    assert plays == 20
