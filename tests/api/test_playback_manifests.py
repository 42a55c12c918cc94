"""A play's personalised manifests over HTTP: for its account only, while it counts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import m3u8  # type: ignore[import-untyped]
import pytest
from fastapi.testclient import TestClient
from lxml import etree  # type: ignore[import-untyped]

from cineflux.db import transaction
from cineflux.delivery.service import edge_keys_spec
from cineflux.edge import tokens
from cineflux.media.layout import PackageLayout
from cineflux.media.manifests import dash_representations
from cineflux.media.writers import DASH_NS
from cineflux.platform import Platform
from tests.api.conftest import PASSWORD, sign_in
from tests.factories import grant, make_title
from tests.manifest_helpers import ladder_layout, ladder_package, store_manifests
from tests.playback_helpers import Subscriber, subscriber

# A browser that decodes H.264 only, on a 720-line screen.
DEVICE = {"codecs": ["avc1", "mp4a"], "max_height": 720}


@pytest.fixture
def viewer(platform: Platform) -> Subscriber:
    with transaction(platform.sessions) as session:
        return subscriber(session, platform.clock, platform.settings, password=PASSWORD)


@pytest.fixture
def film_id(platform: Platform) -> str:
    """A licensed film whose package has H.264 up to 1080p and HEVC up to 2160p."""
    with transaction(platform.sessions) as session:
        title = make_title(session, platform.clock, "Échelle")
        grant(session, platform.clock, title)
        ladder_package(session, platform.storage, title)
        return title.id


def start(client: TestClient, viewer: Subscriber, film_id: str, device: Any = None) -> Any:
    body = {"title_id": film_id, "profile_id": viewer.profile_id, "device": device or DEVICE}
    response = client.post("/api/playback", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def rungs(mpd: bytes) -> list[tuple[str, int | None]]:
    return [
        (rep.codecs.split(".")[0], rep.height)
        for rep in dash_representations(mpd.decode())
        if rep.content_type == "video"
    ]


def test_the_owner_gets_only_the_rungs_the_device_and_screen_allow(
    client: TestClient, platform: Platform, viewer: Subscriber, film_id: str
) -> None:
    sign_in(client, viewer.email)
    play = start(client, viewer, film_id)
    session_id = play["session_id"]
    assert play["manifests"] == {
        "dash": f"/api/playback/{session_id}/manifest.mpd",
        "hls": f"/api/playback/{session_id}/master.m3u8",
    }
    assert play["video_heights"] == [360, 720]

    mpd = client.get(play["manifests"]["dash"])
    assert mpd.status_code == 200
    assert mpd.headers["content-type"] == "application/dash+xml"
    assert mpd.headers["cache-control"] == "private, no-store"
    assert rungs(mpd.content) == [("avc1", 360), ("avc1", 720)]
    assert {rep.id for rep in dash_representations(mpd.text) if rep.content_type != "video"} == {
        "audio-fr",
        "audio-en",
        "text-fr",
        "text-en",
    }
    # Segments are on the one server there is (no edge), under a token of this session.
    (base,) = etree.fromstring(mpd.content).findall(f"{{{DASH_NS}}}BaseURL")
    prefix = f"http://testserver{tokens.TOKEN_ROUTE}/"
    assert base.text.startswith(prefix) and base.text.endswith(f"/titles/{film_id}/")
    token = base.text.removeprefix(prefix).split("/")[0]
    claims = tokens.verify_token(
        token,
        keys=tokens.parse_keys(edge_keys_spec(platform.settings, platform.signing_key)),
        path=f"/titles/{film_id}/video/avc1-720p/seg-00001.m4s",
        now=platform.clock.now().timestamp(),
    )
    assert claims.session_id == session_id

    hls = client.get(play["manifests"]["hls"])
    assert hls.status_code == 200
    assert hls.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    variants = m3u8.loads(hls.text).playlists
    assert [(p.stream_info.resolution, p.uri.removeprefix(base.text)) for p in variants] == [
        ((640, 360), "video/avc1-360p/index.m3u8"),
        ((1280, 720), "video/avc1-720p/index.m3u8"),
    ]


def test_the_rungs_follow_the_plan_and_the_device(
    client: TestClient, platform: Platform, viewer: Subscriber, film_id: str
) -> None:
    sign_in(client, viewer.email)
    # HEVC on a 4K screen, on an HD plan: HEVC up to 1080 lines, and H.264 is not decoded.
    play = start(client, viewer, film_id, {"codecs": ["hvc1", "mp4a"], "max_height": 2160})
    assert rungs(client.get(play["manifests"]["dash"]).content) == [("hvc1", 720)]
    variants = m3u8.loads(client.get(play["manifests"]["hls"]).text).playlists
    assert [p.stream_info.codecs for p in variants] == ["hvc1.1.6.L120.90,mp4a.40.2"]


@pytest.mark.parametrize("kind", ["dash", "hls"])
def test_the_start_carries_the_manifest_it_is_asked_for_as_its_route_sends_it(
    client: TestClient, viewer: Subscriber, film_id: str, kind: str
) -> None:
    sign_in(client, viewer.email)
    body = {"title_id": film_id, "profile_id": viewer.profile_id, "device": DEVICE}
    play = client.post("/api/playback", json={**body, "manifest": kind}).json()
    routed = client.get(play["manifests"][kind])
    assert play["manifest"] == {
        "kind": kind,
        "media_type": routed.headers["content-type"].split(";")[0],
        "body": routed.text,
    }
    if kind == "dash":
        assert rungs(play["manifest"]["body"].encode()) == [("avc1", 360), ("avc1", 720)]
    assert f"/t/{play['token']}/titles/{film_id}/" in play["manifest"]["body"]


def test_the_start_carries_no_manifest_unless_asked(
    client: TestClient, viewer: Subscriber, film_id: str
) -> None:
    sign_in(client, viewer.email)
    assert start(client, viewer, film_id)["manifest"] is None
    body = {"title_id": film_id, "profile_id": viewer.profile_id, "device": DEVICE}
    refused = client.post("/api/playback", json={**body, "manifest": "smooth"})
    assert refused.status_code == 422


def test_a_rewritten_package_manifest_is_read_again(
    client: TestClient, platform: Platform, viewer: Subscriber, film_id: str
) -> None:
    sign_in(client, viewer.email)
    play = start(client, viewer, film_id)
    assert rungs(client.get(play["manifests"]["dash"]).content) == [("avc1", 360), ("avc1", 720)]
    ladder = ladder_layout()
    without_720 = PackageLayout(
        video=tuple(t for t in ladder.video if t.height != 720), audio=ladder.audio
    )
    store_manifests(platform.storage, f"titles/{film_id}", without_720)
    assert rungs(client.get(play["manifests"]["dash"]).content) == [("avc1", 360)]


def test_another_account_does_not_even_learn_the_play_exists(
    client: TestClient, platform: Platform, viewer: Subscriber, film_id: str
) -> None:
    sign_in(client, viewer.email)
    play = start(client, viewer, film_id)
    with transaction(platform.sessions) as session:
        other = subscriber(
            session, platform.clock, platform.settings, "other@example.org", password=PASSWORD
        )
    intruder = TestClient(client.app, follow_redirects=False)
    sign_in(intruder, other.email)
    for kind in ("dash", "hls"):
        refused = intruder.get(play["manifests"][kind])
        assert refused.status_code == 404
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["title"] == "Playback session not found"
    assert intruder.get("/api/playback/no-such-session/manifest.mpd").status_code == 404


def test_without_a_session_the_manifest_is_refused(
    client: TestClient, platform: Platform, viewer: Subscriber, film_id: str
) -> None:
    sign_in(client, viewer.email)
    play = start(client, viewer, film_id)
    anonymous = TestClient(client.app)
    assert anonymous.get(play["manifests"]["dash"]).status_code == 401
    assert anonymous.get(play["manifests"]["hls"]).status_code == 401


def test_a_stopped_or_lapsed_play_has_no_manifest_any_more(
    client: TestClient, platform: Platform, viewer: Subscriber, film_id: str
) -> None:
    sign_in(client, viewer.email)
    stopped = start(client, viewer, film_id)
    assert client.delete(f"/api/playback/{stopped['session_id']}").status_code == 204
    gone = client.get(stopped["manifests"]["dash"])
    assert gone.status_code == 410
    assert gone.json()["title"] == "Playback ended"

    lapsed = start(client, viewer, film_id)
    platform.clock.advance(timedelta(seconds=89))  # type: ignore[attr-defined]
    assert client.get(lapsed["manifests"]["hls"]).status_code == 200
    platform.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    assert client.get(lapsed["manifests"]["hls"]).status_code == 410


def test_a_withdrawn_package_manifest_is_not_playable(
    client: TestClient, platform: Platform, viewer: Subscriber, film_id: str
) -> None:
    sign_in(client, viewer.email)
    play = start(client, viewer, film_id)
    platform.storage.remove_prefix(f"titles/{film_id}")
    missing = client.get(play["manifests"]["dash"])
    assert missing.status_code == 404
    assert missing.json()["title"] == "Not playable"


def _opens(platform: Platform, token: str, path: str) -> bool:
    try:
        tokens.verify_token(
            token,
            keys=tokens.parse_keys(edge_keys_spec(platform.settings, platform.signing_key)),
            path=path,
            now=platform.clock.now().timestamp(),
        )
    except tokens.OutsidePrefix:
        return False
    return True


def test_the_token_refuses_the_rungs_the_manifest_leaves_out(
    client: TestClient, platform: Platform, viewer: Subscriber, film_id: str
) -> None:
    # A manifest without the 1080p and HEVC rungs is not enough: a player could still ask
    # for their segments by name, so the play's tokens do not open their directories.
    sign_in(client, viewer.email)
    play = start(client, viewer, film_id)
    mpd = client.get(play["manifests"]["dash"])
    (base,) = etree.fromstring(mpd.content).findall(f"{{{DASH_NS}}}BaseURL")
    route_token = base.text.removeprefix(f"http://testserver{tokens.TOKEN_ROUTE}/").split("/")[0]
    renewed = client.post(
        f"/api/playback/{play['session_id']}/heartbeat", json={"position_seconds": 1}
    )
    assert renewed.status_code == 200
    film = f"/titles/{film_id}"
    for token in (play["token"], route_token, renewed.json()["token"]):
        for kept in ("avc1-360p", "avc1-720p"):
            assert _opens(platform, token, f"{film}/video/{kept}/seg-00001.m4s")
        for withheld in ("avc1-1080p", "hvc1-720p", "hvc1-2160p"):
            assert not _opens(platform, token, f"{film}/video/{withheld}/init.mp4")
        assert _opens(platform, token, f"{film}/audio/en/seg-00001.m4s")
        assert _opens(platform, token, f"{film}/manifest.mpd")

    # At the origin: a kept rung's missing file is a 404, a withheld one's a 403.
    origin = f"{tokens.TOKEN_ROUTE}/{play['token']}{film}/video"
    assert client.get(f"{origin}/avc1-720p/seg-00099.m4s").status_code == 404
    assert client.get(f"{origin}/avc1-1080p/seg-00001.m4s").status_code == 403
