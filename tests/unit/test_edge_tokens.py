"""Signed edge URLs: genuine tokens open their prefix until expiry, nothing else gets in."""

from __future__ import annotations

import base64
import random

import pytest

from cineflux.edge.tokens import (
    OutsidePrefix,
    TokenError,
    TokenExpired,
    TokenForged,
    UnsafePath,
    check_object_path,
    parse_keys,
    sign_request,
    sign_token,
    signed_path,
    split_signed_path,
    verify_request,
    verify_token,
)

KEYS = {"k1": b"first-secret-0123456789", "k2": b"second-secret-0123456789"}
NOW = 1_800_000_000
PREFIX = "/titles/abc/"


def token(
    *, key_id: str = "k1", prefix: str = PREFIX, session: str = "s-1", expires: int = NOW + 60
) -> str:
    return sign_token(
        key_id=key_id, key=KEYS[key_id], path_prefix=prefix, session_id=session, expires=expires
    )


def test_a_genuine_token_opens_every_object_under_its_prefix() -> None:
    claims = verify_token(token(), keys=KEYS, path="/titles/abc/video/720p/seg-1.m4s", now=NOW)
    assert (claims.key_id, claims.session_id, claims.path_prefix) == ("k1", "s-1", PREFIX)
    assert claims.expires == NOW + 60


def test_an_expired_token_is_gone_410() -> None:
    with pytest.raises(TokenExpired) as caught:
        verify_token(token(expires=NOW), keys=KEYS, path="/titles/abc/x.m4s", now=NOW)
    assert caught.value.status == 410


def test_a_token_signed_with_an_unknown_key_is_forged_403() -> None:
    foreign = sign_token(
        key_id="k9",
        key=b"attacker-secret-012345",
        path_prefix=PREFIX,
        session_id="s",
        expires=NOW + 60,
    )
    with pytest.raises(TokenForged) as caught:
        verify_token(foreign, keys=KEYS, path="/titles/abc/x.m4s", now=NOW)
    assert caught.value.status == 403


def test_a_token_whose_key_id_is_swapped_does_not_verify() -> None:
    swapped = "k2" + token(key_id="k1")[2:]
    with pytest.raises(TokenForged):
        verify_token(swapped, keys=KEYS, path="/titles/abc/x.m4s", now=NOW)


def test_a_forged_expired_token_is_forged_not_expired() -> None:
    """Forgery is checked first: an attacker learns nothing about expiry."""
    forged = token(expires=NOW - 10)[:-2] + "AA"
    with pytest.raises(TokenForged):
        verify_token(forged, keys=KEYS, path="/titles/abc/x.m4s", now=NOW)


def test_key_rotation_both_keys_verify_and_removing_the_old_one_refuses_its_tokens() -> None:
    old, new = token(key_id="k1"), token(key_id="k2")
    for each in (old, new):
        verify_token(each, keys=KEYS, path="/titles/abc/x.m4s", now=NOW)
    with pytest.raises(TokenForged):
        verify_token(old, keys={"k2": KEYS["k2"]}, path="/titles/abc/x.m4s", now=NOW)
    verify_token(new, keys={"k2": KEYS["k2"]}, path="/titles/abc/x.m4s", now=NOW)


@pytest.mark.parametrize(
    "path",
    ["/titles/abcd/x.m4s", "/titles/ab/x.m4s", "/titles/x.m4s", "/other/abc/x.m4s", "/titles/abc"],
)
def test_a_directory_prefix_opens_nothing_outside_it(path: str) -> None:
    with pytest.raises(OutsidePrefix) as caught:
        verify_token(token(), keys=KEYS, path=path, now=NOW)
    assert caught.value.status == 403


def test_an_exact_prefix_opens_that_one_object_only() -> None:
    exact = token(prefix="/titles/abc/master.m3u8")
    verify_token(exact, keys=KEYS, path="/titles/abc/master.m3u8", now=NOW)
    for other in ("/titles/abc/master.m3u8x", "/titles/abc/index.m3u8"):
        with pytest.raises(OutsidePrefix):
            verify_token(exact, keys=KEYS, path=other, now=NOW)


@pytest.mark.parametrize(
    "path",
    [
        "/titles/abc/../secret",
        "/titles/abc/%2e%2e/secret",
        "/titles/abc/a%2fb",
        "/titles/abc/a\\b",
        "/titles/abc//x.m4s",
        "/titles/abc/./x.m4s",
        "/titles/abc/x\x00.m4s",
        "titles/abc/x.m4s",
        "//etc/passwd",
        "/titles/abc/ x.m4s",
        "/titles/abc/",
        "/" + "a" * 2000,
    ],
)
def test_path_tricks_are_unsafe_400_before_any_signature_check(path: str) -> None:
    with pytest.raises(UnsafePath) as caught:
        verify_token(token(), keys=KEYS, path=path, now=NOW)
    assert caught.value.status == 400


def test_split_signed_path_takes_the_first_segment_as_token() -> None:
    assert split_signed_path("/t/tok/titles/x.m4s") == ("tok", "/titles/x.m4s")
    assert signed_path("tok", "/titles/x.m4s") == "/t/tok/titles/x.m4s"
    for raw in ("/titles/x.m4s", "/t/", "/t/tok", "/t//x"):
        with pytest.raises(UnsafePath):
            split_signed_path(raw)


def test_object_paths_of_the_packager_are_accepted() -> None:
    for path in ("/titles/0f3c/video/1080p/seg-00001.m4s", "/titles/a/text/fr/subtitles.vtt"):
        assert check_object_path(path) == path


