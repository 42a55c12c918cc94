"""Home rows per territory, date and profile, on the real database."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from cineflux.catalog import flows
from cineflux.catalog import service as catalog
from cineflux.catalog.flows import Viewer
from cineflux.catalog.tasks import rank_if_due
from cineflux.clock import FrozenClock
from cineflux.db import transaction
from cineflux.platform import Platform
from cineflux.rights import service as rights
from cineflux.rights.chronology import RightsPolicy
from tests.factories import day, grant, make_title

NOW = day("2026-06-01")


@pytest.fixture
def policy(db: Session) -> RightsPolicy:
    return rights.rights_policy(db, "svod-other")


def names(cards: list[flows.TitleCard]) -> list[str]:
    return [c.name for c in cards]


@pytest.fixture
def catalogue(db: Session, clock: FrozenClock, policy: RightsPolicy) -> dict[str, str]:
    """Titles whose windows put each one in a known row on 2026-06-01."""
    specs = {
        # name: (start, end, territory, rating, genres)
        "Nouveau": ("2026-05-20", None, "FR", "TP", ("drama",)),
        "Ancien": ("2020-01-01", None, "FR", "TP", ("drama", "comedy")),
        "Bientôt": ("2026-06-20", None, "FR", "TP", ("comedy",)),
        "Plus tard": ("2026-08-01", None, "FR", "TP", ()),
        "Départ": ("2020-01-01", "2026-06-15", "FR", "TP", ("comedy",)),
        "Reste": ("2020-01-01", "2026-09-01", "FR", "TP", ()),
        "Adulte": ("2026-05-25", None, "FR", "16", ("thriller",)),
        "Belge": ("2026-05-25", None, "BE", "TP", ("drama",)),
        "Expiré": ("2020-01-01", "2026-05-01", "FR", "TP", ("drama",)),
    }
    ids = {}
    for name, (start, end, territory, rating, genres) in specs.items():
        title = make_title(db, clock, name, rating=rating, genres=genres, fr_name=name)
        grant(db, clock, title, territory, start=start, end=end, policy=policy)
        ids[name] = title.id
    hidden = make_title(db, clock, "Sans média", published=False)
    grant(db, clock, hidden, start="2026-05-28", policy=policy)
    return ids


def test_new_lists_recent_arrivals_newest_first(db: Session, catalogue: dict[str, str]) -> None:
    assert names(flows.new_row(db, Viewer("FR", NOW))) == ["Adulte", "Nouveau"]


def test_a_young_profile_does_not_see_titles_above_its_age(
    db: Session, catalogue: dict[str, str]
) -> None:
    assert names(flows.new_row(db, Viewer("FR", NOW, max_age=12))) == ["Nouveau"]
    assert "Adulte" not in [
        c.name for row in flows.home_rows(db, Viewer("FR", NOW, max_age=12)) for c in row.items
    ]


def test_coming_soon_is_within_thirty_days(db: Session, catalogue: dict[str, str]) -> None:
    cards = flows.coming_soon_row(db, Viewer("FR", NOW))
    assert names(cards) == ["Bientôt"]
    assert cards[0].opens_at == day("2026-06-20")


def test_leaving_soon_is_within_thirty_days(db: Session, catalogue: dict[str, str]) -> None:
    cards = flows.leaving_soon_row(db, Viewer("FR", NOW))
    assert names(cards) == ["Départ"]
    assert cards[0].closes_at == day("2026-06-15")


def test_rows_move_with_the_date(db: Session, catalogue: dict[str, str]) -> None:
    later = Viewer("FR", day("2026-07-15"))
    assert names(flows.coming_soon_row(db, later)) == ["Plus tard"]
    assert "Bientôt" in names(flows.new_row(db, later))
    assert names(flows.leaving_soon_row(db, later)) == []
    assert "Départ" not in names(flows.genre_row(db, later, "comedy"))


def test_genre_rows_hold_what_is_available_in_the_territory(
    db: Session, catalogue: dict[str, str]
) -> None:
    assert names(flows.genre_row(db, Viewer("FR", NOW), "drama")) == ["Nouveau", "Ancien"]
    assert names(flows.genre_row(db, Viewer("BE", NOW), "drama")) == ["Belge"]


def test_home_rows_leave_out_empty_rows_and_unpublished_titles(
    db: Session, catalogue: dict[str, str]
) -> None:
    rows = flows.home_rows(db, Viewer("FR", NOW, language="fr"))
    keys = [row.key for row in rows]
    assert keys == [
        "new",
        "coming_soon",
        "leaving_soon",
        "movies",
        "genre:comedy",
        "genre:drama",
        "genre:thriller",
    ]  # no plays yet: no Top 10
    assert rows[0].title == "Nouveautés"
    everything = {c.name for row in rows for c in row.items}
    assert "Sans média" not in everything and "Expiré" not in everything
    assert "Belge" not in everything
    english = flows.home_rows(db, Viewer("FR", NOW, language="en"))
    assert english[0].title == "New"
    assert english[3].title == "Films"
    assert english[4].title == "Comedy"
    films = names(rows[3].items)
    assert films[:2] == ["Adulte", "Nouveau"]  # then three that arrived the same day
    assert sorted(films[2:]) == ["Ancien", "Départ", "Reste"]


def test_top_10_ranks_the_last_seven_days_in_the_country_once_a_day(
    db: Session, catalogue: dict[str, str]
) -> None:
    def play(name: str, times: int, on: str, territory: str = "FR") -> None:
        for _ in range(times):
            catalog.record_play(
                db, title_id=catalogue[name], territory=territory, day=date.fromisoformat(on)
            )

    play("Ancien", 3, "2026-05-31")
    play("Nouveau", 2, "2026-05-30")
    play("Nouveau", 2, "2026-05-29")
    play("Reste", 9, "2026-05-20")  # too long ago
    play("Départ", 1, "2026-06-01")
    play("Expiré", 9, "2026-05-31")  # no longer available
    play("Reste", 9, "2026-05-31", territory="BE")  # another country
    viewer = Viewer("FR", NOW, language="en")
    assert flows.top10_row(db, viewer) == []  # nothing ranked yet
    assert catalog.rank_top_titles(db, day=date(2026, 6, 1)) == 5  # 4 in FR, 1 in BE
    assert names(flows.top10_row(db, viewer)) == ["Nouveau", "Ancien", "Départ"]
    # Plays after the ranking count from the next one; a ranking dated later is not read.
    play("Reste", 50, "2026-06-01")
    play("Ancien", 50, "2026-06-02")
    catalog.rank_top_titles(db, day=date(2026, 6, 2))
    assert names(flows.top10_row(db, viewer)) == ["Nouveau", "Ancien", "Départ"]
    catalog.rank_top_titles(db, day=date(2026, 6, 1))  # a rerun replaces the day's ranking
    assert names(flows.top10_row(db, viewer)) == ["Reste", "Nouveau", "Ancien", "Départ"]
    rows = flows.home_rows(db, viewer)
    assert rows[0].key == "top10" and rows[0].title == "Top 10 in FR"


def test_a_series_appears_once_an_episode_has_a_window(
    db: Session, clock: FrozenClock, policy: RightsPolicy
) -> None:
    series = make_title(db, clock, "Série", kind="series", published=False, genres=("crime",))
    season = catalog.create_title(
        db, clock=clock, name="S1", year=None, kind="season", parent_id=series.id, number=1
    )
    episode = catalog.create_title(
        db, clock=clock, name="E1", year=None, kind="episode", parent_id=season.id, number=1
    )
    grant(db, clock, episode, start="2026-05-15", policy=policy)
    assert names(flows.new_row(db, Viewer("FR", NOW))) == ["Série"]
    assert names(flows.genre_row(db, Viewer("FR", NOW), "crime")) == ["Série"]


def test_the_daily_ranking_runs_once_a_day(platform: Platform) -> None:
    with transaction(platform.sessions) as session:
        title = make_title(session, platform.clock, "Joué")
        catalog.record_play(session, title_id=title.id, territory="FR", day=date(2026, 1, 15))
    assert rank_if_due(platform) == date(2026, 1, 15)  # the platform clock's Paris day
    assert rank_if_due(platform) is None
    with platform.sessions() as session:
        assert catalog.top_titles(session, territory="FR", day=date(2026, 1, 15)) == [title.id]
