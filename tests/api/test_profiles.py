"""Profiles over HTTP: choosing, PINs, limits on what rows show, and account isolation."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from cineflux.app import create_app
from cineflux.catalog import service as catalog
from cineflux.db import transaction
from cineflux.media.flows import IngestResult
from cineflux.platform import Platform
from cineflux.rights import service as rights
from tests.api.conftest import PASSWORD, make_user, page_csrf, sign_in
from tests.factories import grant, make_title


@pytest.fixture
def rated_films(platform: Platform) -> dict[str, str]:
    """Three films licensed in France: tous publics, -12 and -18."""
    with transaction(platform.sessions) as session:
        policy = rights.rights_policy(session, platform.settings.platform_profile)
        ids = {}
        for name, rating in (("Pour tous", "TP"), ("Ados", "12"), ("Adultes", "18")):
            title = make_title(session, platform.clock, name, rating=rating, fr_name=name)
            grant(session, platform.clock, title, start="2025-12-20", policy=policy)
            ids[name] = title.id
        return ids


def _new_names(client: TestClient) -> list[str]:
    rows = {row["key"]: row for row in client.get("/api/home").json()["rows"]}
    return sorted(card["name"] for card in rows["new"]["items"]) if "new" in rows else []


def test_one_profile_without_pin_is_used_at_once(
    signed_in: TestClient, rated_films: dict[str, str]
) -> None:
    (profile,) = signed_in.get("/api/profiles").json()
    assert profile["max_rating"] == "16" and profile["has_pin"] is False
    assert _new_names(signed_in) == ["Ados", "Pour tous"]  # no -18 on a -16 profile


def test_several_profiles_ask_who_is_watching_then_remember_the_choice(
    signed_in: TestClient, rated_films: dict[str, str]
) -> None:
    signed_in.get("/api/profiles")  # the first profile exists from here
    kid = signed_in.post("/api/profiles", json={"name": "Léo", "kids": True}).json()
    assert kid["max_rating"] == "TP"
    assert signed_in.get("/api/home").status_code == 409
    page = signed_in.get("/", headers={"accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"].startswith("/profiles?next=")
    picker = signed_in.get("/profiles")
    assert "Qui regarde" in picker.text and "Léo" in picker.text
    csrf = page_csrf(signed_in, "/profiles")
    chosen = signed_in.post(f"/profiles/{kid['id']}/select", data={"csrf": csrf, "next": "/"})
    assert chosen.status_code == 303 and chosen.headers["location"] == "/"
    assert _new_names(signed_in) == ["Pour tous"]  # a kids profile: tous publics only
    assert signed_in.get("/").status_code == 200


def test_a_pin_protected_profile_needs_its_pin(
    signed_in: TestClient, rated_films: dict[str, str]
) -> None:
    (main,) = signed_in.get("/api/profiles").json()
    assert signed_in.put(f"/api/profiles/{main['id']}/pin", json={"pin": "2580"}).status_code == 204
    assert signed_in.get("/api/home").status_code == 409  # no longer chosen silently
    wrong = signed_in.post(f"/api/profiles/{main['id']}/select", json={"pin": "0000"})
    assert wrong.status_code == 403
    right = signed_in.post(f"/api/profiles/{main['id']}/select", json={"pin": "2580"})
    assert right.status_code == 200 and right.json()["has_pin"] is True
    assert signed_in.get("/api/home").status_code == 200


def test_an_18_profile_needs_the_adult_code_set_with_the_password(
    signed_in: TestClient, rated_films: dict[str, str]
) -> None:
    (main,) = signed_in.get("/api/profiles").json()
    body = {"name": main["name"], "max_rating": "18"}
    refused = signed_in.patch(f"/api/profiles/{main['id']}", json=body)
    assert refused.status_code == 403 and refused.json()["title"] == "-18 code required"
    bad_password = signed_in.put(
        "/api/account/adult-code", json={"password": "not it", "code": "7531"}
    )
    assert bad_password.status_code == 403
    assert (
        signed_in.put(
            "/api/account/adult-code", json={"password": "a long test password", "code": "7531"}
        ).status_code
        == 204
    )
    ok = signed_in.patch(f"/api/profiles/{main['id']}", json={**body, "adult_code": "7531"})
    assert ok.status_code == 200
    assert _new_names(signed_in) == ["Ados", "Adultes", "Pour tous"]


def test_no_account_reaches_another_accounts_profiles(
    platform: Platform, signed_in: TestClient
) -> None:
    (ana_profile,) = signed_in.get("/api/profiles").json()
    make_user(platform, "bob@example.org")
    with TestClient(create_app(platform), follow_redirects=False) as bob:
        sign_in(bob, "bob@example.org")
        target = ana_profile["id"]
        attempts = [
            bob.get(f"/api/profiles/{target}/history"),
            bob.patch(f"/api/profiles/{target}", json={"name": "Pwned"}),
            bob.delete(f"/api/profiles/{target}"),
            bob.put(f"/api/profiles/{target}/pin", json={"pin": "1234"}),
            bob.post(f"/api/profiles/{target}/select", json={}),
            bob.get(f"/profiles/{target}/edit"),
        ]
        assert [r.status_code for r in attempts] == [404] * len(attempts)
        # Ana's selection cookie is worthless in Bob's session.
        bob.cookies.set("cineflux_profile", f"{target}.deadbeef")
        assert [p["id"] for p in bob.get("/api/profiles").json()] != [target]
    assert signed_in.get("/api/profiles").json()[0]["name"] == ana_profile["name"]


def test_profiles_are_managed_from_the_web_pages(signed_in: TestClient) -> None:
    signed_in.get("/profiles")
    csrf = page_csrf(signed_in, "/profiles/new")
    created = signed_in.post(
        "/profiles/save",
        data={"csrf": csrf, "name": "Mamie", "avatar": "green", "max_rating": "12", "pin": "1357"},
    )
    assert created.status_code == 303
    listed = {p["name"]: p for p in signed_in.get("/api/profiles").json()}
    assert listed["Mamie"]["max_rating"] == "12" and listed["Mamie"]["has_pin"] is True
    refused = signed_in.post(
        "/profiles/save", data={"csrf": csrf, "name": "Ado", "max_rating": "18"}
    )
    assert refused.status_code == 422 and "-18 code" in refused.text
    forged = signed_in.post("/profiles/save", data={"csrf": "forged", "name": "X"})
    assert forged.status_code == 403
    edit = signed_in.get(f"/profiles/{listed['Mamie']['id']}/edit")
    assert re.search(r'name="name"[^>]*value="Mamie"', edit.text)


def test_device_apps_send_the_chosen_profile_in_a_header(
    signed_in: TestClient, rated_films: dict[str, str]
) -> None:
    signed_in.get("/api/profiles")
    kid = signed_in.post("/api/profiles", json={"name": "Léo", "kids": True}).json()
    selected = signed_in.post(f"/api/profiles/{kid['id']}/select", json={}).json()
    signed_in.cookies.clear()
    sign_in(signed_in)  # a new session: the old selection is not valid in it
    header = {"X-Cineflux-Profile": selected["selection"]}
    assert signed_in.get("/api/home", headers=header).status_code == 409
    again = signed_in.post(f"/api/profiles/{kid['id']}/select", json={}).json()
    signed_in.cookies.delete("cineflux_profile")
    answered = signed_in.get("/api/home", headers={"X-Cineflux-Profile": again["selection"]})
    assert answered.status_code == 200
    rows = {row["key"]: row for row in answered.json()["rows"]}
    assert [card["name"] for card in rows["new"]["items"]] == ["Pour tous"]  # the kids profile


def test_a_title_above_the_profiles_limit_is_refused_even_by_its_address(
    signed_in: TestClient, rated_films: dict[str, str]
) -> None:
    signed_in.get("/api/profiles")
    assert signed_in.get(f"/api/titles/{rated_films['Ados']}").status_code == 200
    adult = signed_in.get(f"/api/titles/{rated_films['Adultes']}")
    assert adult.status_code == 403 and adult.json()["title"] == "Not for this profile"
    page = signed_in.get(f"/titles/{rated_films['Adultes']}", headers={"accept": "text/html"})
    assert page.status_code == 403


def test_a_18_film_plays_only_after_the_adult_code_in_this_session(
    platform: Platform, signed_in: TestClient, published: IngestResult
) -> None:
    with transaction(platform.sessions) as session:
        catalog.set_details(session, published.title_id, catalog.TitleDetails(age_rating="18"))
    (main,) = signed_in.get("/api/profiles").json()
    signed_in.put("/api/account/adult-code", json={"password": PASSWORD, "code": "7531"})
    signed_in.patch(
        f"/api/profiles/{main['id']}",
        json={"name": main["name"], "max_rating": "18", "adult_code": "7531"},
    )
    watch = f"/titles/{published.title_id}/watch"
    asked = signed_in.get(watch)
    assert asked.status_code == 403 and "code personnel -18" in asked.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', asked.text)
    assert csrf
    wrong = signed_in.post(
        f"/titles/{published.title_id}/adult-code", data={"csrf": csrf.group(1), "code": "0000"}
    )
    assert wrong.status_code == 403 and "wrong" in wrong.text
    right = signed_in.post(
        f"/titles/{published.title_id}/adult-code", data={"csrf": csrf.group(1), "code": "7531"}
    )
    assert right.status_code == 303 and right.headers["location"] == watch
    played = signed_in.get(watch)
    assert played.status_code == 200 and "shaka-player" in played.text


def test_the_player_records_progress_in_the_profiles_history(
    platform: Platform, signed_in: TestClient, rated_films: dict[str, str]
) -> None:
    (main,) = signed_in.get("/api/profiles").json()
    path = f"/api/profiles/{main['id']}/history/{rated_films['Ados']}"
    saved = signed_in.put(path, json={"position_seconds": 97.5, "duration_seconds": 100})
    assert saved.status_code == 200 and saved.json()["completed"] is True
    listed = signed_in.get(f"/api/profiles/{main['id']}/history").json()
    assert [(e["title_id"], e["position_seconds"]) for e in listed] == [(rated_films["Ados"], 97.5)]
    assert signed_in.put(path, json={"position_seconds": -1}).status_code == 422
    unknown = f"/api/profiles/{main['id']}/history/no-such-title"
    assert signed_in.put(unknown, json={"position_seconds": 1}).status_code == 404
    assert signed_in.delete(path).status_code == 204
    assert signed_in.get(f"/api/profiles/{main['id']}/history").json() == []
