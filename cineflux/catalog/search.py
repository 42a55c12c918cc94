"""Catalogue search: folding and stemming (pure), the stored documents, and the query.

Text is folded (accents, case, ligatures, apostrophes) and stemmed (French and English) in
Python, both when a title's document is stored and when a query is parsed. The engines then
only split on spaces: SQLite's FTS5 and PostgreSQL's ``to_tsvector('simple', …)`` see the
same words, so the same titles match on both.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import snowballstemmer  # type: ignore[import-untyped]
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    bindparam,
    column,
    exists,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnClause

# The catalogue service calls in here whenever a title changes, so this module reads the
# catalogue's tables itself rather than through the service.
from cineflux.catalog.models import Credit, Genre, Person, Title, TitleGenre, TitleSearch

SEARCHABLE_KINDS = ("movie", "series")  # seasons and episodes are found through their series
MAX_QUERY_CHARS = 200
MAX_QUERY_TERMS = 8
MAX_WORD_CHARS = 40  # longer "words" are noise (or an attack), never a title's word
# A shorter last word is matched as a whole word only: "a", "le" or "am" as prefixes match
# most of the catalogue, tell nothing of what the viewer looks for, and cost the most.
MIN_PREFIX_CHARS = 3
# On PostgreSQL, the migration stores each ASCII word's first MIN_PREFIX_CHARS letters as a
# lexeme of their own after this mark (a digit and a letter: one token in every locale), so
# that a prefix is one GIN entry instead of the merge of every word starting with it.
PREFIX_MARK = "0p"
# How many matching titles are ranked: the first ones in index order. A precise query matches
# fewer and is ranked exactly; a broad one ("love", "ame") is ranked among its first matches,
# which bounds its cost whatever the catalogue's size. When the viewer may watch less than
# half a page of them, four times more are ranked, up to MAX_CANDIDATES.
CANDIDATES = 200
MAX_CANDIDATES = 12800
# Names weigh more than synopses, genres and people (FTS5 bm25 column weights).
NAMES_WEIGHT = 10.0
BODY_WEIGHT = 1.0
# ts_rank's weights for labels {D, C, B, A}: body is B, names are A.
_TS_RANK_WEIGHTS = "'{0, 0, 0.1, 1}'::float4[]"

# Written as escapes: several look alike. Typewriter, typographic and modifier apostrophes;
# hyphen-minus, hyphens and dashes.
_APOSTROPHES = "'\u2019\u02bc\u2018`\u00b4"
_HYPHENS = "-\u2010\u2011\u2012\u2013\u2014"
_WORD = re.compile(r"[^\W_]+")
# "L'Été", "Spider-Man": also stored joined ("lete", "spiderman") for those who type so.
_COMPOUND = re.compile(rf"[^\W_]+(?:[{re.escape(_APOSTROPHES + _HYPHENS)}][^\W_]+)+")
# Letters NFKD leaves whole but a French keyboard user types without their stroke or ligature.
_UNDECOMPOSED = str.maketrans(
    {"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "\u0131": "i"}
)


def fold(text: str) -> str:
    """Lower-case words without accents or ligatures, separated by single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_WORD.findall(stripped.translate(_UNDECOMPOSED)))


def terms(text: str) -> list[str]:
    """The folded words of ``text``, in order (apostrophes and hyphens split words)."""
    return fold(text).split()


class _Stemmers(threading.local):
    # Snowball stemmers keep their word in the object: one pair per thread.
    def __init__(self) -> None:
        self.french = snowballstemmer.stemmer("french")
        self.english = snowballstemmer.stemmer("english")


_stemmers = _Stemmers()


@lru_cache(maxsize=65536)
def _stems(word: str) -> tuple[str, ...]:
    if not word.isalpha():
        return (word,)  # numbers and codes ("2001", "r2d2") have no stem
    french = str(_stemmers.french.stemWord(word))
    english = str(_stemmers.english.stemWord(word))
    return tuple(dict.fromkeys((french, english)))


def stems(word: str) -> set[str]:
    """The French and English stems of a folded word (the word itself when it has none)."""
    return set(_stems(word))


def _words_and_stems(texts: Iterable[str]) -> str:
    words: dict[str, None] = {}
    for text in texts:
        for word in terms(text):
            if len(word) <= MAX_WORD_CHARS and word not in words:
                words[word] = None
                words.update(dict.fromkeys(s for s in _stems(word) if s not in words))
        # Joined compounds are not stemmed: their stems would be nobody's words.
        for compound in _COMPOUND.findall(text):
            joined = fold(compound).replace(" ", "")
            if len(joined) <= MAX_WORD_CHARS:
                words.setdefault(joined, None)
    return " ".join(words)


def search_document(names: list[str], body_texts: list[str]) -> tuple[str, str]:
    """The (names, body) to store for a title: its distinct folded words and their stems."""
    return _words_and_stems(names), _words_and_stems(body_texts)


@dataclass(frozen=True)
class SearchTerm:
    """One word of a query: it matches any of ``words`` whole, or starts a word if ``prefix``."""

    word: str
    words: tuple[str, ...]  # the word and its stems
    prefix: bool


