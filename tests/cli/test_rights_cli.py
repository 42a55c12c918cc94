"""``cineflux rights`` and ``cineflux report``, run as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cineflux.config import Settings
from cineflux.db import transaction
from cineflux.platform import build_platform
from cineflux.rights import service as rights
from tests.cli.conftest import cineflux
from tests.factories import grant, make_title


def check(env: dict[str, str], *args: str) -> dict[str, object]:
    result = cineflux(env, "rights", "check", "--json", *args)
    assert result.returncode == 0, result.stderr
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


@pytest.mark.parametrize(
    ("profile", "on", "available", "opens", "rule_set"),
    [
        # 36 months under fr-2019 would be 2022-05-10, but fr-2022 opens it the day before.
        ("svod-signatory", "2022-02-09", False, "2022-02-10", "fr-2019"),
        ("svod-signatory", "2022-02-10", True, "2022-02-10", "fr-2022"),
        ("svod-other", "2022-02-10", True, "2022-02-10", "fr-2022"),
        ("svod-investor", "2025-02-12", True, "2022-02-10", "fr-2022"),
    ],
)
def test_check_answers_for_a_hypothetical_film(
    env: dict[str, str], profile: str, on: str, available: bool, opens: str, rule_set: str
) -> None:
    answer = check(
        env,
        "--territory",
        "FR",
        "--license",
        "SVOD",
        "--release-date",
        "2019-05-10",
        "--on",
        on,
        "--platform-profile",
        profile,
    )
    assert answer["available"] is available
    assert answer["opens"] == opens
    assert answer["closes"] is None
    assert answer["rule_set"] == rule_set
    assert isinstance(answer["reason"], str) and answer["reason"]


def test_check_refuses_bad_input_in_one_line(env: dict[str, str]) -> None:
    for args, message in [
        (["--territory", "UK", "--release-date", "2024-01-01"], "ISO 3166-1"),
        (["--license", "PPV", "--release-date", "2024-01-01"], "unknown licence type"),
        (["--release-date", "2024-02-30"], "bad date"),
        (["--release-date", "2024-01-01", "--platform-profile", "pirate"], "platform profile"),
        (["--release-date", "2024-01-01", "--on", "2024-01-01T10:00"], "time zone"),
    ]:
        result = cineflux(env, "rights", "check", *args)
        assert result.returncode == 1, args
        assert message in result.stderr and "Traceback" not in result.stderr


@pytest.fixture
def catalogue(env: dict[str, str]) -> dict[str, str]:
    """Three titles with FR windows, written through the services into the CLI's database."""
    platform = build_platform(
        Settings(data_dir=Path(env["CINEFLUX_DATA_DIR"]), database_url=env["CINEFLUX_DATABASE_URL"])
    )
    try:
        with transaction(platform.sessions) as session:
            policy = rights.rights_policy(session, "svod-other")
            recent = make_title(
                session,
                platform.clock,
                "Récent",
                fr_release="2025-01-15",
                european=True,
                french=True,
            )
            older = make_title(session, platform.clock, "Ancien", fr_release="2020-01-01")
            series = make_title(session, platform.clock, "Série", kind="series", european=True)
            for title in (recent, older, series):
                grant(session, platform.clock, title, start="2020-01-01", policy=policy)
            return {"recent": recent.id, "older": older.id, "series": series.id}
    finally:
        platform.engine.dispose()


