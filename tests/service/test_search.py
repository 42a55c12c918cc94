"""Catalogue search on the real database (SQLite FTS5, or PostgreSQL full text)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cineflux.catalog import service as catalog
from cineflux.catalog.models import Title, TitleSearch
from cineflux.catalog.search import (
    refresh_all_search_documents,
    refresh_search_document,
    search_titles,
)
from cineflux.clock import FrozenClock
from cineflux.rights import service as rights
from tests.factories import day, grant, make_title


def make(
    db: Session, clock: FrozenClock, name: str, *, people: tuple[str, ...] = (), **details: Any
) -> Title:
    """A title from the factory, with people credited, indexed for search."""
    title = make_title(db, clock, name, **details)
    if people:
        catalog.set_details(
            db,
            title.id,
            catalog.TitleDetails(
                age_rating=title.age_rating,
                localizations={
                    loc.language: (loc.name, loc.synopsis) for loc in title.localizations
                },
                genres=tuple(g.genre_slug for g in title.genres),
                credits=tuple(catalog.CreditSpec(person, "actor") for person in people),
            ),
        )
    refresh_search_document(db, title.id)
    return title


@pytest.fixture
def amelie(db: Session, clock: FrozenClock) -> Title:
    """A French film with an English name."""
    return make(
        db,
        clock,
        "Amelie",
        fr_name="Le Fabuleux Destin d'Amélie Poulain",
        synopsis="Une jeune serveuse de Montmartre décide de changer la vie des autres.",
        genres=("comedy", "romance"),
        people=("Audrey Tautou", "Mathieu Kassovitz"),
    )


@pytest.mark.parametrize("typed", ["amelie", "AMÉLIE", "Amélie ", "AMÉ", "fabuleux destin d'amé"])
def test_accents_and_case_do_not_matter(db: Session, amelie: Title, typed: str) -> None:
    assert search_titles(db, typed) == [amelie.id]


def test_the_last_word_matches_as_a_prefix_only_while_typed(db: Session, amelie: Title) -> None:
    assert search_titles(db, "poul") == [amelie.id]
    assert search_titles(db, "poul ") == []


@pytest.mark.parametrize(
    ("name", "typed"),
    [
        ("Les Chevaux sauvages", "cheval "),
        ("Le Cheval de guerre", "les chevaux"),
        ("Ils mangeront demain", "manger"),
        ("Running Man", "run "),
        ("The Run", "running"),
    ],
)
def test_french_and_english_stems_match(
    db: Session, clock: FrozenClock, name: str, typed: str
) -> None:
    title = make(db, clock, name)
    assert search_titles(db, typed) == [title.id]


def test_synopses_genres_and_people_are_searched(
    db: Session, clock: FrozenClock, amelie: Title
) -> None:
    for typed in ("montmartre", "serveuses", "tautou", "audrey tau", "comédie", "comedy"):
        assert search_titles(db, typed) == [amelie.id], typed


def test_name_matches_rank_above_synopsis_and_people(db: Session, clock: FrozenClock) -> None:
    in_synopsis = make(db, clock, "Sous la selle", synopsis="Un cheval galope vers l'ouest.")
    in_people = make(db, clock, "Les Cavaliers", people=("Jeanne Cheval",))
    in_name = make(db, clock, "Un cheval pour la vie")
    found = search_titles(db, "cheval")
    assert found[0] == in_name.id
    assert set(found[1:]) == {in_synopsis.id, in_people.id}


def test_a_whole_word_ranks_above_a_prefix(db: Session, clock: FrozenClock) -> None:
    stardust = make(db, clock, "Stardust")
    starship = make(db, clock, "Starship Troopers")
    star = make(db, clock, "A Star Is Born")
    assert search_titles(db, "star")[0] == star.id
    assert set(search_titles(db, "star")) == {stardust.id, starship.id, star.id}
    assert search_titles(db, "star ") == [star.id]


def test_a_prefix_longer_than_three_letters_is_matched_exactly(
    db: Session, clock: FrozenClock
) -> None:
    make(db, clock, "Stardust")
    stagecoach = make(db, clock, "Stagecoach")
    assert search_titles(db, "stag") == [stagecoach.id]
    assert search_titles(db, "western stag") == []


def test_words_of_other_scripts_are_found_by_prefix(db: Session, clock: FrozenClock) -> None:
    tokyo = make(db, clock, "東京物語 (Tokyo Story)")
    assert search_titles(db, "東京物") == [tokyo.id]
    assert search_titles(db, "tokyo 東京物") == [tokyo.id]


def test_the_planner_setting_is_put_back(db: Session, clock: FrozenClock, amelie: Title) -> None:
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("a PostgreSQL setting")
    assert search_titles(db, "fabuleux amel") == [amelie.id]
    assert db.scalar(text("SHOW enable_seqscan")) == "on"


def test_every_word_must_match(db: Session, clock: FrozenClock) -> None:
    make(db, clock, "Le Grand Bleu")
    small = make(db, clock, "Le Petit Prince")
    assert search_titles(db, "petit le") == [small.id]
    assert search_titles(db, "petit bleu") == []


def test_results_are_restricted_to_what_the_viewer_may_watch(
    db: Session, clock: FrozenClock
) -> None:
    policy = rights.rights_policy(db, "svod-other")
    licensed = make(db, clock, "Nuit blanche")
    adult = make(db, clock, "Nuit noire", rating="16")
    elsewhere = make(db, clock, "Nuit rouge")
    grant(db, clock, licensed, "FR", policy=policy)
    grant(db, clock, adult, "FR", policy=policy)
    grant(db, clock, elsewhere, "BE", policy=policy)
    at = day("2026-01-15")
    assert search_titles(db, "nuit") != []
    in_france = rights.available_title_ids("FR", at)
    assert set(search_titles(db, "nuit", restrict_to=in_france)) == {licensed.id, adult.id}
    for_children = rights.available_title_ids("FR", at, max_age=12)
    assert search_titles(db, "nuit", restrict_to=for_children) == [licensed.id]
    assert search_titles(db, "nuit", restrict_to=rights.available_title_ids("DE", at)) == []


def test_a_renamed_title_is_found_by_its_new_name_only(db: Session, clock: FrozenClock) -> None:
    title = make(db, clock, "Brouillon")
    title.name = "Chef-d'œuvre"
    catalog.set_details(db, title.id, catalog.TitleDetails(localizations={}))
    refresh_search_document(db, title.id)
    assert search_titles(db, "brouillon") == []
    assert search_titles(db, "chef d oeuvre") == [title.id]
    assert search_titles(db, "chefdoeuvre") == [title.id]


def test_a_deleted_title_is_no_longer_found(db: Session, clock: FrozenClock) -> None:
    title = make(db, clock, "Éphémère")
    assert search_titles(db, "ephemere") == [title.id]
    db.delete(title)
    db.flush()
    assert search_titles(db, "ephemere") == []
    assert db.scalar(select(TitleSearch).where(TitleSearch.title_id == title.id)) is None


def test_seasons_and_episodes_are_found_through_their_series(
    db: Session, clock: FrozenClock
) -> None:
    series = make(db, clock, "Le Bureau des légendes", kind="series")
    season = make(db, clock, "Saison Malotru", kind="season", parent_id=series.id)
    make(db, clock, "Episode Malotru", kind="episode", parent_id=season.id)
    assert search_titles(db, "bureau legendes") == [series.id]
    assert search_titles(db, "malotru") == []


HOSTILE = ['"', '"amelie', "ame*", "NEAR(amelie", "-amelie", "names: amelie", "amelie:*"]
HOSTILE += ["a & b | !c", "'; DROP TABLE titles; --", "o'", "\\", "(((", "\x00", "é" * 500]


@pytest.mark.parametrize("typed", HOSTILE)
def test_hostile_queries_are_just_words(db: Session, amelie: Title, typed: str) -> None:
    found = search_titles(db, typed)
    assert found in ([], [amelie.id])


def test_the_number_of_results_is_limited(db: Session, clock: FrozenClock) -> None:
    made = {make(db, clock, f"Saga {n}").id for n in range(5)}
    assert len(search_titles(db, "saga", limit=3)) == 3
    assert set(search_titles(db, "saga")) == made
    assert search_titles(db, "saga", limit=0) == []


def test_every_document_can_be_rebuilt(db: Session, clock: FrozenClock, amelie: Title) -> None:
    db.execute(TitleSearch.__table__.delete())
    assert search_titles(db, "amelie") == []
    assert refresh_all_search_documents(db, batch=1) >= 1
    assert search_titles(db, "amelie") == [amelie.id]
