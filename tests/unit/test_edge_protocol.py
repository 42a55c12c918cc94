"""The edge's HTTP decisions without sockets: request heads, conditionals, heads, CMSD."""

from __future__ import annotations

import pytest

from cineflux.edge import protocol
from cineflux.edge.media_types import (
    RangeNotSatisfiable,
    cache_control_for,
    content_type_for,
    parse_range,
)
from cineflux.edge.metrics import Gauges, Metrics, parse_exposition, render
from cineflux.edge.settings import check_upstream, default_public_url, parse_listen, parse_size


def test_a_request_head_parses_with_lower_case_names_and_its_length() -> None:
    data = b"GET /t/x/a.m4s?CMCD=bl%3D100 HTTP/1.1\r\nHost: e\r\nRange: bytes=0-9\r\n\r\nGET /next"
    parsed = protocol.parse_request_head(data)
    assert parsed is not None
    head, used = parsed
    assert (head.method, head.target, head.path) == (
        "GET",
        "/t/x/a.m4s?CMCD=bl%3D100",
        "/t/x/a.m4s",
    )
    assert head.headers == {"host": "e", "range": "bytes=0-9"}
    assert data[used:] == b"GET /next"
    assert head.keep_alive


def test_an_incomplete_head_waits_for_more_bytes() -> None:
    assert protocol.parse_request_head(b"GET / HTTP/1.1\r\nHost: e\r\n") is None


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GET /\r\n\r\n", 400),
        (b"GET  / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n Host: folded\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 400),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 20000, 431),
    ],
)
def test_malformed_heads_are_refused_with_their_status(data: bytes, status: int) -> None:
    with pytest.raises(protocol.BadRequest) as caught:
        protocol.parse_request_head(data)
    assert caught.value.status == status


def test_keep_alive_follows_the_version_and_connection_header() -> None:
    def head(version: str, connection: str | None) -> protocol.RequestHead:
        headers = {"connection": connection} if connection else {}
        return protocol.RequestHead("GET", "/", version, headers)

    assert head("HTTP/1.1", None).keep_alive
    assert not head("HTTP/1.1", "close").keep_alive
    assert not head("HTTP/1.0", None).keep_alive
    assert head("HTTP/1.0", "Keep-Alive").keep_alive


def test_if_none_match_uses_weak_comparison_lists_and_star() -> None:
    assert protocol.etag_matches('"a", "b"', '"b"')
    assert protocol.etag_matches('W/"b"', '"b"')
    assert protocol.etag_matches("*", '"b"')
    assert not protocol.etag_matches('"c"', '"b"')
    assert not protocol.etag_matches(None, '"b"')


def test_a_small_response_frames_its_body_and_says_when_it_closes() -> None:
    data = protocol.small_response(404, b"nope\n", date="D", keep_alive=False)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert b"Content-Length: 5" in head and b"Connection: close" in head
    assert b"Access-Control-Allow-Origin: *" in head
    assert body == b"nope\n"
    head_only = protocol.small_response(404, b"nope\n", date="D", keep_alive=True, head_only=True)
    assert head_only.endswith(b"\r\n\r\n") and b"Content-Length: 5" in head_only


@pytest.mark.parametrize(
    ("path", "object_type"),
    [
        ("/titles/a/master.m3u8", "m"),
        ("/titles/a/manifest.mpd", "m"),
        ("/titles/a/video/1080p/init.mp4", "i"),
        ("/titles/a/video/1080p/seg-00001.m4s", "v"),
        ("/titles/a/audio/fr/seg-00001.m4s", "a"),
        ("/titles/a/text/fr/subtitles.vtt", "c"),
        ("/titles/a/poster.jpg", "o"),
        ("/titles/a/unknown.bin", None),
    ],
)
def test_cmsd_object_types_follow_the_package_layout(path: str, object_type: str | None) -> None:
    assert protocol.cmsd_object_type(path) == object_type


