"""The delivery network on a real database: heartbeats, rotation, steering, fill plans."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from cineflux.catalog import service as catalog
from cineflux.clock import FrozenClock
from cineflux.config import Settings
from cineflux.delivery import service as delivery
from cineflux.delivery.errors import InvalidHeartbeat, SiteNotFound
from cineflux.delivery.flows import fill_plan
from cineflux.delivery.health import MISSED_HEARTBEATS, OVERLOADED, SERVING
from cineflux.delivery.steering import rendezvous_order
from cineflux.edge import tokens
from cineflux.media.models import MediaPackage
from cineflux.rights import service as rights
from cineflux.rights.chronology import RightsPolicy
from cineflux.storage import LocalStorage
from tests.factories import grant, make_title

ZONES = Path(__file__).resolve().parents[1] / "fixtures" / "cdn" / "coverage_zones.json"
PARIS_CLIENT = "192.0.2.10"
GB = 1_000_000_000


@pytest.fixture
def config(tmp_path: Path) -> delivery.DeliveryConfig:
    settings = Settings(
        data_dir=tmp_path / "data",
        secret_key="test-" + "k" * 40,
        coverage_zones=ZONES,
        cdn_origin_url="https://origin.example/",
        cdn_fill_share=0.9,
    )
    return delivery.DeliveryConfig.from_settings(settings, signing_key=settings.signing_key())


def heartbeat(name: str, site: str = "paris", **changes: object) -> delivery.Heartbeat:
    report = delivery.Heartbeat(
        edge=name,
        site=site,
        base_url=f"https://{name}.example/",
        healthy=True,
        load=0.2,
        egress_bps=2 * GB,
        capacity_bps=100 * GB,
        open_connections=40,
        disk_used_bytes=1000,
        disk_capacity_bytes=10_000,
    )
    return dataclasses.replace(report, **changes)  # type: ignore[arg-type]


def beat(
    db: Session, config: delivery.DeliveryConfig, clock: FrozenClock, name: str, **changes: object
) -> None:
    delivery.record_heartbeat(db, heartbeat(name, **changes), now=clock.now(), policy=config.health)


def status_of(
    db: Session, config: delivery.DeliveryConfig, clock: FrozenClock, name: str
) -> delivery.EdgeStatus:
    statuses = delivery.edge_statuses(db, now=clock.now(), policy=config.health)
    return next(status for status in statuses if status.name == name)


def test_the_first_heartbeat_registers_the_edge_and_its_site(
    db: Session, config: delivery.DeliveryConfig, clock: FrozenClock
) -> None:
    beat(db, config, clock, "paris-1")
    status = status_of(db, config, clock, "paris-1")
    assert status.site == "paris"
    assert status.base_url == "https://paris-1.example"  # trailing slash dropped
    assert (status.in_rotation, status.rotation_reason, status.rotation_since) == (
        True,
        SERVING,
        clock.now(),
    )
    assert delivery.get_site(db, "paris").name == "paris"
    clock.advance(timedelta(seconds=10))
    beat(db, config, clock, "paris-1", load=0.5, disk_used_bytes=5000)
    status = status_of(db, config, clock, "paris-1")
    assert (status.load, status.disk_used_bytes, status.last_heartbeat_at) == (
        0.5,
        5000,
        clock.now(),
    )
    assert len(delivery.edge_statuses(db, now=clock.now(), policy=config.health)) == 1


def test_an_edge_that_moves_to_another_site_is_moved(
    db: Session, config: delivery.DeliveryConfig, clock: FrozenClock
) -> None:
    beat(db, config, clock, "edge-1")
    beat(db, config, clock, "edge-1", site="lyon")
    assert status_of(db, config, clock, "edge-1").site == "lyon"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"edge": "bad name"}, "edge names"),
        ({"site": "Paris"}, "site names"),
        ({"base_url": "ftp://edge.example"}, "base_url"),
        ({"base_url": "https://edge.example/?x=1"}, "base_url"),
        ({"load": -0.1}, "negative"),
        ({"disk_capacity_bytes": -1}, "negative"),
    ],
)
def test_heartbeats_that_make_no_sense_are_refused(
    db: Session,
    config: delivery.DeliveryConfig,
    clock: FrozenClock,
    changes: dict[str, object],
    message: str,
) -> None:
    with pytest.raises(InvalidHeartbeat, match=message):
        beat(db, config, clock, "edge-1", **changes)


def test_missed_heartbeats_take_an_edge_out_and_healthy_ones_bring_it_back(
    db: Session, config: delivery.DeliveryConfig, clock: FrozenClock
) -> None:
    beat(db, config, clock, "paris-1")
    went_quiet = clock.now()
    clock.advance(timedelta(seconds=30))  # three heartbeats of 10 s: still in
    assert status_of(db, config, clock, "paris-1").in_rotation
    clock.advance(timedelta(seconds=1))
    status = status_of(db, config, clock, "paris-1")
    assert (status.in_rotation, status.rotation_reason) == (False, MISSED_HEARTBEATS)
    assert status.rotation_since == went_quiet + timedelta(seconds=30)
    clock.advance(timedelta(minutes=5))
    beat(db, config, clock, "paris-1", load=0.8)  # back, but above the return threshold
    assert not status_of(db, config, clock, "paris-1").in_rotation
    clock.advance(timedelta(seconds=10))
    beat(db, config, clock, "paris-1", load=0.3)
    status = status_of(db, config, clock, "paris-1")
    assert (status.in_rotation, status.rotation_since) == (True, clock.now())


def test_an_overloaded_link_takes_an_edge_out(
    db: Session, config: delivery.DeliveryConfig, clock: FrozenClock
) -> None:
    beat(db, config, clock, "paris-1", load=0.1, egress_bps=95 * GB)
    status = status_of(db, config, clock, "paris-1")
    assert (status.in_rotation, status.rotation_reason, status.load) == (False, OVERLOADED, 0.95)


def test_a_playback_is_steered_to_the_clients_site_with_one_token_for_the_package(
    db: Session, config: delivery.DeliveryConfig, clock: FrozenClock
) -> None:
    for name in ("paris-1", "paris-2", "paris-3"):
        beat(db, config, clock, name)
    for name in ("lyon-1", "lyon-2"):
        beat(db, config, clock, name, site="lyon")
    signed = delivery.playback_locations(
        db,
        config,
        client_ip=PARIS_CLIENT,
        storage_prefix="titles/abc",
        session_id="session-1",
        now=clock.now(),
    )
    assert (signed.client_site.site, signed.client_site.found_by) == ("paris", "coverage zone")
    sites = [location.site for location in signed.locations]
    assert sites == ["paris", "paris", "paris", "lyon", "lyon", "origin"]
    assert signed.base_urls[-1] == "https://origin.example"
    assert signed.base_urls[0] == f"https://{signed.locations[0].edge}.example"
    path = "/titles/abc/video/h264-360p/seg-00001.m4s"
    assert signed.path("video/h264-360p/seg-00001.m4s").endswith(path)
    assert signed.url(1, "manifest.mpd").startswith(signed.base_urls[1] + "/t/")
    claims = tokens.verify_token(
        signed.token, keys=config.keys, path=path, now=clock.now().timestamp()
    )
    assert (claims.session_id, claims.path_prefix) == ("session-1", "/titles/abc/")
    assert signed.expires_at == clock.now() + timedelta(hours=6)
    with pytest.raises(tokens.OutsidePrefix):
        tokens.verify_token(
            signed.token, keys=config.keys, path="/titles/abd/x.m4s", now=clock.now().timestamp()
        )
    with pytest.raises(tokens.TokenExpired):
        tokens.verify_token(
            signed.token, keys=config.keys, path=path, now=signed.expires_at.timestamp()
        )


def test_a_site_whose_edges_went_silent_spills_to_its_neighbour(
    db: Session, config: delivery.DeliveryConfig, clock: FrozenClock
) -> None:
    beat(db, config, clock, "paris-1")
    clock.advance(timedelta(minutes=1))
    beat(db, config, clock, "lyon-1", site="lyon")
    signed = delivery.playback_locations(
        db,
        config,
        client_ip=PARIS_CLIENT,
        storage_prefix="titles/abc",
        session_id="s",
        now=clock.now(),
    )
    assert [location.edge for location in signed.locations] == ["lyon-1", None]


def test_the_fill_plan_of_an_unknown_site_is_refused(
    db: Session, config: delivery.DeliveryConfig, clock: FrozenClock, tmp_path: Path
) -> None:
    with pytest.raises(SiteNotFound):
        fill_plan(db, config, storage=LocalStorage(tmp_path), site="nowhere", now=clock.now())


@pytest.fixture
def policy(db: Session) -> RightsPolicy:
    return rights.rights_policy(db, "svod-other")


def package(db: Session, storage: LocalStorage, title_id: str, size: int) -> list[str]:
    """A stored package of ``size`` bytes in two files; its object paths."""
    prefix = f"titles/{title_id}"
    storage.write_atomic(f"{prefix}/manifest.mpd", b"m" * 100)
    storage.write_atomic(f"{prefix}/video/seg-00001.m4s", b"v" * (size - 100))
    db.add(
        MediaPackage(
            title_id=title_id,
            storage_prefix=prefix,
            dash_manifest="manifest.mpd",
            hls_manifest="master.m3u8",
            poster="poster.jpg",
            duration_seconds=6.0,
            source_width=640,
            source_height=360,
            created_at=catalog.get_title(db, title_id).created_at,
        )
    )
    db.flush()
    return [f"/{prefix}/manifest.mpd", f"/{prefix}/video/seg-00001.m4s"]


def plays(db: Session, title_id: str, counts: dict[str, int], territory: str = "FR") -> None:
    for day, count in counts.items():
        for _ in range(count):
            catalog.record_play(
                db, title_id=title_id, territory=territory, day=date.fromisoformat(day)
            )


@pytest.fixture
def library(
    db: Session, clock: FrozenClock, policy: RightsPolicy, tmp_path: Path
) -> tuple[LocalStorage, dict[str, str], dict[str, list[str]]]:
    """Titles of every kind of demand, published a month ago unless said otherwise."""
    storage = LocalStorage(tmp_path / "media")
    published = clock.now() - timedelta(days=30)
    old = FrozenClock(published)
    ids: dict[str, str] = {}
    paths: dict[str, list[str]] = {}
    for name, size in (("hit", 6000), ("fading", 4000), ("big", 50_000), ("elsewhere", 1000)):
        title = make_title(db, old, name)
        grant(db, old, title, policy=policy)
        ids[name] = title.id
        paths[name] = package(db, storage, title.id, size)
    plays(db, ids["hit"], {"2026-01-13": 1, "2026-01-14": 2, "2026-01-15": 3})
    plays(db, ids["fading"], {"2026-01-09": 2})
    plays(db, ids["big"], {"2026-01-15": 2})
    plays(db, ids["elsewhere"], {"2026-01-15": 9}, territory="DE")
    # Published yesterday, no play counted yet: a new release.
    new = make_title(db, FrozenClock(clock.now() - timedelta(days=1)), "new")
    grant(db, old, new, policy=policy)
    ids["new"] = new.id
    paths["new"] = package(db, storage, new.id, 4000)
    # A series whose rights open tomorrow at 00:00 in Paris: its episode is filled tonight.
    series = make_title(db, old, "premiere", kind="series")
    season = make_title(db, old, "S1", kind="season", parent_id=series.id, number=1)
    episode = make_title(db, old, "E1", kind="episode", parent_id=season.id, number=1)
    grant(db, old, series, start="2026-01-16", policy=policy)
    ids["premiere"] = episode.id
    paths["premiere"] = package(db, storage, episode.id, 4000)
    later = make_title(db, old, "later")
    grant(db, old, later, start="2026-01-20", policy=policy)
    package(db, storage, later.id, 1000)
    ids["later"] = later.id
    unpackaged = make_title(db, old, "unpackaged")
    grant(db, old, unpackaged, policy=policy)
    plays(db, unpackaged.id, {"2026-01-15": 50})
    ids["unpackaged"] = unpackaged.id
    return storage, ids, paths


def test_the_fill_plan_ranks_plays_new_releases_and_tomorrows_openings(
    db: Session,
    config: delivery.DeliveryConfig,
    clock: FrozenClock,
    library: tuple[LocalStorage, dict[str, str], dict[str, list[str]]],
) -> None:
    storage, ids, paths = library
    beat(db, config, clock, "paris-1")
    beat(db, config, clock, "paris-2")
    plan = fill_plan(db, config, storage=storage, site="paris", now=clock.now())
    names = {title_id: name for name, title_id in ids.items()}
    ranked = [names[item.title_id] for item in plan.items]
    # 2 disks of 10,000 bytes, 90 % of them: 18,000 bytes. hit (6,000) scores highest; big
    # (50,000) is wanted next but cannot fit; then fading (4,000), and two titles with no
    # plays yet that borrow the score of the lowest title with history (fading's).
    assert plan.capacity_bytes == 18_000
    assert ranked[0] == "hit"
    assert set(ranked) == {"hit", "fading", "new", "premiere"}
    scores = {names[item.title_id]: item.score for item in plan.items}
    assert scores["new"] == scores["premiere"] == scores["fading"] > 0
    assert plan.total_bytes == 18_000
    window_end = plan.window_end.timestamp()
    for item in plan.items:
        name = names[item.title_id]
        assert item.paths == paths[name] and item.size_bytes == sum(
            (storage.stat(p[1:]) or pytest.fail("stored")).size for p in item.paths
        )
        for path in item.paths:
            claims = tokens.verify_token(
                item.token, keys=config.keys, path=path, now=window_end - 1
            )
            assert claims.session_id == "fill-paris"
        with pytest.raises(tokens.TokenExpired):
            tokens.verify_token(item.token, keys=config.keys, path=item.paths[0], now=window_end)
        prefix = f"titles/{item.title_id}"
        views = delivery.edge_views(
            delivery.edge_statuses(db, now=clock.now(), policy=config.health)
        )
        assert item.edge == rendezvous_order(prefix, views)[0].name
    assert plan.to_json()["window"] == {
        "start": "02:00",
        "end": "06:00",
        "timezone": "Europe/Paris",
    }
    # Tonight's window: 02:00-06:00 in Paris on 16 January is 01:00-05:00 UTC.
    assert plan.window_start.isoformat() == "2026-01-16T01:00:00+00:00"


def test_only_live_edges_count_for_the_sites_capacity(
    db: Session,
    config: delivery.DeliveryConfig,
    clock: FrozenClock,
    library: tuple[LocalStorage, dict[str, str], dict[str, list[str]]],
) -> None:
    storage, ids, _ = library
    beat(db, config, clock, "paris-1")
    clock.advance(timedelta(minutes=2))
    beat(db, config, clock, "paris-2", load=0.95)  # overloaded, but alive: its disk counts
    plan = fill_plan(db, config, storage=storage, site="paris", now=clock.now())
    assert plan.capacity_bytes == 9000
    # hit (6,000) fits; nothing else of 4,000 bytes does in the 3,000 left.
    assert [item.title_id for item in plan.items] == [ids["hit"]]
    assert plan.items[0].edge == "paris-2"
