"""A real edge process in front of a storage directory: hits, misses, ranges, conditionals,
headers, and every refused request served nothing and reached no upstream."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from cineflux.edge.harness import EdgeProcess, read_response, start_edge
from tests.edge.conftest import KEYS, Origin, make_token, signed

SEGMENT = "/titles/abc/video/720p/seg-00001.m4s"


@pytest.fixture
def edge(origin: Origin, tmp_path: Path, edges: list[EdgeProcess]) -> EdgeProcess:
    process = start_edge(
        keys=KEYS, upstreams=[origin.url], cache_dir=tmp_path / "cache", name="paris-1"
    )
    edges.append(process)
    return process


def test_a_miss_is_fetched_once_then_served_as_a_hit_with_the_same_bytes(
    origin: Origin, tmp_path: Path, edges: list[EdgeProcess]
) -> None:
    # Started as operators start it: the cineflux command.
    edge = start_edge(
        keys=KEYS, upstreams=[origin.url], cache_dir=tmp_path / "cache", module="cineflux edge"
    )
    edges.append(edge)
    first = edge.get(signed(SEGMENT))
    second = edge.get(signed(SEGMENT))
    assert first.status == second.status == 200
    assert first.body == second.body == origin.objects[SEGMENT]
    assert first.headers["etag"] == second.headers["etag"]
    metrics = edge.metrics()
    assert metrics["cineflux_edge_cache_misses_total"] == 1
    assert metrics["cineflux_edge_cache_hits_total"] == 1
    assert metrics["cineflux_edge_upstream_fetches_total"] == 1
    assert metrics['cineflux_edge_requests_total{status="200",result="hit"}'] == 1
    assert metrics['cineflux_edge_bytes_served_total{status="200",result="miss"}'] == len(
        first.body
    )


def test_answers_carry_type_caching_cors_and_cmsd_headers(edge: EdgeProcess) -> None:
    segment = edge.get(signed(SEGMENT))
    playlist = edge.get(signed("/titles/abc/master.m3u8"))
    init = edge.get(signed("/titles/abc/video/720p/init.mp4"))
    assert segment.headers["content-type"] == "video/iso.segment"
    assert playlist.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert init.headers["content-type"] == "video/mp4"
    assert segment.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert playlist.headers["cache-control"] == "private, max-age=60"
    assert segment.headers["accept-ranges"] == "bytes"
    assert segment.headers["access-control-allow-origin"] == "*"
    assert segment.headers["etag"].startswith('"')
    assert segment.headers["cmsd-static"] == 'ot=v,st=v,n="paris-1"'
    assert playlist.headers["cmsd-static"] == 'ot=m,sf=h,st=v,n="paris-1"'
    assert init.headers["cmsd-static"].startswith("ot=i,")
    assert segment.headers["cmsd-dynamic"].startswith('"paris-1";')
    assert ";rd=" in segment.headers["cmsd-dynamic"]


def test_ranges_give_206_with_the_exact_bytes_and_416_past_the_end(
    edge: EdgeProcess, origin: Origin
) -> None:
    body = origin.objects[SEGMENT]
    # On a miss: the whole object is fetched and the range served from it.
    partial = edge.get(signed(SEGMENT), headers={"Range": "bytes=1000-1999"})
    assert partial.status == 206
    assert partial.body == body[1000:2000]
    assert partial.headers["content-range"] == f"bytes 1000-1999/{len(body)}"
    # Then on hits: suffix and open ranges.
    assert edge.get(signed(SEGMENT), headers={"Range": "bytes=-10"}).body == body[-10:]
    tail = edge.get(signed(SEGMENT), headers={"Range": f"bytes={len(body) - 5}-"})
    assert (tail.status, tail.body) == (206, body[-5:])
    refused = edge.get(signed(SEGMENT), headers={"Range": f"bytes={len(body)}-"})
    assert refused.status == 416
    assert refused.headers["content-range"] == f"bytes */{len(body)}"
    assert refused.body == b""
    multi = edge.get(signed(SEGMENT), headers={"Range": "bytes=0-1,5-6"})
    assert (multi.status, multi.body) == (200, body)
    stale = edge.get(signed(SEGMENT), headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert (stale.status, len(stale.body)) == (200, len(body))
    assert edge.metrics()["cineflux_edge_upstream_fetches_total"] == 1


def test_head_has_the_get_headers_and_no_body(edge: EdgeProcess, origin: Origin) -> None:
    head = edge.get(signed(SEGMENT), method="HEAD")
    assert head.status == 200
    assert head.headers["content-length"] == str(len(origin.objects[SEGMENT]))
    # Nothing followed the head: the next answer on a keep-alive connection parses cleanly.
    with socket.create_connection(("127.0.0.1", edge.port), timeout=5) as sock:
        sock.sendall(f"HEAD {signed(SEGMENT)} HTTP/1.1\r\nHost: e\r\n\r\n".encode())
        assert read_response(sock, head_only=True).status == 200
        sock.sendall(
            f"GET {signed('/titles/abc/master.m3u8')} HTTP/1.1\r\nHost: e\r\n\r\n".encode()
        )
        assert read_response(sock).body == origin.objects["/titles/abc/master.m3u8"]


def test_if_none_match_gives_304_without_a_body(edge: EdgeProcess) -> None:
    etag = edge.get(signed(SEGMENT)).headers["etag"]
    answer = edge.get(signed(SEGMENT), headers={"If-None-Match": f'"nope", {etag}'})
    assert answer.status == 304
    assert answer.headers["etag"] == etag
    assert edge.get(signed(SEGMENT), headers={"If-None-Match": '"nope"'}).status == 200


def test_one_keep_alive_connection_carries_many_requests(edge: EdgeProcess, origin: Origin) -> None:
    with socket.create_connection(("127.0.0.1", edge.port), timeout=5) as sock:
        for _ in range(5):
            sock.sendall(f"GET {signed(SEGMENT)} HTTP/1.1\r\nHost: e\r\n\r\n".encode())
            assert read_response(sock).body == origin.objects[SEGMENT]
    assert edge.metrics()["cineflux_edge_connections_accepted_total"] <= 3  # this one + /metrics


def test_a_cors_preflight_for_range_is_answered(edge: EdgeProcess) -> None:
    answer = edge.get(
        signed(SEGMENT),
        method="OPTIONS",
        headers={"Origin": "https://app.example", "Access-Control-Request-Headers": "range"},
    )
    assert answer.status == 204
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "Range" in answer.headers["access-control-allow-headers"]
    assert "GET" in answer.headers["access-control-allow-methods"]


def test_forged_expired_and_out_of_prefix_tokens_get_403_410_and_nothing(
    edge: EdgeProcess, origin: Origin
) -> None:
    genuine = make_token()
    forged = genuine[:-4] + ("AAAA" if not genuine.endswith("AAAA") else "BBBB")
    cases = {
        signed(SEGMENT, forged): 403,
        signed(SEGMENT, make_token(expires_in=-1)): 410,
        signed("/titles/other/seg.m4s", genuine): 403,
        signed("/secret.txt", genuine): 403,
        f"/t/{make_token('/titles/')}/titles/../secret.txt": 400,
        SEGMENT: 404,  # no token at all: not an object route
    }
    for target, status in cases.items():
        answer = edge.get(target)
        assert answer.status == status, target
        assert origin.objects[SEGMENT] not in answer.body
        assert b"outside every prefix" not in answer.body
    metrics = edge.metrics()
    assert metrics['cineflux_edge_token_rejections_total{reason="forged"}'] == 1
    assert metrics['cineflux_edge_token_rejections_total{reason="expired"}'] == 1
    assert metrics['cineflux_edge_token_rejections_total{reason="outside_prefix"}'] == 2
    assert metrics["cineflux_edge_upstream_fetches_total"] == 0
    assert metrics["cineflux_edge_cache_misses_total"] == 0


TRICKS = [
    b"/titles/abc/../../secret.txt",
    b"/titles/abc/%2e%2e/%2e%2e/secret.txt",
    b"/titles/abc/..%2f..%2fsecret.txt",
    b"/titles/abc/%2fsecret.txt",
    b"/titles/abc/..\\..\\secret.txt",
    b"/titles/abc//video/720p/seg-00001.m4s",
    b"/titles/abc/./video/720p/seg-00001.m4s",
    b"/titles/abc/video/720p/seg-00001.m4s%00.jpg",
    b"/titles/abc/x\x00.m4s",
    b"//etc/passwd",
    b"/titles/abc/",
    b"/titles/abc/video/720p/seg-00001.m4s/..",
]


def test_path_tricks_get_400_and_never_leave_the_cache_root(
    edge: EdgeProcess, origin: Origin
) -> None:
    token = make_token("/titles/").encode()
    for trick in TRICKS:
        answer = edge.get(b"/t/" + token + trick)
        assert answer.status == 400, trick
        assert b"outside every prefix" not in answer.body
        assert origin.objects[SEGMENT][:100] not in answer.body
    metrics = edge.metrics()
    assert metrics['cineflux_edge_token_rejections_total{reason="unsafe_path"}'] == len(TRICKS)
    assert metrics["cineflux_edge_upstream_fetches_total"] == 0
    assert [p for p in edge.cache_dir.rglob("*") if p.is_file()] == []


def test_malformed_requests_and_other_methods_are_refused(edge: EdgeProcess) -> None:
    assert edge.get(signed(SEGMENT), method="DELETE").status == 405
    with socket.create_connection(("127.0.0.1", edge.port), timeout=5) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        assert read_response(sock).status == 400
        assert sock.recv(1) == b""  # and the connection is closed
    assert edge.get(signed(SEGMENT)).status == 200  # the edge carries on


def test_healthz_reports_ok_then_503_when_the_cache_disk_is_unusable(edge: EdgeProcess) -> None:
    ok = edge.get("/healthz")
    assert ok.status == 200
    status = json.loads(ok.body)
    assert status["status"] == "ok" and status["edge"] == "paris-1"
    temp = edge.cache_dir / "tmp"
    temp.rmdir()
    temp.write_text("the folder is gone: writes fail")
    broken = edge.get("/healthz")
    assert broken.status == 503
    assert json.loads(broken.body)["status"] == "unhealthy"
    assert edge.metrics()["cineflux_edge_healthy"] == 0


def test_the_edge_imports_no_database_code() -> None:
    probe = (
        "import sys, cineflux.edge.cli, cineflux.edge.server, cineflux.edge.control;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy'"
        " or m in ('cineflux.db', 'cineflux.config', 'cineflux.platform'));"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, check=True, text=True
    )
    assert result.stdout.strip() == ""