def test_explain_tells_why_a_real_title_is_or_is_not_available(
    env: dict[str, str], catalogue: dict[str, str]
) -> None:
    result = cineflux(env, "rights", "explain", "Récent", "--on", "2026-01-01", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    svod = answer["decisions"]["SVOD"]
    assert svod["available"] is False and svod["opens"] == "2026-06-15"
    assert "17 months" in svod["reason"]
    assert answer["decisions"]["TVOD"]["reason"].startswith("no TVOD licence window")
    assert len(answer["windows"]) == 1
    human = cineflux(env, "rights", "explain", catalogue["older"], "--on", "2026-01-01")
    assert human.returncode == 0 and "available" in human.stdout
    missing = cineflux(env, "rights", "explain", "Inconnu")
    assert missing.returncode == 1 and "no title" in missing.stderr


def test_report_catalogue_gives_the_shares_of_european_and_french_works(
    env: dict[str, str], catalogue: dict[str, str]
) -> None:
    result = cineflux(
        env, "report", "catalogue", "--territory", "FR", "--on", "2026-07-01", "--json"
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["titles"] == 3
    assert figures["european_works"] == 2 and figures["french_language_works"] == 1
    assert figures["european_share"] == pytest.approx(2 / 3, abs=1e-3)
    before = json.loads(cineflux(env, "report", "catalogue", "--on", "2026-01-01", "--json").stdout)
    assert before["titles"] == 2  # "Récent" opens 2026-06-15


def test_what_if_compares_a_proposal_with_the_rules_in_force(
    env: dict[str, str], catalogue: dict[str, str], tmp_path: Path
) -> None:
    proposal = tmp_path / "proposal-2014.json"
    proposal.write_text(
        json.dumps(
            {
                "name": "proposal-2014",
                "in_force_from": "2014-01-01",
                "source": "2014 proposal: VOD and SVOD at 24 months, TV two months earlier",
                "months": {"TVOD": 4, "EST": 4, "FREE_TV": 20},
                "svod_months": {"svod-signatory": 12, "svod-other": 12, "svod-investor": 12},
            }
        )
    )
    result = cineflux(env, "rights", "what-if", str(proposal), "--on", "2026-02-01", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["licence_types"]["SVOD"]["gained"] == [
        {"id": catalogue["recent"], "name": "Récent"}
    ]
    assert answer["licence_types"]["SVOD"]["lost"] == []
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x"}')
    failed = cineflux(env, "rights", "what-if", str(broken))
    assert failed.returncode == 1 and "in_force_from" in failed.stderr


def test_rule_sets_can_be_added_as_data(env: dict[str, str], tmp_path: Path) -> None:
    reform = tmp_path / "reform.json"
    reform.write_text(
        json.dumps(
            {
                "rule_sets": [
                    {
                        "name": "fr-2028",
                        "in_force_from": "2028-01-01",
                        "source": "hypothetical reform",
                        "months": {"TVOD": 3},
                        "svod_months": {"svod-other": 12},
                    }
                ]
            }
        )
    )
    assert cineflux(env, "rights", "rule-sets", "add", str(reform)).returncode == 0
    listed = json.loads(cineflux(env, "rights", "rule-sets", "list", "--json").stdout)
    assert [r["name"] for r in listed["rule_sets"]][-1] == "fr-2028"
    answer = check(env, "--release-date", "2027-03-01", "--on", "2028-03-01")
    assert answer["available"] is True and answer["rule_set"] == "fr-2028"
    again = cineflux(env, "rights", "rule-sets", "add", str(reform))
    assert again.returncode == 1 and "already exists" in again.stderr


def test_catalog_rank_snapshots_the_top_titles(env: dict[str, str]) -> None:
    result = cineflux(env, "catalog", "rank", "--day", "2026-06-01", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"day": "2026-06-01", "ranked": 0}
    bad = cineflux(env, "catalog", "rank", "--day", "June")
    assert bad.returncode == 1 and "not a date" in bad.stderr


def test_catalog_describe_sets_the_details_rights_and_reports_read(
    env: dict[str, str], catalogue: dict[str, str], tmp_path: Path
) -> None:
    details = {
        "original_language": "fr",
        "production_countries": ["FR", "BE"],
        "fr_release_date": "2025-10-01",
        "european_work": True,
        "french_language_work": True,
        "age_rating": "12",
        "localizations": {
            "fr": {"name": "Ancien film", "synopsis": "Un film ancien."},
            "en": {"name": "Old film", "synopsis": "An old film."},
        },
        "genres": ["drama"],
        "credits": [{"name": "Agnès Varda", "role": "director"}],
        "artwork": [
            {
                "kind": "poster",
                "url": "https://images.example/ancien.jpg",
                "language": "fr",
                "width": 600,
                "height": 900,
            }
        ],
    }
    path = tmp_path / "details.json"
    path.write_text(json.dumps(details))
    result = cineflux(env, "catalog", "describe", catalogue["older"], str(path))
    assert result.returncode == 0, result.stderr
    shown = json.loads(cineflux(env, "catalog", "show", catalogue["older"]).stdout)
    assert {k: shown[k] for k in details} == {**details, "credits": [
        {"name": "Agnès Varda", "role": "director", "character": None}
    ]}  # fmt: skip
    # The new cinema release date puts the film back under the chronologie (17 months).
    answer = json.loads(
        cineflux(
            env, "rights", "explain", catalogue["older"], "--on", "2026-06-01", "--json"
        ).stdout
    )
    assert answer["decisions"]["SVOD"]["available"] is False
    assert answer["decisions"]["SVOD"]["opens"] == "2027-03-01"
    path.write_text(json.dumps({**details, "age_rating": "21"}))
    refused = cineflux(env, "catalog", "describe", catalogue["older"], str(path))
    assert refused.returncode == 1 and "age rating" in refused.stderr
    path.write_text(
        json.dumps({**details, "artwork": [{"kind": "poster", "url": "javascript:alert(1)"}]})
    )
    refused = cineflux(env, "catalog", "describe", catalogue["older"], str(path))
    assert refused.returncode == 1 and "not an https URL" in refused.stderr
    path.write_text(json.dumps({**details, "rating": "12"}))
    refused = cineflux(env, "catalog", "describe", catalogue["older"], str(path))
    assert refused.returncode == 1 and "unknown field 'rating'" in refused.stderr


def test_catalog_reindex_makes_every_title_searchable_again(
    env: dict[str, str], catalogue: dict[str, str]
) -> None:
    result = cineflux(env, "catalog", "reindex")
    assert result.returncode == 0, result.stderr
    assert "rebuilt for 3 titles" in result.stdout


def test_users_verify_home_records_the_home_country(env: dict[str, str]) -> None:
    created = cineflux(
        env,
        "users",
        "create",
        "--email",
        "eu@example.org",
        stdin="long enough pw\nlong enough pw\n",
    )
    assert created.returncode == 0, created.stderr
    ok = cineflux(env, "users", "verify-home", "eu@example.org", "--country", "fr")
    assert ok.returncode == 0 and "home country FR" in ok.stdout
    bad = cineflux(env, "users", "verify-home", "eu@example.org", "--country", "France")
    assert bad.returncode == 1 and "not a country code" in bad.stderr
    nobody = cineflux(env, "users", "verify-home", "no@example.org", "--country", "FR")
    assert nobody.returncode == 1 and "no account" in nobody.stderr


def test_catalog_credits_start_marks_where_a_films_credits_start(
    env: dict[str, str], catalogue: dict[str, str]
) -> None:
    film = catalogue["older"]
    result = cineflux(env, "catalog", "credits-start", film, "1:30:12.5")
    assert result.returncode == 0, result.stderr
    shown = json.loads(cineflux(env, "catalog", "show", film).stdout)
    assert shown["credits_start_seconds"] == 5412.5
    assert cineflux(env, "catalog", "credits-start", film, "none").returncode == 0
    assert (
        json.loads(cineflux(env, "catalog", "show", film).stdout)["credits_start_seconds"] is None
    )
    refused = cineflux(env, "catalog", "credits-start", film, "soon")
    assert refused.returncode == 1 and "is not a position" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
