"""Content keys at rest, and encrypted packages made by the real pipeline."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from cineflux.clock import FrozenClock
from cineflux.config import Settings
from cineflux.db import transaction
from cineflux.media import service as media
from cineflux.media.flows import ingest_into
from cineflux.platform import Platform
from cineflux.protection.cenc import CLEAR_KEY_URN, kid_uuid
from cineflux.protection.keystore import (
    ContentKeyUnavailable,
    DatabaseKeyStore,
    InvalidMasterKeys,
    MasterKeys,
    key_store,
    master_key_counts,
)
from cineflux.protection.models import ContentKey
from tests.factories import make_title

OLD = MasterKeys.parse("2025:" + "11" * 32)
NEW = MasterKeys.parse("2026:" + "22" * 32)


def test_content_keys_round_trip_wrapped_under_the_master_key(
    db: Session, clock: FrozenClock
) -> None:
    title = make_title(db, clock, "Chiffré")
    store = DatabaseKeyStore(OLD)
    made = store.create_title_keys(db, title_id=title.id, now=clock.now())
    assert sorted(made) == ["audio", "video"] and made["audio"].key != made["video"].key
    rows = {row.track_kind: row for row in db.query(ContentKey).filter_by(title_id=title.id)}
    for kind, row in rows.items():
        assert row.master_key_id == "2025" and made[kind].key not in row.wrapped_key
    assert store.title_keys(db, title_id=title.id) == made
    assert store.create_title_keys(db, title_id=title.id, now=clock.now()) == made  # idempotent
    by_kid = store.keys_by_kid(db, [made["video"].kid, "00" * 16])
    assert list(by_kid) == [made["video"].kid]
    assert made["video"].key.hex() not in repr(made) and "2025:" not in repr(OLD)


def test_a_new_master_key_wraps_new_keys_while_the_old_one_still_opens_its_own(
    db: Session, clock: FrozenClock
) -> None:
    before, after = make_title(db, clock, "Avant"), make_title(db, clock, "Après")
    old_keys = DatabaseKeyStore(OLD).create_title_keys(db, title_id=before.id, now=clock.now())
    rotated = DatabaseKeyStore(MasterKeys(NEW.keys + OLD.keys))
    rotated.create_title_keys(db, title_id=after.id, now=clock.now())
    assert rotated.title_keys(db, title_id=before.id) == old_keys
    assert {r.master_key_id for r in db.query(ContentKey).filter_by(title_id=after.id)} == {"2026"}
    with pytest.raises(ContentKeyUnavailable, match="master key '2025'"):
        DatabaseKeyStore(NEW).title_keys(db, title_id=before.id)


def test_an_altered_or_moved_wrapped_key_is_refused(db: Session, clock: FrozenClock) -> None:
    one, two = make_title(db, clock, "Un"), make_title(db, clock, "Deux")
    store = DatabaseKeyStore(OLD)
    keys_one = store.create_title_keys(db, title_id=one.id, now=clock.now())
    keys_two = store.create_title_keys(db, title_id=two.id, now=clock.now())
    row = db.get(ContentKey, keys_one["video"].kid)
    assert row is not None
    flipped = bytearray(row.wrapped_key)
    flipped[-1] ^= 1
    row.wrapped_key = bytes(flipped)
    db.flush()
    with pytest.raises(ContentKeyUnavailable, match="altered"):
        store.title_keys(db, title_id=one.id)
    # Another title's wrapped key copied over: the key id and title are its associated data.
    other = db.get(ContentKey, keys_two["audio"].kid)
    assert other is not None
    db.execute(
        update(ContentKey)
        .where(ContentKey.kid == keys_one["audio"].kid)
        .values(wrapped_key=other.wrapped_key)
    )
    with pytest.raises(ContentKeyUnavailable):
        store.keys_by_kid(db, [keys_one["audio"].kid])


def test_master_keys_come_from_the_setting_or_are_derived_from_the_secret_key(
    settings: Settings,
) -> None:
    derived = MasterKeys.from_settings(settings)
    assert derived.current[0].startswith("hkdf-") and len(derived.current[1]) == 32
    assert MasterKeys.from_settings(settings) == derived  # stable across restarts
    other = replace_secret(settings, "another-" + "s" * 40)
    assert MasterKeys.from_settings(other).current[0] != derived.current[0]
    configured = Settings(**{**settings.model_dump(), "content_master_keys": "a:" + "ab" * 32})
    assert MasterKeys.from_settings(configured).current == ("a", bytes.fromhex("ab" * 32))
    for bad in ("a:" + "ab" * 16, ":" + "ab" * 32, "a:not-base64-%%%"):
        with pytest.raises(InvalidMasterKeys):
            MasterKeys.parse(bad)


def replace_secret(settings: Settings, secret: str) -> Settings:
    return Settings(**{**settings.model_dump(), "secret_key": secret})


# --- Encrypted packages, by the real pipeline and ffmpeg --------------------------------


def _decodes(ffmpeg: str, media_file: Path, key: bytes | None) -> bool:
    """Whether ffmpeg decodes every frame without a single error (``-xerror``)."""
    command = [ffmpeg, "-v", "error", "-xerror"]
    if key is not None:
        command += ["-decryption_key", key.hex()]
    command += ["-i", str(media_file), "-f", "null", "-"]
    result = subprocess.run(command, capture_output=True, check=False)
    return result.returncode == 0 and not result.stderr.strip()


def _joined(track_dir: Path, out: Path) -> Path:
    out.write_bytes(
        (track_dir / "init.mp4").read_bytes()
        + b"".join(p.read_bytes() for p in sorted(track_dir.glob("seg-*.m4s")))
    )
    return out


def test_an_encrypted_package_decodes_only_with_its_keys_and_its_manifests_say_so(
    platform: Platform, small_film: Path, ffmpeg: str, tmp_path: Path
) -> None:
    assert platform.settings.encrypt_media  # the product default
    result = ingest_into(platform, small_film, name="Chiffré", year=2024)
    with platform.sessions() as session:
        keys = key_store(platform.settings).title_keys(session, title_id=result.title_id)
        package = media.package_for_title(session, result.title_id)
        assert package is not None
        codecs = sorted(r.codecs for r in package.renditions if r.kind in ("video", "audio"))
    assert codecs[0].startswith("avc1.64") and codecs[-1] == "mp4a.40.2"  # read through encv
    root = platform.settings.media_dir / result.storage_prefix
    video = _joined(next((root / "video").glob("h264-360p*")), tmp_path / "video.mp4")
    audio = _joined(next((root / "audio").iterdir()), tmp_path / "audio.mp4")

    assert not _decodes(ffmpeg, video, None)
    assert not _decodes(ffmpeg, video, keys["audio"].key)  # a key per track kind
    assert _decodes(ffmpeg, video, keys["video"].key)
    assert _decodes(ffmpeg, audio, keys["audio"].key)
    frames = subprocess.run(
        [ffmpeg, "-v", "error", "-decryption_key", keys["video"].key.hex(), "-i", str(video),
         "-f", "framecrc", "-"],
        capture_output=True, check=True, text=True,
    ).stdout  # fmt: skip
    assert len([line for line in frames.splitlines() if not line.startswith("#")]) == 150

    mpd = ET.parse(root / "manifest.mpd").getroot()  # noqa: S314 -- our own output
    ns = {"d": "urn:mpeg:dash:schema:mpd:2011"}
    signalled = {}
    for adaptation in mpd.iterfind("d:Period/d:AdaptationSet", ns):
        schemes = [p.get("schemeIdUri") for p in adaptation.findall("d:ContentProtection", ns)]
        assert schemes == ["urn:mpeg:dash:mp4protection:2011", CLEAR_KEY_URN]
        cenc = adaptation.find("d:ContentProtection", ns)
        assert cenc is not None
        signalled[adaptation.get("contentType")] = cenc.get("{urn:mpeg:cenc:2013}default_KID")
    assert signalled == {kind: kid_uuid(key.kid) for kind, key in keys.items()}
    playlist = (next((root / "video").glob("h264-360p*")) / "index.m3u8").read_text()
    assert "#EXT-X-KEY:METHOD=SAMPLE-AES-CTR" in playlist and keys["video"].kid in playlist


def test_with_encryption_off_new_packages_are_clear_and_get_no_keys(
    platform: Platform, small_film: Path, ffmpeg: str, tmp_path: Path
) -> None:
    platform.settings = platform.settings.model_copy(update={"encrypt_media": False})
    result = ingest_into(platform, small_film, name="En clair", year=2024)
    with transaction(platform.sessions) as session:
        assert key_store(platform.settings).title_keys(session, title_id=result.title_id) == {}
    root = platform.settings.media_dir / result.storage_prefix
    assert "ContentProtection" not in (root / "manifest.mpd").read_text()
    assert _decodes(
        ffmpeg, _joined(next((root / "video").glob("h264-360p*")), tmp_path / "v.mp4"), None
    )


def test_a_titles_key_ids_are_read_without_unwrapping_a_key(
    db: Session, clock: FrozenClock
) -> None:
    title = make_title(db, clock, "Chiffré sans clé")
    made = DatabaseKeyStore(OLD).create_title_keys(db, title_id=title.id, now=clock.now())
    # A store without the master key the keys are wrapped under still names them.
    assert DatabaseKeyStore(NEW).title_key_ids(db, title_id=title.id) == {
        kind: key.kid for kind, key in made.items()
    }
    assert DatabaseKeyStore(NEW).title_key_ids(db, title_id="no-such-title") == {}


def test_rewrapping_moves_every_key_to_the_current_master_key_and_reports_lost_ones(
    db: Session, clock: FrozenClock
) -> None:
    titles = [make_title(db, clock, f"Rotation {n}") for n in range(3)]
    made = [
        DatabaseKeyStore(OLD).create_title_keys(db, title_id=t.id, now=clock.now()) for t in titles
    ]
    lost = make_title(db, clock, "Clé perdue")
    lost_keys = DatabaseKeyStore(MasterKeys.parse("2024:" + "33" * 32)).create_title_keys(
        db, title_id=lost.id, now=clock.now()
    )
    rotated = DatabaseKeyStore(MasterKeys((*NEW.keys, *OLD.keys)))  # NEW first, OLD kept

    first = rotated.rewrap_batch(db, limit=4)
    second = rotated.rewrap_batch(db, limit=4)
    assert (first.rewrapped, second.rewrapped) == (4, 2)
    assert rotated.rewrap_batch(db, limit=4).rewrapped == 0  # done: nothing left under OLD
    assert master_key_counts(db) == {"2026": 6, "2024": 2}
    assert second.unavailable == tuple(sorted(k.kid for k in lost_keys.values()))
    # The old master key can go: every key opens under the new one alone, ids unchanged.
    for title, keys in zip(titles, made, strict=True):
        assert DatabaseKeyStore(NEW).title_keys(db, title_id=title.id) == keys
