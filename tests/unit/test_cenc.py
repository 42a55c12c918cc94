"""Pure CENC and Clear Key helpers, and the protection signalling of the manifests."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from cineflux.media.layout import MediaTrack, PackageLayout, Segment
from cineflux.media.writers import dash_mpd, hls_media_playlist
from cineflux.protection.cenc import (
    CLEAR_KEY_URN,
    InvalidLicenceRequest,
    b64url,
    clear_key_licence,
    clear_key_pssh,
    kid_uuid,
    parse_clear_key_request,
)

VIDEO_KID, AUDIO_KID = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"


def test_a_clear_key_request_gives_the_key_ids_in_hex() -> None:
    body = json.dumps({"kids": [b64url(bytes.fromhex(VIDEO_KID))], "type": "temporary"})
    request = parse_clear_key_request(body.encode())
    assert request.kids == (VIDEO_KID,) and request.session_type == "temporary"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"kids": []}',
        b'{"kids": ["AAAA"]}',  # 3 bytes, not 16
        b'{"kids": ["!!!!"]}',
        json.dumps({"kids": [b64url(b"k" * 16)], "type": "persistent-license"}).encode(),
        json.dumps({"kids": [b64url(b"k" * 16)] * 17}).encode(),
    ],
)
def test_malformed_clear_key_requests_are_refused(body: bytes) -> None:
    with pytest.raises(InvalidLicenceRequest):
        parse_clear_key_request(body)


def test_a_clear_key_licence_is_a_jwk_set_in_base64url() -> None:
    licence = json.loads(clear_key_licence({VIDEO_KID: b"\xff" * 16}))
    assert licence == {
        "keys": [{"kty": "oct", "kid": "ASNFZ4mrze8BI0VniavN7w", "k": "_____________________w"}],
        "type": "temporary",
    }


def test_the_clear_key_pssh_is_the_w3c_common_version_1_box_listing_the_key_ids() -> None:
    box = clear_key_pssh([VIDEO_KID])
    assert int.from_bytes(box[:4], "big") == len(box) == 52 and box[4:8] == b"pssh"
    assert box[8] == 1 and box[12:28].hex() == "1077efecc0b24d02ace33c1e52e2fb4b"
    assert box[32:48].hex() == VIDEO_KID


def _track(kind: str, key_id: str | None) -> MediaTrack:
    return MediaTrack(
        id=f"{kind}1",
        kind="video" if kind == "video" else "audio",
        directory=f"{kind}/1",
        codecs="avc1.64001e" if kind == "video" else "mp4a.40.2",
        timescale=1000,
        segments=(Segment(4000, 10_000), Segment(2000, 5000)),
        width=640 if kind == "video" else None,
        height=360 if kind == "video" else None,
        language="fr" if kind == "audio" else None,
        key_id=key_id,
    )


def test_dash_signals_cenc_with_each_adaptation_sets_key_and_clear_key() -> None:
    layout = PackageLayout(video=(_track("video", VIDEO_KID),), audio=(_track("audio", AUDIO_KID),))
    mpd = ET.fromstring(dash_mpd(layout))  # noqa: S314 -- our own output
    ns = {"d": "urn:mpeg:dash:schema:mpd:2011"}
    default_kid = "{urn:mpeg:cenc:2013}default_KID"
    found = {}
    for adaptation in mpd.iterfind("d:Period/d:AdaptationSet", ns):
        protections = adaptation.findall("d:ContentProtection", ns)
        assert [p.get("schemeIdUri") for p in protections] == [
            "urn:mpeg:dash:mp4protection:2011",
            CLEAR_KEY_URN,
        ]
        assert protections[0].get("value") == "cenc"
        assert next(iter(adaptation)) is protections[0]  # first, as the schema orders them
        found[adaptation.get("contentType")] = protections[0].get(default_kid)
    assert found == {"video": kid_uuid(VIDEO_KID), "audio": kid_uuid(AUDIO_KID)}


def test_hls_signals_sample_aes_ctr_with_the_clear_key_keyformat_before_the_map() -> None:
    lines = hls_media_playlist(_track("video", VIDEO_KID)).splitlines()
    key = next(line for line in lines if line.startswith("#EXT-X-KEY:"))
    assert "METHOD=SAMPLE-AES-CTR" in key and f"KEYID=0x{VIDEO_KID}" in key
    assert f'KEYFORMAT="{CLEAR_KEY_URN}"' in key and 'URI="data:text/plain;base64,' in key
    assert lines.index(key) < next(i for i, x in enumerate(lines) if x.startswith("#EXT-X-MAP"))
    # Shaka's HLS parser takes Clear Key keys only by "identity" delivery, from keys/<kid>.
    identity = lines[lines.index(key) + 1]
    assert identity == (
        f'#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,URI="keys/{VIDEO_KID}",KEYFORMAT="identity"'
    )


def test_clear_tracks_carry_no_protection_signalling() -> None:
    layout = PackageLayout(video=(_track("video", None),), audio=(_track("audio", None),))
    assert "ContentProtection" not in dash_mpd(layout)
    assert "EXT-X-KEY" not in hls_media_playlist(_track("audio", None))
