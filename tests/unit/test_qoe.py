"""QoE pure functions: CMCD parsing, percentiles, ratios, trusted times, device classes,
and the strict shape of a batch."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from cineflux.telemetry.cmcd import InvalidCmcd, parse_cmcd_payload, parse_cmcd_query
from cineflux.telemetry.metrics import (
    MAX_EVENT_AGE,
    device_of,
    hour_of,
    parse_since,
    percentile,
    percentiles,
    rebuffer_ratio,
    trusted_time,
)
from cineflux.telemetry.schemas import QoeBatchIn

NOW = datetime(2026, 1, 15, 12, 34, 56, tzinfo=UTC)

# What Shaka Player 5 puts on a segment request (query-argument mode).
SHAKA_QUERY = (
    "CMCD=bl%3D21300%2Cbr%3D3200%2Cbs%2Ccid%3D%22faec5fc2-ac30-11ea-bb37-0242ac130002%22"
    "%2Cd%3D4004%2Cdl%3D18500%2Cmtp%3D48100%2Cnor%3D%22..%252F300kbps%252Ftrack.m4v%22"
    "%2Cot%3Dv%2Cpr%3D1.08%2Crtp%3D12000%2Csf%3Dd%2Csid%3D%226e2fb550-c457-11e9-bb97-0800200c9a66%22"
    "%2Cst%3Dv%2Csu%2Ctb%3D6000"
)


def test_cmcd_query_of_a_segment_request_becomes_typed_values() -> None:
    assert parse_cmcd_query(SHAKA_QUERY) == {
        "bl": 21300,
        "br": 3200,
        "bs": True,
        "cid": "faec5fc2-ac30-11ea-bb37-0242ac130002",
        "d": 4004,
        "dl": 18500,
        "mtp": 48100,
        "nor": "..%2F300kbps%2Ftrack.m4v",
        "ot": "v",
        "pr": 1.08,
        "rtp": 12000,
        "sf": "d",
        "sid": "6e2fb550-c457-11e9-bb97-0800200c9a66",
        "st": "v",
        "su": True,
        "tb": 6000,
    }


def test_cmcd_next_object_requests_are_not_capped_like_ids() -> None:
    # As Chromium sent it in the e2e test: nor is a relative URL longer than 64 characters.
    nor = "../../../884eaff3-59de-414b-9472-095f3cea9601/video/h264-360p-365k/seg-00004.m4s"
    assert parse_cmcd_payload(f'nor="{nor}",ot=v')["nor"] == nor


def test_cmcd_is_found_in_a_whole_url_among_other_arguments() -> None:
    url = "https://edge1.example/t/tok/titles/x/v/1.m4s?a=1&CMCD=br%3D800%2Cot%3Dv&z=2"
    assert parse_cmcd_query(url) == {"br": 800, "ot": "v"}


def test_cmcd_strings_keep_quoted_commas_and_escapes() -> None:
    assert parse_cmcd_payload('cid="a,b\\"c",br=1') == {"cid": 'a,b"c', "br": 1}


def test_cmcd_keeps_unknown_and_custom_keys_typed_by_their_spelling() -> None:
    parsed = parse_cmcd_payload('com.example-flag,com.example-n=7,nk="x",ltc=1.5,tok=abc')
    assert parsed == {
        "com.example-flag": True,
        "com.example-n": 7,
        "nk": "x",
        "ltc": 1.5,
        "tok": "abc",
    }


def test_an_empty_cmcd_payload_is_no_data() -> None:
    assert parse_cmcd_payload("") == {}


@pytest.mark.parametrize(
    "payload",
    [
        "br=fast",  # integer key with a word
        "br",  # integer key without a value
        "cid=abc",  # string key unquoted
        'cid="unterminated',
        "ot=x",  # not an object type token
        "st=live",
        "bs=true",  # booleans are the bare key
        "br=1,br=2",  # repeated
        "br=1,",  # trailing comma
        ",br=1",
        "BR=1",  # keys are lower case
        'cid="a"x',
        "pr=1.2.3",
        'sid="' + "s" * 65 + '"',  # over 64 characters
        "x=" + "a" * 2100,
    ],
)
def test_malformed_cmcd_is_refused(payload: str) -> None:
    with pytest.raises(InvalidCmcd):
        parse_cmcd_payload(payload)


@pytest.mark.parametrize("query", ["br%3D1", "CMCD=br%3D1&CMCD=br%3D2", "foo=1"])
def test_a_query_without_exactly_one_cmcd_argument_is_refused(query: str) -> None:
    with pytest.raises(InvalidCmcd):
        parse_cmcd_query(query)


def test_nearest_rank_percentiles_are_observed_values() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50
    assert percentile(values, 90) == 90
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7
    # Ten plays: p99 is the worst one, not an interpolation beyond it.
    assert percentiles([float(v) for v in range(10, 0, -1)]) == {"p50": 5, "p90": 9, "p99": 10}


def test_percentiles_of_nothing_are_none_and_bad_ranks_are_refused() -> None:
    assert percentiles([]) is None
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 0)


def test_rebuffer_ratio_is_stall_over_watch_time() -> None:
    assert rebuffer_ratio(1_000, 9_000) == 0.1
    assert rebuffer_ratio(0, 5_000) == 0
    assert rebuffer_ratio(0, 0) is None
    assert rebuffer_ratio(2_000, 0) == 1.0  # stalled from start to end


def test_client_times_are_clamped_to_the_server_clock() -> None:
    assert trusted_time(None, now=NOW) == NOW
    assert trusted_time(NOW - timedelta(seconds=8), now=NOW) == NOW - timedelta(seconds=8)
    assert trusted_time(NOW + timedelta(hours=3), now=NOW) == NOW
    assert trusted_time(NOW - timedelta(days=2), now=NOW) == NOW - MAX_EVENT_AGE


def test_hours_are_utc_buckets() -> None:
    assert hour_of(NOW) == datetime(2026, 1, 15, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            ("desktop", "chrome"),
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            ("mobile", "safari"),
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            ("tablet", "safari"),
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0 Safari/537.36",
            ("tablet", "chrome"),
        ),
        (
            "Mozilla/5.0 (SMART-TV; LINUX; Tizen 7.0) AppleWebKit/537.36 (KHTML, like Gecko) "
            "SamsungBrowser/5.0 Chrome/94.0 TV Safari/537.36",
            ("tv", "chrome"),
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
            ("desktop", "firefox"),
        ),
        ("curl/8.5.0", ("other", "other")),
        (None, ("other", "other")),
    ],
)
def test_devices_are_classified_from_the_user_agent(
    user_agent: str | None, expected: tuple[str, str]
) -> None:
    assert device_of(user_agent) == expected


def test_since_takes_durations_and_iso_dates() -> None:
    assert parse_since("90m", now=NOW) == NOW - timedelta(minutes=90)
    assert parse_since("24h", now=NOW) == NOW - timedelta(hours=24)
    assert parse_since("7d", now=NOW) == NOW - timedelta(days=7)
    assert parse_since("2026-01-14T10:00", now=NOW) == datetime(2026, 1, 14, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="--since"):
        parse_since("yesterday", now=NOW)


def batch(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "session_id": "3f1c2a9e-0b7d-4c55-9a3e-2f0e6f1b8c11",
        "title_id": "9b2d7c40-1f3a-4e8b-8d6a-5c0e2b7f1a90",
        "edge": "edge1.example:8443",
        "events": [{"kind": "startup", "ms": 640, "at": "2026-01-15T12:34:50.123Z"}],
    }
    body.update(changes)
    return body


def test_a_well_formed_batch_becomes_the_services_batch() -> None:
    parsed = QoeBatchIn.model_validate(
        batch(
            events=[
                {"kind": "startup", "ms": 640},
                {"kind": "rebuffer", "duration_ms": 1200},
                {"kind": "played", "ms": 9000},
                {"kind": "bitrate", "from_bps": 800_000, "to_bps": 3_200_000},
                {"kind": "error", "code": "1001"},
                {"kind": "cmcd", "query": "CMCD=br%3D3200"},
            ]
        )
    ).to_batch()
    kinds = [(e.kind, e.duration_ms, e.count) for e in parsed.events]
    assert kinds == [
        ("startup", 640, None),
        ("rebuffer", 1200, 1),
        ("played", 9000, None),
        ("bitrate", None, None),
        ("error", None, None),
        ("cmcd", None, None),
    ]
    assert parsed.events[3].to_bps == 3_200_000
    assert parsed.events[5].cmcd_query == "CMCD=br%3D3200"


@pytest.mark.parametrize(
    "changes",
    [
        {"session_id": "short"},
        {"session_id": "has spaces in it"},
        {"title_id": "../etc"},
        {"edge": "Edge One"},
        {"edge": "https://edge1.example"},
        {"events": []},
        {"events": [{"kind": "startup", "ms": 1}] * 101},
        {"events": [{"kind": "teleport"}]},
        {"events": [{"kind": "startup", "ms": "640"}]},  # strings are not numbers
        {"events": [{"kind": "startup", "ms": 640.5}]},
        {"events": [{"kind": "startup", "ms": -1}]},
        {"events": [{"kind": "startup", "ms": 640, "extra": 1}]},
        {"events": [{"kind": "startup", "ms": 640, "at": "2026-01-15T12:34:50"}]},  # no zone
        {"events": [{"kind": "rebuffer", "duration_ms": 4_000_000}]},
        {"events": [{"kind": "bitrate", "to_bps": 0}]},
        {"events": [{"kind": "error", "code": "<script>"}]},
        {"user": "someone-else"},
    ],
)
def test_malformed_batches_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        QoeBatchIn.model_validate_json(json.dumps(batch(**changes)))
