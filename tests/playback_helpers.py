"""Factories for playback tests: subscribers, and titles that are licensed and packaged."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from cineflux.accounts import service as accounts
from cineflux.billing import service as billing
from cineflux.catalog.models import Title
from cineflux.clock import Clock
from cineflux.config import Settings
from cineflux.media.models import MediaPackage, Rendition
from cineflux.profiles import service as profiles
from cineflux.profiles.models import Profile
from cineflux.rights import service as rights
from tests.factories import grant, make_title

AAC = "mp4a.40.2"


@dataclass(frozen=True)
class Subscriber:
    """An account with a subscription, and its first profile."""

    user_id: str
    email: str
    profile_id: str


def subscriber(
    session: Session,
    clock: Clock,
    settings: Settings,
    email: str = "viewer@example.org",
    *,
    plan: str = "standard",
    password: str = "p" * 12,
) -> Subscriber:
    """A verified account in its free trial of ``plan`` (standard: 2 streams, HD)."""
    user = accounts.create_user(session, clock=clock, email=email, password=password)
    billing.subscribe(
        session,
        ctx=billing.BillingContext.of(session, clock=clock, settings=settings),
        user_id=user.id,
        email=user.email,
        plan_code=plan,
        card_number="4242424242424242",
    )
    profile = profiles.ensure_first_profile(session, clock=clock, user_id=user.id, name="Ana")
    return Subscriber(user.id, user.email, profile.id)


def second_profile(
    session: Session, clock: Clock, viewer: Subscriber, *, name: str, max_rating: str = "16"
) -> Profile:
    """Another profile of the account."""
    return profiles.create_profile(
        session,
        clock=clock,
        user_id=viewer.user_id,
        spec=profiles.ProfileSpec(name=name, max_rating=max_rating),
    )


def packaged(session: Session, title: Title, *, codecs: str = "avc1.64001e") -> MediaPackage:
    """A published package for the title: two video rungs, French and English audio, French
    subtitles, trickplay thumbnails (rows only: no file is read)."""
    package = MediaPackage(
        title_id=title.id,
        storage_prefix=f"titles/{title.id}",
        dash_manifest="manifest.mpd",
        hls_manifest="master.m3u8",
        poster="poster.jpg",
        thumbnails="thumbnails/thumbnails.vtt",
        duration_seconds=600.0,
        source_width=640,
        source_height=360,
        created_at=title.created_at,
        renditions=[
            Rendition(kind="video", codecs=codecs, bandwidth=400_000, width=416, height=234),
            Rendition(kind="video", codecs=codecs, bandwidth=900_000, width=640, height=360),
            Rendition(kind="audio", codecs=AAC, bandwidth=128_000, language="fr", name="Français"),
            Rendition(kind="audio", codecs=AAC, bandwidth=128_000, language="en", name="English"),
            Rendition(kind="text", codecs="wvtt", bandwidth=1_000, language="fr", name="Français"),
        ],
    )
    session.add(package)
    session.flush()
    return package


def playable_film(
    session: Session, clock: Clock, settings: Settings, name: str = "Essai", *, rating: str = "TP"
) -> Title:
    """A film licensed for SVOD in France and packaged."""
    title = make_title(session, clock, name, rating=rating)
    policy = rights.rights_policy(session, settings.platform_profile)
    grant(session, clock, title, policy=policy)
    packaged(session, title)
    return title
