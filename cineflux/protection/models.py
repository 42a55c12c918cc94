"""Content keys: one per title and track kind, stored wrapped under a master key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cineflux.db import Base, UTCDateTime


class ContentKey(Base):
    """A title's CENC content key for its video or its audio, never stored in clear.

    ``wrapped_key`` is AES-256-GCM (12-byte nonce, ciphertext, tag) under the master key
    named by ``master_key_id``; the key id, the title and the track kind are its associated
    data, so a wrapped key moved to another row does not open.
    """

    __tablename__ = "content_keys"
    __table_args__ = (UniqueConstraint("title_id", "track_kind"),)

    # The CENC KID, 32 lower-case hex digits: it appears in init segments and manifests.
    kid: Mapped[str] = mapped_column(String(32), primary_key=True)
    title_id: Mapped[str] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    track_kind: Mapped[str] = mapped_column(String(8))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
