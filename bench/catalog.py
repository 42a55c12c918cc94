"""Catalogue benchmarks: home rows and search for a profile at 100,000 titles.

The catalogue: 100,000 films and series with French and English names and synopses (common
words mixed with a long tail of rare ones, as in real text), genres, credits, and
availability in 50 territories (each title licensed in 20 of them, France in
most), plus a week of plays for the Top 10. It is written straight into the tables (the
derived ``availability`` spans included) so that building it takes a minute, not hours.

Measured, on SQLite and on PostgreSQL, for random profiles (territory, age limit, language):
- the whole home screen (``catalog.flows.home_rows``: Top 10, New, Coming soon, Leaving
  soon, Films, Series, genre rows): target p99 <= 25 ms;
- search as one types (``catalog.flows.search_for_viewer``: prefixes, whole words, several
  words, accents): target p99 <= 15 ms.
Baselines, run in the same invocation: the same searches as a ``LIKE '%word%'`` scan of the
names (what one writes without a full-text index), and one indexed primary-key fetch of 20
titles (the floor of any row).

    python bench/catalog.py [--titles 100000] [--requests 1000] [--engines sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

from cineflux.catalog import flows
from cineflux.catalog import service as catalog
from cineflux.catalog.models import Title, TitleGenre, TitleLocalization, TitlePlays, TitleSearch
from cineflux.catalog.search import search_document
from cineflux.db import make_engine, make_session_factory, upgrade_schema
from cineflux.rights.models import OPEN_END, Availability

RESULTS = Path(__file__).parent / "results" / "catalog.json"
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NOW = datetime(2026, 11, 27, 19, 0, tzinfo=UTC)
TERRITORIES = [
    "FR",
    "BE",
    "CH",
    "LU",
    "MC",
    "DE",
    "AT",
    "NL",
    "DK",
    "SE",
    "NO",
    "FI",
    "IS",
    "IE",
    "GB",
    "ES",
    "PT",
    "IT",
    "GR",
    "CY",
    "MT",
    "PL",
    "CZ",
    "SK",
    "HU",
    "SI",
    "HR",
    "RO",
    "BG",
    "EE",
    "LV",
    "LT",
    "US",
    "CA",
    "MX",
    "BR",
    "AR",
    "CL",
    "CO",
    "JP",
    "KR",
    "AU",
    "NZ",
    "IN",
    "ZA",
    "MA",
    "TN",
    "SN",
    "CI",
    "TR",
]
assert len(TERRITORIES) == 50
GENRES = [
    "action",
    "adventure",
    "animation",
    "comedy",
    "crime",
    "documentary",
    "drama",
    "family",
    "fantasy",
    "horror",
    "music",
    "romance",
    "science-fiction",
    "thriller",
    "war",
    "western",
]
RATINGS = ("TP", "TP", "TP", "10", "12", "12", "16", "18")

FRENCH = [
    "amour",
    "nuit",
    "jour",
    "ville",
    "mer",
    "soleil",
    "ombre",
    "lumière",
    "histoire",
    "dernier",
    "premier",
    "grand",
    "petit",
    "vie",
    "mort",
    "temps",
    "chemin",
    "maison",
    "enfant",
    "femme",
    "homme",
    "père",
    "mère",
    "frère",
    "sœur",
    "ami",
    "ennemi",
    "roi",
    "reine",
    "guerre",
    "paix",
    "secret",
    "mystère",
    "voyage",
    "retour",
    "départ",
    "rêve",
    "cœur",
    "âme",
    "feu",
    "eau",
    "terre",
    "ciel",
    "étoile",
    "lune",
    "hiver",
    "été",
    "printemps",
    "automne",
    "île",
    "forêt",
    "montagne",
    "rivière",
    "château",
    "jardin",
    "fenêtre",
    "porte",
    "route",
    "train",
    "bateau",
    "avion",
    "musique",
    "danse",
    "chanson",
    "silence",
    "cri",
    "regard",
    "visage",
    "main",
    "sang",
    "larmes",
    "rire",
    "promesse",
    "mensonge",
    "vérité",
    "justice",
    "liberté",
    "destin",
    "hasard",
    "fabuleux",
    "étrange",
    "dangereux",
    "sauvage",
    "perdu",
    "caché",
    "oublié",
    "éternel",
    "brûlant",
    "glacé",
    "fou",
    "doux",
    "amélie",
    "poulain",
    "élise",
    "théo",
    "zoé",
    "noël",
    "hélène",
    "françois",
    "gaëlle",
    "jérôme",
]
ENGLISH = [
    "love",
    "night",
    "day",
    "city",
    "sea",
    "sun",
    "shadow",
    "light",
    "story",
    "last",
    "first",
    "big",
    "little",
    "life",
    "death",
    "time",
    "road",
    "house",
    "child",
    "woman",
    "man",
    "father",
    "mother",
    "brother",
    "sister",
    "friend",
    "enemy",
    "king",
    "queen",
    "war",
    "peace",
    "secret",
    "mystery",
    "journey",
    "return",
    "dream",
    "heart",
    "soul",
    "fire",
    "water",
    "earth",
    "sky",
    "star",
    "moon",
    "winter",
    "summer",
    "spring",
    "island",
    "forest",
    "mountain",
    "river",
    "castle",
    "garden",
    "window",
    "door",
    "train",
    "ship",
    "plane",
    "music",
    "dance",
    "song",
    "silence",
    "scream",
    "face",
    "hand",
    "blood",
    "tears",
    "laughter",
    "promise",
    "lie",
    "truth",
    "justice",
    "freedom",
    "fate",
    "running",
    "wild",
    "lost",
    "hidden",
    "forgotten",
    "eternal",
    "burning",
    "frozen",
]
FIRST_NAMES = [
    "Jean",
    "Marie",
    "Pierre",
    "Sophie",
    "Luc",
    "Camille",
    "Hugo",
    "Léa",
    "Louis",
    "Chloé",
    "Marc",
    "Inès",
    "Paul",
    "Juliette",
    "Anna",
    "Tom",
    "James",
    "Emma",
    "Olivia",
    "Noah",
    "Liam",
    "Ava",
    "Lucas",
    "Mia",
    "Ethan",
    "Isabelle",
    "Gérard",
    "Agnès",
    "Benoît",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "García",
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Müller",
]

SEARCHES = [
    "a", "am", "ame", "amel", "amelie", "AMÉLIE", "le", "la nuit", "la nuit é", "the",
    "lov", "love", "loves", "running", "run", "chemins", "chemin d", "coeur", "cœur",
    "fabuleux destin", "fabuleux destin d'amé", "star", "étoile", "etoile fil", "x",
    "zoé", "zoe", "jérôme", "jerome", "martin", "dubois jean", "guerre et paix",
    "war and pe", "mystère de la chambre", "l'été", "lete", "spider-man", "documentaire",
    "comédie", "comedy", "thriller", "pirate", "qwzx",
]  # fmt: skip


# Real catalogues have tens of thousands of distinct words, most of them rare: three words
# in ten come from the common French and English words above, the others from a long tail of
# made-up words. A common word then appears in a few percent of the titles (measured and
# written to the results), not in all of them.
HEAD_SHARE = 0.3
TAIL_WORDS = 20_000
SYLLABLES = [c + v for c in "bcdfgklmnprstvz" for v in "aeiou"]
COMMON_WORDS = ["love", "amour", "nuit", "star", "vie", "dernier"]


def long_tail(rng: random.Random, size: int = TAIL_WORDS) -> list[str]:
    """Made-up words of two to four syllables."""
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def _sentence(rng: random.Random, head: list[str], tail: list[str], low: int, high: int) -> str:
    return " ".join(
        rng.choice(head) if rng.random() < HEAD_SHARE else rng.choice(tail)
        for _ in range(rng.randint(low, high))
    )


def _title_name(rng: random.Random, head: list[str], tail: list[str]) -> str:
    name = _sentence(rng, head, tail, 1, 4)
    return name[0].upper() + name[1:]


def _spans(rng: random.Random) -> tuple[datetime, datetime]:
    """A licence span around NOW: most open now, some opening or closing within 30 days."""
    roll = rng.random()
    if roll < 0.06:
        starts = NOW + timedelta(days=rng.uniform(0.5, 30))
    elif roll < 0.12:
        starts = NOW - timedelta(days=rng.uniform(0.5, 30))
    elif roll < 0.20:
        starts = NOW + timedelta(days=rng.uniform(31, 400))
    else:
        starts = NOW - timedelta(days=rng.uniform(31, 2000))
    roll = rng.random()
    if roll < 0.06:
        ends = NOW + timedelta(days=rng.uniform(0.5, 30))
    elif roll < 0.5:
        ends = NOW + timedelta(days=rng.uniform(31, 1500))
    elif roll < 0.6:
        ends = NOW - timedelta(days=rng.uniform(1, 500))
    else:
        ends = OPEN_END
    if ends <= starts:
        ends = OPEN_END
    return starts, ends


def _batches(rows: list[dict[str, Any]], size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def build_catalogue(engine: Engine, titles: int, seed: int = 7) -> dict[str, int]:
    """Write the synthetic catalogue; returns row counts."""
    rng = random.Random(seed)
    tail = long_tail(rng)
    counts = {"titles": 0, "availability": 0, "plays": 0, "search_documents": 0}
    created = NOW - timedelta(days=3000)
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(titles)]
    with engine.begin() as connection:
        for chunk_start in range(0, titles, 10000):
            title_rows, locs, genres, docs, spans = [], [], [], [], []
            for title_id in ids[chunk_start : chunk_start + 10000]:
                kind = "series" if rng.random() < 0.2 else "movie"
                fr_name = _title_name(rng, FRENCH, tail)
                en_name = _title_name(rng, ENGLISH, tail)
                rating = rng.choice(RATINGS)
                title_rows.append(
                    {
                        "id": title_id,
                        "kind": kind,
                        "name": en_name,
                        "year": rng.randint(1950, 2026),
                        "production_countries": "FR",
                        "european_work": rng.random() < 0.6,
                        "french_language_work": rng.random() < 0.4,
                        "age_rating": rating,
                        "created_at": created,
                        "published_at": created,
                    }
                )
                fr_synopsis = _sentence(rng, FRENCH, tail, 12, 25)
                en_synopsis = _sentence(rng, ENGLISH, tail, 12, 25)
                locs += [
                    {"title_id": title_id, "language": "fr", "name": fr_name,
                     "synopsis": fr_synopsis},
                    {"title_id": title_id, "language": "en", "name": en_name,
                     "synopsis": en_synopsis},
                ]  # fmt: skip
                chosen = rng.sample(GENRES, rng.randint(1, 3))
                genres += [{"title_id": title_id, "genre_slug": g} for g in chosen]
                people = [f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}" for _ in range(4)]
                names, body = search_document(
                    [fr_name, en_name], [fr_synopsis, en_synopsis, *chosen, *people]
                )
                docs.append({"title_id": title_id, "names": names, "body": body})
                territories = set(rng.sample(TERRITORIES[1:], 19))
                if rng.random() < 0.8:
                    territories.add("FR")
                age = 0 if rating == "TP" else int(rating)
                for territory in territories:
                    starts, ends = _spans(rng)
                    spans.append(
                        {"title_id": title_id, "territory": territory, "license_type": "SVOD",
                         "starts_at": starts, "ends_at": ends, "minimum_age": age,
                         "kind": kind, "genres": "".join(f",{g}" for g in chosen) + ","}
                    )  # fmt: skip
            for table, rows in (
                (Title.__table__, title_rows),
                (TitleLocalization.__table__, locs),
                (TitleGenre.__table__, genres),
                (TitleSearch.__table__, docs),
                (Availability.__table__, spans),
            ):
                for batch in _batches(rows):
                    connection.execute(insert(table), batch)
            counts["titles"] += len(title_rows)
            counts["availability"] += len(spans)
            counts["search_documents"] += len(docs)
            print(f"  {counts['titles']:>7} titles written", file=sys.stderr)
        plays = []
        today = NOW.date()
        for territory in TERRITORIES:
            popular = rng.sample(ids, 3000)
            for offset in range(7):
                for title_id in rng.sample(popular, 1500):
                    plays.append(
                        {"title_id": title_id, "territory": territory,
                         "day": today - timedelta(days=offset),
                         "plays": int(rng.paretovariate(1.2) * 10)}
                    )  # fmt: skip
        for batch in _batches(plays):
            connection.execute(insert(TitlePlays.__table__), batch)
        counts["plays"] = len(plays)
    # The daily Top 10 ranking, as ``cineflux serve`` (or cron) computes it.
    with make_session_factory(engine)() as session, session.begin():
        counts["ranked"] = catalog.rank_top_titles(session, day=NOW.date())
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("ANALYZE")
            connection.exec_driver_sql(
                "INSERT INTO title_search_fts(title_search_fts) VALUES ('optimize')"
            )
        else:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE"
            )
        connection.commit()
    return counts


def _viewer(rng: random.Random) -> flows.Viewer:
    territory = "FR" if rng.random() < 0.5 else rng.choice(TERRITORIES)
    max_age = rng.choice((None, None, None, 12, 16, 10))
    language = rng.choice(("fr", "fr", "en"))
    return flows.Viewer(territory=territory, at=NOW, max_age=max_age, language=language)


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
        "requests": len(ordered),
    }


def _timed(
    session_factory: Callable[[], Session], work: Callable[[Session], object], n: int
) -> list[float]:
    samples = []
    for _ in range(n):
        with session_factory() as session:
            started = time.perf_counter()
            work(session)
            samples.append(time.perf_counter() - started)
    return samples


def measure(engine: Engine, requests: int, seed: int = 11) -> dict[str, Any]:
    """Home rows, search, and the baselines; each warmed up first."""
    sessions = make_session_factory(engine)
    rng = random.Random(seed)
    viewers = [_viewer(rng) for _ in range(requests)]
    queries = [(rng.choice(SEARCHES), _viewer(rng)) for _ in range(requests)]
    some_ids = [
        row[0] for row in engine.connect().execute(select(Title.id).order_by(Title.id).limit(2000))
    ]

    def runner(
        items: list[Any], work: Callable[[Session, Any], object]
    ) -> Callable[[Session], object]:
        iterator = iter(items * 2)
        return lambda session: work(session, next(iterator))

    results: dict[str, Any] = {}
    warm = min(100, requests)
    # Steady state, as a running service is: every territory's rows read once before timing.
    every_territory = [flows.Viewer(t, NOW) for t in TERRITORIES]
    _timed(sessions, runner(every_territory, flows.home_rows), len(every_territory))
    _timed(sessions, runner(viewers, flows.home_rows), warm)
    results["home_rows"] = _percentiles(
        _timed(sessions, runner(viewers, flows.home_rows), requests)
    )
    search = runner(queries, lambda s, q: flows.search_for_viewer(s, q[1], q[0]))
    _timed(sessions, search, warm)
    results["search"] = _percentiles(_timed(sessions, search, requests))
    # The worst case, reported beside the target: only the most common words.
    common = [(rng.choice(COMMON_WORDS), _viewer(rng)) for _ in range(200)]
    broad = runner(common, lambda s, q: flows.search_for_viewer(s, q[1], q[0]))
    results["search_common_words_only"] = _percentiles(_timed(sessions, broad, len(common)))
    with sessions() as session:
        total = session.scalar(select(func.count()).select_from(TitleSearch)) or 1
        text_of = " " + TitleSearch.names + " " + TitleSearch.body + " "
        results["share_of_titles_with_word"] = {
            word: round(
                (session.scalar(select(func.count()).where(text_of.like(f"% {word} %"))) or 0)
                / total,
                4,
            )
            for word in COMMON_WORDS
        }

    def like_scan(session: Session, item: tuple[str, flows.Viewer]) -> object:
        word = item[0].split()[0] if item[0].split() else item[0]
        return session.execute(
            select(TitleLocalization.title_id)
            .where(TitleLocalization.name.ilike(f"%{word}%"))
            .limit(20)
        ).all()

    scan = runner(queries, like_scan)
    _timed(sessions, scan, min(20, requests))
    results["baseline_like_search"] = _percentiles(_timed(sessions, scan, max(50, requests // 5)))

    def pk_fetch(session: Session, offset: int) -> object:
        wanted = some_ids[offset % 1900 : offset % 1900 + 20]
        return session.scalars(select(Title).where(Title.id.in_(wanted))).all()

    fetch = runner(list(range(requests)), pk_fetch)
    _timed(sessions, fetch, warm)
    results["baseline_pk_fetch_20"] = _percentiles(_timed(sessions, fetch, requests))
    with sessions() as session:
        shown = [len(flows.home_rows(session, v)) for v in viewers[:20]]
    results["rows_per_home_screen"] = statistics.mean(shown)
    return results


@contextmanager
def sqlite_database(root: Path) -> Iterator[str]:
    """A fresh SQLite file."""
    yield f"sqlite:///{root / 'bench.db'}"


@contextmanager
def postgresql_database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    name = f"cineflux_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES_ADMIN_URL)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    console = Console()
    figures: dict[str, Any] = {
        "titles": args.titles,
        "territories": len(TERRITORIES),
        "requests": args.requests,
        "now": NOW.isoformat(),
        "date": date.today().isoformat(),
        "engines": {},
    }
    targets = []
    for engine_name in args.engines.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            database = (
                sqlite_database(Path(tmp)) if engine_name == "sqlite" else postgresql_database()
            )
            with database as url:
                upgrade_schema(url)
                engine = make_engine(url)
                try:
                    console.print(f"[bold]{engine_name}[/]: writing {args.titles} titles…")
                    started = time.perf_counter()
                    counts = build_catalogue(engine, args.titles)
                    built = time.perf_counter() - started
                    console.print(f"  built in {built:.0f} s: {counts}")
                    measured = measure(engine, args.requests)
                finally:
                    engine.dispose()
        figures["engines"][engine_name] = {**measured, "rows": counts, "build_seconds": built}
        targets += [
            {"name": f"home rows p99 ({engine_name})", "value": measured["home_rows"]["p99_ms"],
             "op": "<=", "target": 25, "unit": "ms"},
            {"name": f"search p99 ({engine_name})", "value": measured["search"]["p99_ms"],
             "op": "<=", "target": 15, "unit": "ms"},
        ]  # fmt: skip
    table = Table(title=f"Catalogue at {args.titles:,} titles, {len(TERRITORIES)} territories")
    for column in ("engine", "measure", "p50 ms", "p99 ms", "max ms"):
        table.add_column(column)
    for engine_name, result in figures["engines"].items():
        for key in (
            "home_rows",
            "search",
            "search_common_words_only",
            "baseline_like_search",
            "baseline_pk_fetch_20",
        ):
            r = result[key]
            table.add_row(engine_name, key, f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}",
                          f"{r['max_ms']:.2f}")  # fmt: skip
    console.print(table)
    for target in targets:
        met = target["value"] <= target["target"]
        console.print(
            f"{'[green]met[/]' if met else '[red]missed[/]'}  {target['name']}: "
            f"{target['value']} {target['unit']} (target {target['op']} {target['target']})"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"targets": targets, **figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
