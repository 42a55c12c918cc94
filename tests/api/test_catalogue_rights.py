"""The catalogue over HTTP: only what the viewer may watch, where they are, now."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cineflux.accounts import service as accounts
from cineflux.app import create_app
from cineflux.db import transaction
from cineflux.platform import Platform
from cineflux.rights import service as rights
from cineflux.rights.territory import MaxMindGeoResolver
from tests.api.conftest import sign_in
from tests.factories import grant, make_title
from tests.geoip import BRITAIN, FRANCE, NOWHERE, SWEDEN, write_test_geoip


@pytest.fixture
def catalogue(platform: Platform) -> dict[str, str]:
    """On the platform's day (2026-01-15): one film in FR, one in SE, one coming to FR."""
    with transaction(platform.sessions) as session:
        policy = rights.rights_policy(session, platform.settings.platform_profile)
        amelie = make_title(
            session,
            platform.clock,
            "Amelie",
            fr_name="Le Fabuleux Destin d'Amélie Poulain",
            synopsis="Une serveuse de Montmartre",
            genres=("comedy", "romance"),
            european=True,
            french=True,
        )
        grant(session, platform.clock, amelie, "FR", start="2025-12-20", policy=policy)
        swedish = make_title(session, platform.clock, "Fucking Åmål")
        grant(session, platform.clock, swedish, "SE", start="2020-01-01", policy=policy)
        later = make_title(session, platform.clock, "Plus tard", fr_release="2024-09-01")
        grant(session, platform.clock, later, "FR", start="2024-09-01", policy=policy)
        unlicensed = make_title(session, platform.clock, "Sans droits")
        return {
            "amelie": amelie.id,
            "swedish": swedish.id,
            "later": later.id,
            "unlicensed": unlicensed.id,
        }


def test_home_rows_over_http(signed_in: TestClient, catalogue: dict[str, str]) -> None:
    body = signed_in.get("/api/home", headers={"accept-language": "fr-FR,fr;q=0.9"}).json()
    assert body["territory"] == "FR"
    rows = {row["key"]: row for row in body["rows"]}
    assert [c["name"] for c in rows["new"]["items"]] == ["Le Fabuleux Destin d'Amélie Poulain"]
    assert rows["new"]["title"] == "Nouveautés"
    # 17 months after 2024-09-01 is 2026-02-01: within 30 days of 2026-01-15.
    soon = rows["coming_soon"]["items"]
    assert [c["id"] for c in soon] == [catalogue["later"]]
    assert soon[0]["opens_at"].startswith("2026-01-31T23:00")
    page = signed_in.get("/")
    assert "Amélie Poulain" in page.text and "Fucking" not in page.text
    assert "Sans droits" not in page.text


def test_titles_outside_their_rights_are_not_found(
    signed_in: TestClient, catalogue: dict[str, str]
) -> None:
    listed = [item["id"] for item in signed_in.get("/api/titles").json()["items"]]
    assert listed == [catalogue["amelie"]]
    for key in ("swedish", "unlicensed"):
        response = signed_in.get(f"/api/titles/{catalogue[key]}")
        assert response.status_code == 404
        assert response.json()["title"] == "Not available"
        assert signed_in.get(f"/titles/{catalogue[key]}").status_code == 404
    coming = signed_in.get(f"/api/titles/{catalogue['later']}").json()
    assert coming["availability"]["available"] is False
    assert coming["availability"]["opens_at"].startswith("2026-01-31T23:00")
    assert "Available from 01/02/2026" in signed_in.get(f"/titles/{catalogue['later']}").text


def test_title_details_follow_the_profiles_language(
    signed_in: TestClient, catalogue: dict[str, str]
) -> None:
    french = signed_in.get(
        f"/api/titles/{catalogue['amelie']}", headers={"accept-language": "en"}
    ).json()  # the profile's language (French by default) wins over the browser's
    assert french["name"] == "Le Fabuleux Destin d'Amélie Poulain"
    assert french["genres"] == ["Comédie", "Romance"]
    assert french["availability"] == {
        "territory": "FR",
        "available": True,
        "opens_at": "2025-12-19T23:00:00Z",
        "closes_at": None,
        "format_cap": "HD",
    }
    (profile,) = signed_in.get("/api/profiles").json()
    changed = signed_in.patch(
        f"/api/profiles/{profile['id']}", json={"name": profile["name"], "language": "en"}
    )
    assert changed.status_code == 200, changed.text
    english = signed_in.get(f"/api/titles/{catalogue['amelie']}").json()
    assert english["name"] == "Amelie" and english["genres"] == ["Comedy", "Romance"]


def test_search_over_http_finds_only_what_the_viewer_may_watch(
    signed_in: TestClient, catalogue: dict[str, str]
) -> None:
    found = signed_in.get("/api/search", params={"q": "amelie"}).json()
    assert [c["id"] for c in found] == [catalogue["amelie"]]
    assert [c["id"] for c in signed_in.get("/api/search", params={"q": "AMÉ"}).json()] == [
        catalogue["amelie"]
    ]
    assert signed_in.get("/api/search", params={"q": "amal"}).json() == []  # only in SE
    assert signed_in.get("/api/search", params={"q": "droits"}).json() == []
    page = signed_in.get("/search", params={"q": "poulain"})
    assert page.status_code == 200 and f"/titles/{catalogue['amelie']}" in page.text


@pytest.fixture
def geo_platform(platform: Platform, tmp_path: Path) -> Iterator[Platform]:
    """The platform locating viewers with a real MaxMind-format database."""
    resolver = MaxMindGeoResolver(write_test_geoip(tmp_path / "geo.mmdb"))
    platform.geo = resolver
    yield platform
    resolver.close()


def _client_at(platform: Platform, address: str) -> TestClient:
    return TestClient(create_app(platform), follow_redirects=False, client=(address, 40000))


@pytest.mark.parametrize(
    ("address", "verified", "visible"),
    [
        (FRANCE, False, "amelie"),
        (SWEDEN, False, "swedish"),
        (SWEDEN, True, "amelie"),  # EU portability: the home catalogue while in Sweden
        (BRITAIN, True, None),  # outside the EU: no portability, and nothing licensed there
    ],
)
def test_the_viewers_country_and_eu_portability_choose_the_catalogue(
    geo_platform: Platform,
    user_id: str,
    catalogue: dict[str, str],
    address: str,
    verified: bool,
    visible: str | None,
) -> None:
    if verified:
        with transaction(geo_platform.sessions) as session:
            accounts.verify_home_country(
                session, clock=geo_platform.clock, user_id=user_id, country="FR"
            )
    with _client_at(geo_platform, address) as client:
        sign_in(client)
        listed = [item["id"] for item in client.get("/api/titles").json()["items"]]
    assert listed == ([catalogue[visible]] if visible else [])


def test_an_address_without_a_country_is_refused_with_a_clear_message(
    geo_platform: Platform, user_id: str, catalogue: dict[str, str]
) -> None:
    with _client_at(geo_platform, NOWHERE) as client:
        sign_in(client)
        response = client.get("/api/titles")
        assert response.status_code == 403
        assert "which country you are in" in response.json()["detail"]
        page = client.get("/", headers={"accept": "text/html"})
        assert page.status_code == 403 and "VPN" in page.text