@dataclass(frozen=True)
class SearchQuery:
    """A parsed query: a title must match every term."""

    terms: tuple[SearchTerm, ...]

    def __bool__(self) -> bool:
        return bool(self.terms)


def parse_query(text: str) -> SearchQuery:
    """Folded terms of what a viewer typed; the last word is a prefix while being typed."""
    clipped = text[:MAX_QUERY_CHARS]
    words = terms(clipped)
    # A query that ends on a letter or digit is still being typed; a space or a full stop
    # says the last word is complete.
    typing = bool(clipped) and (clipped[-1].isalnum() or unicodedata.combining(clipped[-1]) > 0)
    prefix_word = words[-1] if typing and words and len(words[-1]) >= MIN_PREFIX_CHARS else None
    kept = [w for w in dict.fromkeys(words) if len(w) <= MAX_WORD_CHARS][:MAX_QUERY_TERMS]
    return SearchQuery(
        tuple(
            SearchTerm(word, tuple(dict.fromkeys((word, *_stems(word)))), word == prefix_word)
            for word in kept
        )
    )


def _fts5_string(word: str) -> str:
    # A quoted string is never an operator, column filter or NEAR group in FTS5's syntax.
    return '"' + word.replace('"', '""') + '"'


def fts5_match(query: SearchQuery) -> str:
    """The FTS5 MATCH expression of a query: every term, each as any of its words."""
    groups = []
    for term in query.terms:
        alternatives = [_fts5_string(word) for word in term.words]
        if term.prefix:
            # The whole word stays an alternative: bm25 then ranks "Star" above "Stardust".
            alternatives.append(_fts5_string(term.word) + "*")
        groups.append("(" + " OR ".join(alternatives) + ")")
    return " AND ".join(groups)


def _lexeme(word: str) -> str:
    # Quoted, so that no character reaches to_tsquery as an operator.
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def tsquery_text(query: SearchQuery, *, indexed: bool = False) -> str:
    """The ``to_tsquery`` text a title must match: every term, each as any of its words."""
    # ``indexed``: a three-letter ASCII prefix becomes the lexeme the migration stores for
    # the first three letters of each word (one GIN entry); a longer prefix stays ":*", and
    # GIN merges the fewer words that start with it.
    groups = []
    for term in query.terms:
        alternatives = [_lexeme(word) for word in term.words]
        if term.prefix:  # the prefix covers the word itself
            alternatives[0] = _lexeme(term.word) + ":*"
            if indexed and len(term.word) == MIN_PREFIX_CHARS and term.word.isascii():
                alternatives[0] = _lexeme(PREFIX_MARK + term.word)
        groups.append("(" + " | ".join(alternatives) + ")")
    return " & ".join(groups)


def _tsquery_any(query: SearchQuery, *, prefixes: bool) -> str:
    # For ranking: any word counts, and a prefix with ":*" (ts_rank reads the document).
    words: list[str] = []
    for term in query.terms:
        words.extend(_lexeme(word) for word in term.words)
        if prefixes and term.prefix:
            words[-len(term.words)] += ":*"
    return " | ".join(words)


# --- Stored documents and queries ----------------------------------------------------------


def _texts(session: Session, title: Title) -> tuple[list[str], list[str]]:
    localizations = sorted(title.localizations, key=lambda loc: loc.language)
    names = [title.name, *(loc.name for loc in localizations)]
    body = [loc.synopsis for loc in localizations]
    genre_rows = session.execute(
        select(Genre.name_fr, Genre.name_en)
        .join(TitleGenre, TitleGenre.genre_slug == Genre.slug)
        .where(TitleGenre.title_id == title.id)
        .order_by(Genre.slug)
    )
    body.extend(name for row in genre_rows for name in row)
    credited = session.execute(
        select(Person.name, Credit.character)
        .join(Credit, Credit.person_id == Person.id)
        .where(Credit.title_id == title.id)
        .order_by(Credit.position)
    )
    for person, character in credited:
        body.append(person)
        if character:
            body.append(character)
    return names, body


def refresh_search_document(session: Session, title_id: str) -> None:
    """Store what a title is found by; forget it when gone or not a film or a series."""
    title = session.get(Title, title_id)
    row = session.scalar(select(TitleSearch).where(TitleSearch.title_id == title_id))
    if title is None or title.kind not in SEARCHABLE_KINDS:
        if row is not None:
            session.delete(row)
            session.flush()
        return
    names, body = search_document(*_texts(session, title))
    if row is None:
        session.add(TitleSearch(title_id=title_id, names=names, body=body))
    elif (row.names, row.body) != (names, body):
        # Only a real change: on SQLite each update rewrites the row's FTS5 entries.
        row.names, row.body = names, body
    session.flush()


def refresh_all_search_documents(session: Session, *, batch: int = 500) -> int:
    """Rebuild every title's search document (after changing how text is folded); titles."""
    total = 0
    last = ""
    while True:
        ids = list(
            session.scalars(select(Title.id).where(Title.id > last).order_by(Title.id).limit(batch))
        )
        if not ids:
            return total
        for title_id in ids:
            refresh_search_document(session, title_id)
        total += len(ids)
        last = ids[-1]


