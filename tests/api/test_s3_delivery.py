"""The whole pipeline on S3 storage (moto's server): ingest, publish, and serve with ranges."""

from __future__ import annotations

from pathlib import Path

import m3u8
from fastapi.testclient import TestClient

from cineflux.media.flows import ingest_into
from cineflux.platform import Platform
from cineflux.storage.s3 import S3Storage
from tests.api.conftest import make_user, sign_in


def test_title_ingested_to_s3_is_published_and_served(
    client: TestClient, platform: Platform, s3_storage: S3Storage, small_film: Path
) -> None:
    platform.storage = s3_storage
    result = ingest_into(platform, small_film, name="Nuage", year=2024)
    keys = s3_storage.list_prefix(result.storage_prefix)
    assert f"{result.storage_prefix}/master.m3u8" in keys
    assert f"{result.storage_prefix}/video/h264-360p-365k/seg-00002.m4s" in keys
    assert s3_storage.list_prefix("sources")  # the mezzanine, kept for re-encodes

    make_user(platform)
    sign_in(client)
    base = f"/media/{result.storage_prefix}"
    master = client.get(f"{base}/master.m3u8")
    assert master.status_code == 200
    assert master.headers["content-type"] == "application/vnd.apple.mpegurl"
    variants = m3u8.loads(master.text).playlists
    assert len(variants) == 2
    playlist = m3u8.loads(client.get(f"{base}/{variants[0].uri}").text)
    directory = variants[0].uri.rsplit("/", 1)[0]
    segment_url = f"{base}/{directory}/{playlist.segments[0].uri}"
    whole = client.get(segment_url)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    part = client.get(segment_url, headers={"range": "bytes=4-11"})
    assert part.status_code == 206
    assert part.content == whole.content[4:12]
    assert part.headers["content-range"] == f"bytes 4-11/{len(whole.content)}"
    assert client.get(segment_url, headers={"range": "bytes=99999999-"}).status_code == 416
    head = client.head(segment_url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(whole.content)
    cached = client.get(segment_url, headers={"if-none-match": whole.headers["etag"]})
    assert cached.status_code == 304
    assert client.get(f"{base}/video/none.m4s").status_code == 404