def test_keys_parse_and_refuse_short_secrets() -> None:
    assert parse_keys("a:0123456789abcdef, b:fedcba9876543210") == {
        "a": b"0123456789abcdef",
        "b": b"fedcba9876543210",
    }
    for bad in ("", "a", "a:short", "bad id:0123456789abcdef"):
        with pytest.raises(ValueError):
            parse_keys(bad)


def test_signed_requests_verify_and_refuse_other_bodies_targets_and_old_signatures() -> None:
    header = sign_request(
        key_id="k1", key=KEYS["k1"], method="POST", target="/api/cdn/heartbeat", body=b"{}", at=NOW
    )
    assert (
        verify_request(
            header, keys=KEYS, method="POST", target="/api/cdn/heartbeat", body=b"{}", now=NOW
        )
        == "k1"
    )
    for method, target, body in (
        ("GET", "/api/cdn/heartbeat", b"{}"),
        ("POST", "/x", b"{}"),
        ("POST", "/api/cdn/heartbeat", b"{ }"),
    ):
        with pytest.raises(TokenForged):
            verify_request(header, keys=KEYS, method=method, target=target, body=body, now=NOW)
    with pytest.raises(TokenExpired):
        verify_request(
            header, keys=KEYS, method="POST", target="/api/cdn/heartbeat", body=b"{}", now=NOW + 301
        )
    with pytest.raises(TokenForged):
        verify_request(
            None, keys=KEYS, method="POST", target="/api/cdn/heartbeat", body=b"{}", now=NOW
        )


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=/+%"


def mutate(rng: random.Random, text: str) -> str:
    """Flip, insert or delete one character at a random place (any field of the token)."""
    position = rng.randrange(len(text) + 1)
    operation = rng.choice(("flip", "insert", "delete"))
    if operation == "insert" or position == len(text):
        return text[:position] + rng.choice(ALPHABET) + text[position:]
    if operation == "delete":
        return text[:position] + text[position + 1 :]
    return text[:position] + rng.choice(ALPHABET) + text[position + 1 :]


def test_fuzz_every_mutated_token_is_refused_unless_identical() -> None:
    rng = random.Random(20261127)
    original = token()
    fields = original.split(".")
    assert len(fields) == 5
    refused = accepted_identical = 0
    for round_number in range(6000):
        candidate = original
        for _ in range(1 + round_number % 3):
            candidate = mutate(rng, candidate)
        try:
            verify_token(candidate, keys=KEYS, path="/titles/abc/x.m4s", now=NOW)
        except TokenError:
            refused += 1
            continue
        assert candidate == original, f"a mutated token verified: {candidate!r}"
        accepted_identical += 1
    assert refused + accepted_identical == 6000
    assert refused > 5900  # mutations that cancel out are rare, and only those may pass


def test_fuzz_every_field_mutated_alone_is_refused() -> None:
    rng = random.Random(7)
    fields = token().split(".")
    for index in range(len(fields)):
        for _ in range(400):
            changed = mutate(rng, fields[index])
            if changed == fields[index]:
                continue
            candidate = ".".join([*fields[:index], changed, *fields[index + 1 :]])
            with pytest.raises(TokenError):
                verify_token(candidate, keys=KEYS, path="/titles/abc/x.m4s", now=NOW)


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def withholding(*directories: str) -> str:
    return sign_token(
        key_id="k1",
        key=KEYS["k1"],
        path_prefix=PREFIX,
        session_id="s-1",
        expires=NOW + 60,
        withheld=directories,
    )


@pytest.mark.parametrize(
    ("path", "opens"),
    [
        ("/titles/abc/video/avc1-1080p/seg-00001.m4s", False),
        ("/titles/abc/video/avc1-1080p/init.mp4", False),
        ("/titles/abc/video/hvc1-2160p/index.m3u8", False),
        ("/titles/abc/video/avc1-720p/seg-00001.m4s", True),
        # A name that only begins like a withheld one is another directory.
        ("/titles/abc/video/avc1-1080p2/seg-00001.m4s", True),
        ("/titles/abc/audio/fr/seg-00001.m4s", True),
        ("/titles/abc/manifest.mpd", True),
        ("/titles/other/video/avc1-720p/seg-00001.m4s", False),
    ],
)
def test_a_token_does_not_open_the_directories_it_withholds(path: str, opens: bool) -> None:
    signed = withholding("video/hvc1-2160p", "video/avc1-1080p")
    if opens:
        claims = verify_token(signed, keys=KEYS, path=path, now=NOW)
        assert claims.withheld == ("video/avc1-1080p", "video/hvc1-2160p")
    else:
        with pytest.raises(OutsidePrefix):
            verify_token(signed, keys=KEYS, path=path, now=NOW)


def test_what_a_token_withholds_is_signed() -> None:
    # Dropping the withheld part of the ACL, or one of its directories, breaks the MAC.
    key_id, expires, session, _acl, mac = withholding("video/a", "video/b").split(".")
    for acl in (PREFIX, PREFIX + "!video/a", PREFIX + "!video/b"):
        stripped = ".".join([key_id, expires, session, b64(acl), mac])
        with pytest.raises(TokenForged):
            verify_token(stripped, keys=KEYS, path="/titles/abc/video/b/x.m4s", now=NOW)


@pytest.mark.parametrize("directory", ["../x", "video/../..", "video/a!b", "video/a,b", "a/", ""])
def test_only_plain_directory_names_are_withheld(directory: str) -> None:
    with pytest.raises(ValueError):
        withholding(directory)


def test_an_exact_path_prefix_withholds_nothing() -> None:
    with pytest.raises(ValueError):
        sign_token(
            key_id="k1",
            key=KEYS["k1"],
            path_prefix="/titles/abc/manifest.mpd",
            session_id="s",
            expires=NOW + 60,
            withheld=["video/a"],
        )
