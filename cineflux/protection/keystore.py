"""The KeyStore port: per-title CENC content keys, encrypted at rest under a master key.

Content keys are random (``os.urandom``), one for a title's video and another for its
audio (a player, or a leak, that holds the audio key cannot decrypt the picture, and a
licence policy may later hand them out differently). The database holds them wrapped with
AES-256-GCM under a master key from the settings; the row names the master key's id, so a
new master key can be put first (it wraps new keys) while the older ones still unwrap.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from cineflux.config import Settings
from cineflux.protection.cenc import KEY_BYTES
from cineflux.protection.models import ContentKey

TRACK_KINDS = ("video", "audio")
MASTER_KEY_BYTES = 32
NONCE_BYTES = 12
_HKDF_INFO = b"cineflux content master key v1"


class KeyStoreError(Exception):
    """Base of the key store's errors."""


class ContentKeyUnavailable(KeyStoreError):
    """A content key that cannot be given: unknown, or its wrapping does not open."""


class InvalidMasterKeys(KeyStoreError):
    """``CINEFLUX_CONTENT_MASTER_KEYS`` is not ``id:key,…`` with 32-byte keys."""


@dataclass(frozen=True)
class MasterKeys:
    """Master keys by id, the first one wrapping new content keys."""

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise InvalidMasterKeys("at least one master key is needed")
        for key_id, key in self.keys:
            if not key_id or len(key) != MASTER_KEY_BYTES:
                raise InvalidMasterKeys("each master key has an id and 32 bytes")

    @property
    def current(self) -> tuple[str, bytes]:
        """The id and key that wrap new content keys."""
        return self.keys[0]

    def get(self, key_id: str) -> bytes | None:
        """The master key of this id, if configured."""
        return dict(self.keys).get(key_id)

    @classmethod
    def parse(cls, text: str) -> MasterKeys:
        """``id:key,id2:key2`` where each key is 32 bytes in hex or base64url."""
        keys = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            key_id, _, encoded = part.partition(":")
            keys.append((key_id.strip(), _decode_master_key(encoded.strip())))
        return cls(tuple(keys))

    @classmethod
    def derived(cls, secret: bytes) -> MasterKeys:
        """One master key derived from the platform's secret key by HKDF-SHA256.

        Its id is a digest of the key, so a changed secret key shows as an unknown id,
        never as keys that quietly fail to open.
        """
        hkdf = HKDF(algorithm=hashes.SHA256(), length=MASTER_KEY_BYTES, salt=None, info=_HKDF_INFO)
        key = hkdf.derive(secret)
        return cls((("hkdf-" + hashlib.sha256(key).hexdigest()[:12], key),))

    @classmethod
    def from_settings(cls, settings: Settings) -> MasterKeys:
        """``CINEFLUX_CONTENT_MASTER_KEYS``, or one key derived from the secret key.

        Configured keys come with the derived one last, to unwrap only: a platform that
        started without the setting keeps its titles playable once it is set, and
        ``cineflux keys rewrap`` moves their keys under the configured ones.
        """
        derived = cls.derived(settings.signing_key())
        if settings.content_master_keys is None:
            return derived
        configured = cls.parse(settings.content_master_keys.get_secret_value())
        if derived.current[0] in dict(configured.keys):
            return configured
        return cls((*configured.keys, *derived.keys))

    def __repr__(self) -> str:
        return f"MasterKeys(ids={[key_id for key_id, _ in self.keys]})"


def _decode_master_key(encoded: str) -> bytes:
    if len(encoded) == 2 * MASTER_KEY_BYTES:
        try:
            return bytes.fromhex(encoded)
        except ValueError:
            pass
    try:
        key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError) as error:
        raise InvalidMasterKeys("a master key is 32 bytes in hex or base64url") from error
    if len(key) != MASTER_KEY_BYTES:
        raise InvalidMasterKeys("a master key is 32 bytes in hex or base64url")
    return key


@dataclass(frozen=True)
class TitleKey:
    """A content key in clear, for packaging or a licence: never logged, never stored."""

    kid: str  # 32 hex digits
    title_id: str
    track_kind: str
    key: bytes

    def __repr__(self) -> str:
        return f"TitleKey(kid={self.kid!r}, title_id={self.title_id!r}, kind={self.track_kind!r})"


class KeyStore(Protocol):
    """Where content keys live; the database adapter below, an HSM or a KMS elsewhere."""

    def create_title_keys(
        self, session: Session, *, title_id: str, now: datetime
    ) -> dict[str, TitleKey]:
        """New keys for the title's video and audio (or its existing ones), by track kind."""
        ...

    def title_keys(self, session: Session, *, title_id: str) -> dict[str, TitleKey]:
        """The title's keys by track kind (empty: the title is not encrypted)."""
        ...

    def title_key_ids(self, session: Session, *, title_id: str) -> dict[str, str]:
        """The title's key ids by track kind, keys left wrapped (empty: in clear)."""
        ...

    def keys_by_kid(self, session: Session, kids: Iterable[str]) -> dict[str, TitleKey]:
        """The keys of these ids that exist, by key id."""
        ...


def _associated_data(kid: str, title_id: str, track_kind: str, master_key_id: str) -> bytes:
    return f"cineflux-content-key\0{kid}\0{title_id}\0{track_kind}\0{master_key_id}".encode()


@dataclass(frozen=True)
class RewrapBatch:
    """One batch of a master key rotation: keys now wrapped under the current master key,
    and those found under a master key the settings no longer hold."""

    rewrapped: int
    unavailable: tuple[str, ...]


