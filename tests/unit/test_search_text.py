"""Search text: folding, stemming, stored documents and query parsing, without a database."""

from __future__ import annotations

import re

import pytest

from cineflux.catalog.search import (
    MAX_QUERY_CHARS,
    MAX_QUERY_TERMS,
    MAX_WORD_CHARS,
    SearchQuery,
    SearchTerm,
    fold,
    fts5_match,
    parse_query,
    search_document,
    stems,
    terms,
    tsquery_text,
)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Amélie", "amelie"),
        ("AMÉLIE", "amelie"),
        ("Ça tourne à Noël", "ca tourne a noel"),
        ("Œdipe roi, Lætitia", "oedipe roi laetitia"),
        ("L'Été meurtrier", "l ete meurtrier"),
        ("Aujourd\u2019hui", "aujourd hui"),
        ("Spider-Man: No Way Home", "spider man no way home"),
        ("Straße, Łódź, Ørsted", "strasse lodz orsted"),
        ("ﬁlm n°2 — 2001", "film n 2 2001"),
        ("  many\t\nspaces  ", "many spaces"),
        ("snake_case", "snake case"),
        ("東京物語", "東京物語"),
        ("", ""),
    ],
)
def test_fold_removes_accents_case_ligatures_and_punctuation(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_terms_are_the_folded_words_in_order() -> None:
    assert terms("Le Fabuleux Destin d'Amélie Poulain") == [
        "le",
        "fabuleux",
        "destin",
        "d",
        "amelie",
        "poulain",
    ]


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("chevaux", "cheval"),  # French plural
        ("mangeront", "mang"),  # French future tense
        ("manger", "mang"),
        ("running", "run"),  # English
        ("runs", "run"),
        ("aventures", "aventur"),
    ],
)
def test_stems_include_french_and_english(word: str, stem: str) -> None:
    assert stem in stems(word)


def test_numbers_are_not_stemmed() -> None:
    assert stems("2001") == {"2001"}
    assert stems("r2d2") == {"r2d2"}


def test_document_holds_distinct_words_their_stems_and_joined_compounds() -> None:
    names, body = search_document(
        ["Les Chevaux d'Amélie", "Les chevaux d'Amélie"], ["Ils mangeront.", "Comédie"]
    )
    name_words = names.split()
    assert len(name_words) == len(set(name_words))
    assert {"les", "le", "chevaux", "cheval", "amelie", "damelie"} <= set(name_words)
    assert {"mangeront", "mang", "comedie"} <= set(body.split())
    # Both engines only split on spaces: nothing else but words may be stored.
    assert re.fullmatch(r"[a-z0-9 ]*", names + " " + body)


def test_document_leaves_out_overlong_words() -> None:
    names, _ = search_document(["x" * (MAX_WORD_CHARS + 1) + " ok"], [])
    assert names == "ok"


def test_complete_words_match_themselves_or_their_stems() -> None:
    query = parse_query("les chevaux ")
    assert query == SearchQuery(
        (
            SearchTerm("les", ("les", "le"), prefix=False),
            SearchTerm("chevaux", ("chevaux", "cheval"), prefix=False),
        )
    )


def test_the_last_word_is_a_prefix_while_being_typed() -> None:
    assert [t.prefix for t in parse_query("le fabul").terms] == [False, True]
    assert [t.prefix for t in parse_query("le fabul ").terms] == [False, False]
    assert [t.prefix for t in parse_query("le fabul.").terms] == [False, False]
    assert parse_query("AMÉ").terms == (SearchTerm("ame", ("ame",), prefix=True),)


def test_words_under_three_letters_are_never_prefixes() -> None:
    assert parse_query("a").terms == (SearchTerm("a", ("a",), prefix=False),)
    assert parse_query("am").terms == (SearchTerm("am", ("am",), prefix=False),)


def test_queries_are_limited_in_length_and_terms() -> None:
    many = " ".join(f"w{i}" for i in range(MAX_QUERY_TERMS + 5))
    query = parse_query(many)
    assert len(query.terms) == MAX_QUERY_TERMS
    assert not any(t.prefix for t in query.terms)  # the word being typed was dropped
    assert parse_query("a" * (MAX_QUERY_CHARS + 10)) == SearchQuery(())
    assert parse_query("x" * (MAX_WORD_CHARS + 1) + " ok").terms[0].word == "ok"


def test_repeated_words_count_once() -> None:
    assert [t.word for t in parse_query("star star wars").terms] == ["star", "wars"]


@pytest.mark.parametrize("text", ["", "   ", '"', "*", "-", ":", "&|!", "()", "'''", "--;"])
def test_nothing_searchable_gives_an_empty_query(text: str) -> None:
    assert not parse_query(text)


HOSTILE = [
    '"',
    '"amelie',
    "ame*lie",
    "NEAR(amelie poulain, 2)",
    "names: amelie",
    "{names body}: x",
    "-amelie",
    "amelie AND NOT poulain OR x",
    "a & b | !c",
    "'; DROP TABLE titles; --",
    "o'brien\\",
    "^start + plus",
    "x:* & y:A",
    "(((",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_leaves_only_quoted_words(text: str) -> None:
    query = parse_query(text)
    for term in query.terms:
        assert all(re.fullmatch(r"[a-z0-9]+", word) for word in term.words)
    # Every word is a quoted string: operators cannot appear outside quotes.
    outside_fts5 = re.sub(r'"[a-z0-9]+"', "", fts5_match(query))
    assert re.fullmatch(r"[() *ANDOR]*", outside_fts5)
    assert "NEAR" not in outside_fts5
    outside_tsquery = re.sub(r"'[a-z0-9]+'", "", tsquery_text(query))
    assert re.fullmatch(r"[() &|:*]*", outside_tsquery)


def test_match_expressions_need_every_term_and_accept_any_alternative() -> None:
    query = parse_query("les chev")
    assert fts5_match(query) == '("les" OR "le") AND ("chev" OR "chev"*)'
    assert tsquery_text(query) == "('les' | 'le') & ('chev':*)"


def test_postgresql_indexes_prefixes_by_their_first_three_letters() -> None:
    assert tsquery_text(parse_query("les che"), indexed=True) == "('les' | 'le') & ('0pche')"
    assert tsquery_text(parse_query("chev"), indexed=True) == "('chev':*)"
    # Only ASCII words have their prefix stored: others are matched with ":*".
    assert tsquery_text(parse_query("東京物"), indexed=True) == "('東京物':*)"
