"""Pages, the catalogue API and media serving over HTTP, on a really ingested title."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urljoin

import m3u8
import pytest
from fastapi.testclient import TestClient
from lxml import etree  # type: ignore[import-untyped]

from cineflux.billing import service as billing
from cineflux.db import transaction
from cineflux.delivery import api as delivery_api
from cineflux.media.flows import IngestResult
from cineflux.media.manifests import dash_references, dash_representations, hls_references
from cineflux.media.writers import DASH_NS
from cineflux.platform import Platform
from tests.api.conftest import make_user, sign_in


def test_home_lists_titles_with_their_posters(
    signed_in: TestClient, published: IngestResult
) -> None:
    page = signed_in.get("/")
    assert page.status_code == 200
    assert "Essai" in page.text
    poster = f"/media/{published.storage_prefix}/poster.jpg"
    assert poster in page.text
    image = signed_in.get(poster)
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/jpeg"


def test_empty_catalogue_says_how_to_fill_it(signed_in: TestClient) -> None:
    assert "cineflux ingest" in signed_in.get("/").text


def test_title_page_offers_play_and_lists_renditions(
    signed_in: TestClient, published: IngestResult
) -> None:
    page = signed_in.get(f"/titles/{published.title_id}")
    assert page.status_code == 200
    assert f"/titles/{published.title_id}/watch" in page.text
    assert "640\u00d7360" in page.text and "416\u00d7234" in page.text


def _play(
    client: TestClient,
    platform: Platform,
    user_id: str,
    title_id: str,
    device: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Subscribe the user, then authorise a play as the player does."""
    with transaction(platform.sessions) as session:
        billing.subscribe(
            session,
            ctx=billing.BillingContext.of(
                session, clock=platform.clock, settings=platform.settings
            ),
            user_id=user_id,
            email="ana@example.org",
            plan_code="standard",
            card_number="4242424242424242",
        )
    (profile,) = client.get("/api/profiles").json()
    device = device or {"codecs": ["avc1"], "drm": ["clearkey"]}
    body = {"title_id": title_id, "profile_id": profile["id"], "device": device}
    answer = client.post("/api/playback", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_player_page_loads_shaka_on_the_chosen_format(
    signed_in: TestClient, platform: Platform, user_id: str, published: IngestResult
) -> None:
    dash = signed_in.get(f"/titles/{published.title_id}/watch")
    assert "shaka-player.dash.js" in dash.text and "playback.js" in dash.text
    # The play is asked for before the browser runs the player library (both deferred).
    assert dash.text.index("/static/playback.js") < dash.text.index("shaka-player.dash.js")
    assert 'data-format="dash"' in dash.text
    assert f'data-title="{published.title_id}"' in dash.text
    hls = signed_in.get(f"/titles/{published.title_id}/watch?format=hls")
    assert 'data-format="hls"' in hls.text
    # Each format's page loads the player build with that format's parser only.
    assert "shaka-player.hls.js" in hls.text and "shaka-player.dash.js" not in hls.text
    assert signed_in.get(f"/titles/{published.title_id}/watch?format=smooth").status_code == 422
    # The page signs nothing: the paths come with the authorised play.
    assert "/t/" not in dash.text
    play = _play(signed_in, platform, user_id, published.title_id)
    assert play["manifests"] == {
        "dash": f"/api/playback/{play['session_id']}/manifest.mpd",
        "hls": f"/api/playback/{play['session_id']}/master.m3u8",
    }
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", play["token"])


def test_the_personalised_manifests_of_an_ingested_title_reach_only_stored_objects(
    signed_in: TestClient, platform: Platform, user_id: str, published: IngestResult
) -> None:
    # A screen of 240 lines: the 360p rung is left out, and everything else is there.
    device = {"codecs": ["avc1", "mp4a"], "max_height": 240, "drm": ["clearkey"]}
    play = _play(signed_in, platform, user_id, published.title_id, device)
    assert play["video_heights"] == [234]
    without_cookies = TestClient(signed_in.app)
    mpd = signed_in.get(play["manifests"]["dash"]).text
    (base,) = [
        element.text for element in etree.fromstring(mpd.encode()).iter(f"{{{DASH_NS}}}BaseURL")
    ]
    assert base == f"http://testserver/t/{play['token']}/{published.storage_prefix}/"
    representations = dash_representations(mpd)
    assert [(r.content_type, r.height) for r in representations] == [
        ("video", 234),
        ("audio", None),
    ]
    for reference in dash_references(mpd):
        assert without_cookies.get(urljoin(base, reference)).status_code == 200

    master = m3u8.loads(signed_in.get(play["manifests"]["hls"]).text)
    (variant,) = master.playlists
    assert variant.stream_info.resolution == (416, 234)
    assert variant.uri == base + "video/" + variant.uri.removeprefix(base + "video/")
    media = without_cookies.get(variant.uri)
    assert media.status_code == 200
    for reference in hls_references(media.text):
        assert without_cookies.get(urljoin(variant.uri, reference)).status_code == 200


def test_the_played_paths_are_served_by_the_origin_without_cookies(
    signed_in: TestClient,
    platform: Platform,
    user_id: str,
    published: IngestResult,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client_without_cookies = TestClient(signed_in.app)
    play = _play(signed_in, platform, user_id, published.title_id)
    manifest = f"/t/{play['token']}/{published.storage_prefix}/manifest.mpd"
    # No edge is registered, and no origin URL configured: this very server is the only one.
    assert play["base_urls"] == ["http://testserver"]
    with caplog.at_level(logging.INFO, logger="cineflux.http"):
        response = client_without_cookies.get(manifest)
    assert response.status_code == 200
    # The token is a credential: the request log keeps the object path only.
    token_text = manifest.split("/")[2]
    logged = [record.getMessage() for record in caplog.records]
    assert any(f"/t/-/{published.storage_prefix}/manifest.mpd" in line for line in logged)
    assert not any(token_text in line for line in logged)
    assert response.headers["content-type"] == "application/dash+xml"
    assert response.headers["access-control-allow-origin"] == "*"
    token, _, rest = manifest.removeprefix("/t/").partition("/")
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client_without_cookies.get(f"/t/{forged}/{rest}").status_code == 403
    other_title = f"/t/{token}/titles/someone-else/manifest.mpd"
    assert client_without_cookies.get(other_title).status_code == 403
    assert client_without_cookies.get(f"/t/{token}/{rest}/../../x").status_code in (400, 403, 404)


@pytest.mark.parametrize("build", ["dash", "hls"])
def test_shaka_player_asset_is_served(client: TestClient, build: str) -> None:
    response = client.get(f"/static/vendor/shaka-player.{build}.js")
    assert response.status_code == 200
    assert "Shaka Player" in response.text[:500]


def test_the_watch_page_names_its_scripts_by_versioned_urls_cached_for_good(
    signed_in: TestClient, published: IngestResult
) -> None:
    page = signed_in.get(f"/titles/{published.title_id}/watch").text
    scripts = re.findall(r'<script src="(/static/[^"]+)"', page)
    assert len(scripts) == 4 and all("?v=" in src for src in scripts)
    for src in scripts:
        response = signed_in.get(src)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    player = next(src for src in scripts if "/player.js" in src)
    # A digest that is not the file's (a page of an older release) is not cached for good.
    stale = signed_in.get(player.split("?")[0] + "?v=0123456789abcdef")
    assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"
    bare = signed_in.get(player.split("?")[0])
    assert bare.headers["cache-control"] == "no-cache"
    revalidated = signed_in.get(
        player.split("?")[0], headers={"if-none-match": bare.headers["etag"]}
    )
    assert revalidated.status_code == 304


def test_pages_name_an_icon_that_is_served(client: TestClient) -> None:
    # Without one, every page view asked /favicon.ico and got a 404.
    page = client.get("/login")
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page.text)
    assert icon is not None
    response = client.get(icon.group(1))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.text.startswith("<svg")


def test_unknown_title_is_a_404_page_and_problem(signed_in: TestClient) -> None:
    page = signed_in.get("/titles/nope", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert "Title not found" in page.text
    api = signed_in.get("/api/titles/nope")
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"


def test_api_lists_titles_with_playback_urls(
    signed_in: TestClient, published: IngestResult
) -> None:
    body = signed_in.get("/api/titles").json()
    assert [item["id"] for item in body["items"]] == [published.title_id]
    item = body["items"][0]
    assert item["playback"]["dash"].endswith("/manifest.mpd")
    assert item["duration_seconds"] == pytest.approx(6.0, abs=0.1)
    assert {r["kind"] for r in item["renditions"]} == {"video", "audio"}
    assert signed_in.get(f"/api/titles/{published.title_id}").json()["name"] == "Essai"


def test_catalogue_api_needs_sign_in(client: TestClient) -> None:
    response = client.get("/api/titles")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


# --- Media serving ---


def _media(published: IngestResult, name: str) -> str:
    return f"/media/{published.storage_prefix}/{name}"


def test_media_needs_a_signed_in_session(client: TestClient, published: IngestResult) -> None:
    assert client.get(_media(published, "master.m3u8")).status_code == 401


def test_manifests_are_served_with_their_types_and_short_caching(
    signed_in: TestClient, published: IngestResult
) -> None:
    hls = signed_in.get(_media(published, "master.m3u8"))
    assert hls.status_code == 200
    assert hls.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert hls.headers["cache-control"] == "private, max-age=60"
    playlist = m3u8.loads(hls.text)
    assert len(playlist.playlists) == 2
    mpd = signed_in.get(_media(published, "manifest.mpd"))
    assert mpd.headers["content-type"].startswith("application/dash+xml")


@pytest.mark.parametrize("whole_read_max", [delivery_api.WHOLE_READ_MAX_BYTES, 0])
def test_segments_support_ranges_head_and_etags(
    signed_in: TestClient,
    published: IngestResult,
    whole_read_max: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Read whole and written at once (small files), or streamed (larger than the limit).
    monkeypatch.setattr(delivery_api, "WHOLE_READ_MAX_BYTES", whole_read_max)
    url = _media(published, "video/h264-234p-145k/seg-00001.m4s")
    whole = signed_in.get(url)
    assert whole.status_code == 200
    assert len(whole.content) == int(whole.headers["content-length"]) > 1000
    assert whole.headers["content-type"] == "video/iso.segment"
    assert "immutable" in whole.headers["cache-control"]
    assert whole.headers["accept-ranges"] == "bytes"
    size = len(whole.content)

    part = signed_in.get(url, headers={"range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == whole.content[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{size}"

    beyond = signed_in.get(url, headers={"range": f"bytes={size + 10}-"})
    assert beyond.status_code == 416

    head = signed_in.head(url)
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == size
    assert head.content == b""

    etag = whole.headers["etag"]
    cached = signed_in.get(url, headers={"if-none-match": etag})
    assert cached.status_code == 304
    assert cached.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/media/titles/../../secrets/secret_key",
        "/media/titles/%2e%2e/%2e%2e/secrets/secret_key",
        "/media/titles%2f..%2f..%2fsecrets%2fsecret_key",
        "/media/.staging/x",
        "/media//etc/passwd",
    ],
)
def test_path_tricks_never_leave_the_media_root(
    signed_in: TestClient, published: IngestResult, path: str
) -> None:
    response = signed_in.get(path)
    assert response.status_code == 404
    assert b"test-kkkk" not in response.content


def test_another_subscriber_sees_the_same_catalogue(
    client: TestClient, platform: Platform, published: IngestResult
) -> None:
    make_user(platform, "bob@example.org")
    sign_in(client, "bob@example.org")
    assert client.get("/api/titles").json()["items"][0]["id"] == published.title_id