def master_key_counts(session: Session) -> dict[str, int]:
    """How many content keys each master key id wraps (before removing an old master key,
    this says none are left under it)."""
    rows = session.execute(
        select(ContentKey.master_key_id, func.count()).group_by(ContentKey.master_key_id)
    )
    return {master_id: count for master_id, count in rows}


# Built once: every play of an encrypted title runs it.
_TITLE_KEY_IDS = select(ContentKey.track_kind, ContentKey.kid).where(
    ContentKey.title_id == bindparam("title_id")
)


@dataclass(frozen=True)
class DatabaseKeyStore:
    """Content keys in the ``content_keys`` table, wrapped with AES-256-GCM."""

    master: MasterKeys

    def _wrap(self, kid: str, title_id: str, track_kind: str, key: bytes) -> tuple[str, bytes]:
        master_id, master_key = self.master.current
        nonce = os.urandom(NONCE_BYTES)
        aad = _associated_data(kid, title_id, track_kind, master_id)
        return master_id, nonce + AESGCM(master_key).encrypt(nonce, key, aad)

    def _unwrap(self, row: ContentKey) -> TitleKey:
        master_key = self.master.get(row.master_key_id)
        if master_key is None:
            raise ContentKeyUnavailable(
                f"content key {row.kid} is wrapped under master key {row.master_key_id!r}, "
                "which CINEFLUX_CONTENT_MASTER_KEYS does not hold"
            )
        aad = _associated_data(row.kid, row.title_id, row.track_kind, row.master_key_id)
        nonce, sealed = row.wrapped_key[:NONCE_BYTES], row.wrapped_key[NONCE_BYTES:]
        try:
            key = AESGCM(master_key).decrypt(nonce, sealed, aad)
        except InvalidTag as error:
            raise ContentKeyUnavailable(f"content key {row.kid} does not open: altered") from error
        return TitleKey(kid=row.kid, title_id=row.title_id, track_kind=row.track_kind, key=key)

    def create_title_keys(
        self, session: Session, *, title_id: str, now: datetime
    ) -> dict[str, TitleKey]:
        """New keys for the title's video and audio (or its existing ones), by track kind."""
        existing = self.title_keys(session, title_id=title_id)
        for kind in TRACK_KINDS:
            if kind in existing:
                continue
            kid, key = os.urandom(KEY_BYTES).hex(), os.urandom(KEY_BYTES)
            master_id, wrapped = self._wrap(kid, title_id, kind, key)
            session.add(
                ContentKey(
                    kid=kid,
                    title_id=title_id,
                    track_kind=kind,
                    wrapped_key=wrapped,
                    master_key_id=master_id,
                    created_at=now,
                )
            )
            existing[kind] = TitleKey(kid=kid, title_id=title_id, track_kind=kind, key=key)
        session.flush()
        return existing

    def title_keys(self, session: Session, *, title_id: str) -> dict[str, TitleKey]:
        """The title's keys by track kind (empty: the title is not encrypted)."""
        rows = session.scalars(select(ContentKey).where(ContentKey.title_id == title_id))
        return {row.track_kind: self._unwrap(row) for row in rows}

    def title_key_ids(self, session: Session, *, title_id: str) -> dict[str, str]:
        """The title's key ids by track kind, keys left wrapped (empty: in clear)."""
        # What every play's answer names: no key is unwrapped until a licence is asked.
        rows = session.execute(_TITLE_KEY_IDS, {"title_id": title_id})
        return {row.track_kind: row.kid for row in rows}

    def keys_by_kid(self, session: Session, kids: Iterable[str]) -> dict[str, TitleKey]:
        """The keys of these ids that exist, by key id."""
        wanted = sorted(set(kids))
        if not wanted:
            return {}
        rows = session.scalars(select(ContentKey).where(ContentKey.kid.in_(wanted)))
        return {row.kid: self._unwrap(row) for row in rows}

    def rewrap_batch(self, session: Session, *, limit: int = 500) -> RewrapBatch:
        """Re-wrap up to ``limit`` content keys held under an older configured master key
        with the current one (the first of ``CINEFLUX_CONTENT_MASTER_KEYS``): run after
        putting a new master key first, until a batch re-wraps nothing; the old key can go.

        Each key is unwrapped and sealed again with a fresh nonce, its key id unchanged, so
        packages, manifests and players see nothing. Keys under a master key the settings
        do not hold cannot be re-wrapped: their ids are reported (those titles do not play).
        """
        older = [key_id for key_id, _ in self.master.keys[1:]]
        rows = session.scalars(
            select(ContentKey)
            .where(ContentKey.master_key_id.in_(older))
            .order_by(ContentKey.kid)
            .limit(limit)
            .with_for_update()
        ).all()
        for row in rows:
            key = self._unwrap(row).key
            row.master_key_id, row.wrapped_key = self._wrap(
                row.kid, row.title_id, row.track_kind, key
            )
        session.flush()
        configured = [key_id for key_id, _ in self.master.keys]
        unknown = session.scalars(
            select(ContentKey.kid)
            .where(ContentKey.master_key_id.not_in(configured))
            .order_by(ContentKey.kid)
        ).all()
        return RewrapBatch(rewrapped=len(rows), unavailable=tuple(unknown))


def key_store(settings: Settings) -> DatabaseKeyStore:
    """The key store of these settings."""
    return DatabaseKeyStore(MasterKeys.from_settings(settings))


def kids_of(keys: Mapping[str, TitleKey]) -> dict[str, str]:
    """Key ids by track kind: what packaging records and manifests carry (not secret)."""
    return {kind: key.kid for kind, key in keys.items()}
