"""Settings, generated secrets, CSRF tokens and sign-in redirects."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cineflux.accounts.service import csrf_token, csrf_token_valid
from cineflux.clock import FrozenClock
from cineflux.config import Settings
from cineflux.web.deps import safe_next_path


def test_settings_read_cineflux_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CINEFLUX_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("CINEFLUX_PORT", "9123")
    settings = Settings()
    assert settings.port == 9123
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'd' / 'cineflux.db'}"
    assert settings.media_dir == tmp_path / "d" / "media"


def test_secret_key_is_generated_once_private_and_stable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = settings.signing_key()
    path = tmp_path / "secrets" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert Settings(data_dir=tmp_path).signing_key() == first
    assert Settings(data_dir=tmp_path / "other").signing_key() != first


def test_explicit_secret_key_wins_and_writes_nothing(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="x" * 40)
    assert settings.signing_key() == b"x" * 40
    assert not (tmp_path / "secrets" / "secret_key").exists()


def test_csrf_token_is_bound_to_session_and_key() -> None:
    token = csrf_token(key=b"k1", session_token_hash="s1")
    assert csrf_token_valid(key=b"k1", session_token_hash="s1", presented=token)
    assert not csrf_token_valid(key=b"k1", session_token_hash="s2", presented=token)
    assert not csrf_token_valid(key=b"k2", session_token_hash="s1", presented=token)
    assert not csrf_token_valid(key=b"k1", session_token_hash="s1", presented=None)
    assert not csrf_token_valid(key=b"k1", session_token_hash="s1", presented=token[:-1] + "0")


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ("/titles/abc", "/titles/abc"),
        ("/titles/abc?format=hls", "/titles/abc?format=hls"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/ok\r\nSet-Cookie: x", "/"),
    ],
)
def test_next_path_after_sign_in_stays_on_this_site(candidate: str | None, expected: str) -> None:
    assert safe_next_path(candidate) == expected


def test_frozen_clock_moves_only_when_told() -> None:
    clock = FrozenClock(datetime(2026, 1, 31, tzinfo=UTC))
    assert clock.now() == clock.now()
    clock.advance(timedelta(days=1))
    assert clock.now() == datetime(2026, 2, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        FrozenClock(datetime(2026, 1, 1))
