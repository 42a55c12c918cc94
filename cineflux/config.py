"""Settings: one class, read from ``CINEFLUX_*`` variables, built once and injected."""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the platform reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="CINEFLUX_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path("./var"), description="SQLite database, media, secrets")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; SQLite in the data directory when unset, "
        "or postgresql+psycopg://user@host/db",
    )
    redis_url: str | None = Field(default=None, description="optional, checked by /readyz")
    storage: Literal["local", "s3"] = Field(default="local", description="where media lives")
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_endpoint_url: str | None = Field(default=None, description="for S3-compatible stores")
    s3_region: str = "us-east-1"
    secret_key: SecretStr | None = Field(
        default=None, description="signs sessions and CSRF tokens; generated on first run if unset"
    )
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(default=None, description="external base URL, for printing")
    session_ttl_hours: int = 12
    secure_cookies: bool = Field(default=False, description="set Secure on cookies (HTTPS)")
    log_format: Literal["text", "json"] = "text"
    segment_seconds: int = Field(default=4, ge=1, le=10)
    chunk_seconds: int = Field(
        default=60, ge=1, description="video is encoded in chunks of this length, in parallel"
    )
    workers: int = Field(default=2, ge=1, le=64, description="in-process encoding workers")
    queue: Literal["inprocess", "celery"] = Field(
        default="inprocess", description="who runs encoding tasks: threads, or Celery workers"
    )
    celery_broker_url: str | None = Field(
        default=None, description="the Celery broker; CINEFLUX_REDIS_URL when unset"
    )
    celery_messages: int = Field(
        default=8, ge=1, description="workers woken per job (each works until the job ends)"
    )
    lease_seconds: int = Field(
        default=60, ge=2, description="a task whose worker is silent this long is taken over"
    )
    max_attempts: int = Field(default=3, ge=1, description="tries of a task before the job fails")
    codecs: str = Field(
        default="h264", description="video codecs to encode, comma-separated: h264,hevc,av1"
    )
    per_title_ladder: bool = Field(
        default=True,
        description="choose each title's bitrates by trial encodes scored with VMAF",
    )
    platform_profile: Literal["svod-signatory", "svod-other", "svod-investor"] = Field(
        default="svod-other",
        description="the platform's standing under the chronologie des médias: signatory of "
        "the agreement, investor in French films, or neither (decides the SVOD delay)",
    )
    geoip_database: Path | None = Field(
        default=None,
        description="MaxMind GeoIP2/GeoLite2 Country or City database (.mmdb) locating viewers",
    )
    billing_trial_days: int = Field(
        default=7, ge=0, le=90, description="free trial of a first subscription, 0 for none"
    )
    billing_dunning_days: int = Field(
        default=14, ge=1, le=60, description="an unpaid renewal is cancelled after these days"
    )
    billing_retry_days: str = Field(
        default="1,3,7", description="days after a failed renewal when the card is retried"
    )
    billing_webhook_secret: SecretStr | None = Field(
        default=None, description="signs payment webhooks; generated on first run if unset"
    )
    billing_webhook_tolerance_seconds: int = Field(
        default=300, ge=1, description="webhooks signed longer ago than this are refused"
    )
    billing_seller: str = Field(
        default="Cineflux SAS (example) · 1 rue de l'Exemple, 75001 Paris · TVA FR00000000000",
        description="the seller printed on invoices: name, address, VAT number",
    )
    default_territory: str = Field(
        default="FR",
        description="the territory of every viewer when no GeoIP database is configured "
        "(development and demo only: with a database, unknown addresses are refused)",
    )
    avails_schema_dir: Path | None = Field(
        default=None,
        description="directory of the MovieLabs avails-vX.xsd and md-vX.xsd schemas; avails "
        "are validated against them (the built-in structural check applies either way)",
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP relay for outgoing mail; unset: mail stays in the outbox"
    )
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(default=True, description="upgrade the SMTP session to TLS")
    smtp_from: str = "Cineflux <no-reply@cineflux.example>"
    edge_token_keys: SecretStr | None = Field(
        default=None,
        description="keys signing edge URLs and checking edges' requests, 'kid:secret,...' "
        "(the first signs); derived from the secret key when unset",
    )
    trusted_proxies: str = Field(
        default="",
        description="comma-separated addresses or networks (CIDR) of the reverse proxies in "
        "front of the app: their X-Forwarded-For and X-Forwarded-Proto are believed, so "
        "steering, GeoIP, rights and sign-in throttling see the viewer's address; empty: "
        "the connection's address",
    )
    coverage_zones: Path | None = Field(
        default=None,
        description="JSON coverage zone file: client networks (CIDR) to delivery sites",
    )
    cdn_default_site: str | None = Field(
        default=None, description="the site of clients no coverage zone or GeoIP places"
    )
    cdn_origin_url: str | None = Field(
        default=None, description="the origin players fall back to last; the app's own URL if unset"
    )
    cdn_token_ttl_seconds: int = Field(
        default=6 * 3600, ge=60, description="lifetime of a playback's signed edge URLs"
    )
    cdn_heartbeat_seconds: int = Field(
        default=10, ge=1, description="how often edges send a heartbeat"
    )
    cdn_missed_heartbeats: int = Field(
        default=3, ge=1, description="an edge silent for this many heartbeats leaves rotation"
    )
    cdn_overload: float = Field(
        default=0.9, gt=0, le=1, description="an edge at this load leaves rotation"
    )
    cdn_recover_below: float = Field(
        default=0.75, gt=0, le=1, description="an edge out of rotation returns below this load"
    )
    cdn_site_overload: float = Field(
        default=0.85, gt=0, le=1, description="a site this loaded spills new players to the next"
    )
    cdn_fill_window: str = Field(
        default="02:00-06:00", description="off-peak hours when edges fill, local time"
    )
    cdn_fill_timezone: str = Field(default="Europe/Paris", description="zone of the fill window")
    cdn_fill_bandwidth_mbps: float = Field(
        default=2000, gt=0, description="cap on each site's fill traffic from the origin"
    )
    cdn_fill_share: float = Field(
        default=0.9, gt=0, le=1, description="share of edge disks the nightly fill may plan"
    )
    playback_token_ttl_seconds: int = Field(
        default=300,
        ge=30,
        description="lifetime of a play's signed edge URLs; each heartbeat renews them",
    )
    playback_heartbeat_seconds: int = Field(
        default=30, ge=5, description="how often players report that they still play"
    )
    playback_session_timeout_seconds: int = Field(
        default=90,
        ge=10,
        description="a play without heartbeat this long no longer counts against the plan",
    )
    encrypt_media: bool = Field(
        default=True,
        description="encrypt new packages with CENC (AES-CTR) under per-title keys; "
        "packages already published stay as they are",
    )
    content_master_keys: SecretStr | None = Field(
        default=None,
        description="id:key[,id2:key2]: 32-byte keys (hex or base64url) wrapping content keys "
        "at rest, the first for new keys; derived from the secret key by HKDF when unset",
    )
    licence_servers: str = Field(
        default="",
        description="DRM licence proxies: key.system=package.module:factory,… (Clear Key "
        "is built in); each factory takes the settings and returns a LicenceServer",
    )
    h264_preset: str = "veryfast"
    hevc_preset: str = "fast"
    av1_preset: int = Field(default=8, ge=0, le=13)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: str) -> str:
        for item in _split(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return value

    @property
    def trusted_proxy_list(self) -> list[str]:
        """The reverse proxies whose forwarding headers are believed."""
        return _split(self.trusted_proxies)

    @property
    def codec_list(self) -> tuple[str, ...]:
        """The codecs asked for, H.264 always included."""
        names = [c.strip().lower() for c in self.codecs.split(",") if c.strip()]
        return tuple(dict.fromkeys(["h264", *names]))

    @property
    def resolved_data_dir(self) -> Path:
        """The data directory as an absolute path."""
        return self.data_dir.expanduser().resolve()

    @property
    def media_dir(self) -> Path:
        """Root of local storage: published titles and staging areas."""
        return self.resolved_data_dir / "media"

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir / 'cineflux.db'}"

    @property
    def base_url(self) -> str:
        """Where people reach the web app."""
        return self.public_url or f"http://{self.host}:{self.port}"

    def ensure_data_dir(self) -> None:
        """Create the data directory layout; private to the user running the platform."""
        self.resolved_data_dir.mkdir(parents=True, exist_ok=True)
        self.media_dir.mkdir(parents=True, exist_ok=True)
        (self.resolved_data_dir / "secrets").mkdir(mode=0o700, exist_ok=True)

    def signing_key(self) -> bytes:
        """The key that signs sessions and CSRF tokens.

        Taken from ``CINEFLUX_SECRET_KEY`` when set; otherwise generated once into the data
        directory (mode 0600), so it survives restarts and never lives in the repository.
        """
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        return self.generated_secret("secret_key")

    def webhook_secret(self) -> bytes:
        """The key that signs payment webhooks: the setting, or generated once."""
        if self.billing_webhook_secret is not None:
            return self.billing_webhook_secret.get_secret_value().encode()
        return self.generated_secret("billing_webhook_secret")

    def generated_secret(self, name: str) -> bytes:
        """A secret generated once into the data directory's ``secrets/NAME`` (mode 0600)."""
        self.ensure_data_dir()
        path = self.resolved_data_dir / "secrets" / name
        if not path.exists():
            # Written aside then linked into place: two processes starting at once agree on
            # one key, and nobody ever reads a half-written file.
            draft = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
            try:
                os.link(draft, path)
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        return path.read_text().strip().encode()


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]