def _sqlite_matches(query: SearchQuery) -> Select[Any]:
    fts = table("title_search_fts", column("rowid", Integer))
    fts_table: ColumnClause[Any] = literal_column("title_search_fts")
    # bm25 is negative, the best match lowest: negated, higher is better as on PostgreSQL.
    score = -func.bm25(fts_table, NAMES_WEIGHT, BODY_WEIGHT)
    return (
        select(TitleSearch.id, TitleSearch.title_id, score.label("score"))
        .select_from(fts.join(TitleSearch, TitleSearch.id == fts.c.rowid))
        .where(fts_table.op("MATCH")(bindparam("match", fts5_match(query), String)))
    )


def _postgresql_matches(query: SearchQuery) -> Select[Any]:
    searched = table(
        "title_search", column("id", Integer), column("title_id", String), column("document")
    )
    simple: ColumnClause[Any] = literal_column("'simple'::regconfig")
    weights: ColumnClause[Any] = literal_column(_TS_RANK_WEIGHTS)

    def tsquery(name: str, text: str) -> ColumnElement[Any]:
        # Written into the statement, not bound: the plan of a prepared statement would be
        # made once for every query, without knowing its words.
        return func.to_tsquery(simple, bindparam(name, text, String, literal_execute=True))

    # ts_rank counts a word and its prefix once: the exact words' rank is added on top, so
    # that "star" ranks "Star" before "Stardust" as bm25 does on SQLite.
    score = func.ts_rank(
        weights, searched.c.document, tsquery("rank", _tsquery_any(query, prefixes=True))
    ) + func.ts_rank(
        weights, searched.c.document, tsquery("exact", _tsquery_any(query, prefixes=False))
    )
    return select(searched.c.id, searched.c.title_id, score.label("score")).where(
        searched.c.document.op("@@")(tsquery("match", tsquery_text(query, indexed=True)))
    )


def _matches(session: Session, query: SearchQuery) -> Select[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return _postgresql_matches(query)
    return _sqlite_matches(query)


def _best(
    matches: Select[Any], candidates: int, restrict_to: Select[Any] | None, limit: int
) -> Select[Any]:
    # Only the first matches in index order are ranked: a word found in half the catalogue
    # costs no more than a rare one.
    found = matches.limit(candidates).subquery("found")
    ranked = (
        select(found.c.title_id, found.c.score, found.c.id)
        .order_by(found.c.score.desc(), found.c.id)
        .limit(candidates)
        .subquery("ranked")
    )
    best = select(ranked.c.title_id)
    if restrict_to is not None:
        # Checked on ranked rows, best first: the engines stop probing once ``limit``
        # titles passed, a few dozen index lookups instead of one per candidate.
        allowed = restrict_to.subquery("allowed")
        best = best.where(exists().where(allowed.c[0] == ranked.c.title_id))
    return best.order_by(ranked.c.score.desc(), ranked.c.id).limit(limit)


@contextmanager
def _bitmap_scans(session: Session) -> Iterator[None]:
    # PostgreSQL's planner may scan title_search in order, hoping to meet enough matches
    # early. Right for a word found everywhere, but its estimates cannot tell those from
    # words that rarely meet ("dubois jean") or are nowhere ("pirate" in a catalogue where
    # every known word is common): it then reads the whole table, a quarter of a second at
    # 100,000 titles. Reading GIN's posting lists costs a few milliseconds for any query (a
    # three-letter prefix is one lexeme; a longer one merges the fewer words starting with
    # it), so it always reads them. The setting is put back afterwards (on error, the
    # rollback puts it back).
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    session.execute(select(func.set_config("enable_seqscan", "off", True)))
    yield
    # Back to the session's own value (what RESET would give), in the same round trip.
    settings = table("pg_settings", column("name", String), column("reset_val", String))
    session.execute(
        select(func.set_config("enable_seqscan", settings.c.reset_val, True)).where(
            settings.c.name == "enable_seqscan"
        )
    )


def search_titles(
    session: Session, text: str, *, restrict_to: Select[Any] | None = None, limit: int = 20
) -> list[str]:
    """Ids of the films and series matching ``text``, best first, among ``restrict_to``'s."""
    # restrict_to: a query whose first column is the ids the viewer may watch, such as
    # rights.service.available_title_ids(territory, at, max_age=...); any select of ids works.
    query = parse_query(text)
    if not query or limit <= 0:
        return []
    matches = _matches(session, query)
    candidates = CANDIDATES
    with _bitmap_scans(session):
        while True:
            found = list(session.scalars(_best(matches, candidates, restrict_to, limit)))
            if len(found) * 2 >= limit or restrict_to is None or candidates >= MAX_CANDIDATES:
                break
            # Few of the first matches may be watched here (a small territory, a child's
            # profile): look further, unless every match was already ranked. Half a page
            # is enough for a broad query, whose matches are not all ranked anyway.
            counted = select(func.count()).select_from(matches.limit(candidates).subquery())
            if (session.scalar(counted) or 0) < candidates:
                break
            candidates *= 4
    return found