def test_cmsd_static_and_dynamic_values_are_structured_fields() -> None:
    assert (
        protocol.cmsd_static("/t/a/master.m3u8", 'paris "1"') == 'ot=m,sf=h,st=v,n="paris \\"1\\""'
    )
    assert protocol.cmsd_static("/t/a/x.bin", "e") == 'st=v,n="e"'
    value = protocol.cmsd_dynamic(
        "e1", estimated_kbps=5000, rtt_ms=12, response_delay_ms=3, duress=True
    )
    assert value == '"e1";etp=5000;rtt=12;rd=3;du'
    assert protocol.cmsd_dynamic("e1") == '"e1"'


def test_estimated_throughput_is_the_send_window_over_the_round_trip() -> None:
    # 10 packets of 1448 bytes every 20 ms: 14480 * 8 bits / 20 ms = 5792 kbit/s.
    assert (
        protocol.estimated_throughput_kbps(cwnd_packets=10, mss=1448, rwnd_bytes=0, rtt_us=20_000)
        == 5792
    )
    assert (
        protocol.estimated_throughput_kbps(
            cwnd_packets=10, mss=1448, rwnd_bytes=7240, rtt_us=20_000
        )
        == 2896
    )
    assert (
        protocol.estimated_throughput_kbps(cwnd_packets=10, mss=1448, rwnd_bytes=0, rtt_us=0) == 0
    )


def test_content_types_and_cache_lifetimes_by_extension() -> None:
    assert content_type_for("a/master.m3u8") == "application/vnd.apple.mpegurl"
    assert content_type_for("a/seg.m4s") == "video/iso.segment"
    assert content_type_for("a/s.vtt") == "text/vtt; charset=utf-8"
    assert content_type_for("a/x.bin") == "application/octet-stream"
    assert cache_control_for("a/master.m3u8") == "private, max-age=60"
    assert cache_control_for("a/seg.m4s") == "private, max-age=31536000, immutable"


def test_ranges_single_suffix_open_and_unsatisfiable() -> None:
    assert parse_range("bytes=0-9", 100) == (0, 9)
    assert parse_range("bytes=90-", 100) == (90, 99)
    assert parse_range("bytes=-10", 100) == (90, 99)
    assert parse_range("bytes=0-1,5-6", 100) is None
    assert parse_range("items=0-1", 100) is None
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=100-", 100)


def test_sizes_listen_addresses_and_upstreams_parse() -> None:
    assert parse_size("200M") == 200 * 1024**2
    assert parse_size("50G") == 50 * 1024**3
    assert parse_size("1.5k") == 1536
    assert parse_size("4096") == 4096
    for bad in ("", "12X", "-1G", "0"):
        with pytest.raises(ValueError):
            parse_size(bad)
    assert parse_listen("127.0.0.1:8600") == ("127.0.0.1", 8600)
    assert parse_listen(":80") == ("0.0.0.0", 80)  # noqa: S104
    assert parse_listen("[::1]:8080") == ("::1", 8080)
    with pytest.raises(ValueError):
        parse_listen("localhost")
    assert check_upstream("http://origin:8000/") == "http://origin:8000"
    assert check_upstream("file:///srv/storage") == "file:///srv/storage"
    with pytest.raises(ValueError):
        check_upstream("ftp://origin")
    everywhere = "0.0.0.0"  # noqa: S104
    assert default_public_url(everywhere, 8600) == "http://127.0.0.1:8600"
    assert default_public_url("::1", 80) == "http://[::1]:80"


def test_metrics_render_as_prometheus_text_and_parse_back() -> None:
    metrics = Metrics()
    metrics.served(200, "hit", 2_000_000)
    metrics.served(200, "hit", 1_000)
    metrics.served(403, "rejected", 0)
    metrics.token_rejections["forged"] += 1
    gauges = Gauges(3, 10, 100, 1, 2, 20, 0, True)
    text = render(metrics, gauges)
    assert "# TYPE cineflux_edge_requests_total counter" in text
    samples = parse_exposition(text)
    assert samples['cineflux_edge_requests_total{status="200",result="hit"}'] == 2
    assert samples['cineflux_edge_bytes_served_total{status="200",result="hit"}'] == 2_001_000
    assert samples['cineflux_edge_token_rejections_total{reason="forged"}'] == 1
    assert samples["cineflux_edge_open_connections"] == 3
    assert samples["cineflux_edge_evictions_total"] == 2
