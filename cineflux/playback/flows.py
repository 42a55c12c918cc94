"""Pressing play: every check a play needs, in one place, then a session and signed URLs.

``start_playback`` asks billing (subscription and plan), the catalogue (what the title is),
profiles (maturity limit, PIN, -18 code), rights (available here and now, EU portability),
media (the package and its renditions) and delivery (ranked edges and one token), and
admits the play under the plan's stream limit last. Heartbeats renew the token, keep the
resume position and count the play once; stopping frees the stream at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cineflux.billing import service as billing
from cineflux.catalog import service as catalog
from cineflux.catalog.models import Title, TitleLocalization
from cineflux.clock import Clock
from cineflux.config import Settings
from cineflux.delivery import service as delivery
from cineflux.edge import tokens
from cineflux.media import service as media
from cineflux.media.layout import track_directory
from cineflux.media.models import MediaPackage, Rendition
from cineflux.platform import Platform
from cineflux.playback import service as playback
from cineflux.playback.licences import LicenceServers, PlayProtection, play_protection
from cineflux.playback.models import PlaybackSession
from cineflux.playback.service import (
    AdmittedPlay,
    Device,
    DeviceCannotPlay,
    NewPlay,
    NotAvailableHere,
    NotPlayable,
    PaymentOverdue,
    PlaybackPolicy,
    ProfilePinRequired,
    RatedAboveProfile,
    SubscriptionRequired,
    VideoLimit,
    VideoRung,
)
from cineflux.profiles import service as profiles
from cineflux.profiles.watching import next_episode_offer_at
from cineflux.protection.keystore import KeyStore, key_store
from cineflux.protection.models import ContentKey
from cineflux.readcache import ReadCache
from cineflux.rights import service as rights
from cineflux.rights.chronology import paris_date
from cineflux.rights.territory import GeoResolver, locate_viewer

PLAYABLE_KINDS = ("movie", "episode")


@dataclass(frozen=True)
class PlaybackContext:
    """What plays depend on besides the database session."""

    clock: Clock
    policy: PlaybackPolicy
    delivery: delivery.DeliveryConfig
    billing: billing.BillingPolicy
    platform_profile: str
    default_territory: str
    geo: GeoResolver | None = None
    # Encrypted titles: their keys, and the licence servers of the key systems.
    keys: KeyStore | None = None
    licence_servers: LicenceServers = field(default_factory=LicenceServers)

    @classmethod
    def of(cls, platform: Platform, *, origin_url: str | None = None) -> PlaybackContext:
        """The context of a platform; ``origin_url`` replaces the configured origin."""
        return cls.from_settings(
            platform.settings,
            clock=platform.clock,
            signing_key=platform.signing_key,
            geo=platform.geo,
            origin_url=origin_url,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        clock: Clock,
        signing_key: bytes,
        geo: GeoResolver | None = None,
        origin_url: str | None = None,
    ) -> PlaybackContext:
        """The context these settings describe; plays' tokens get the playback lifetime."""
        policy = PlaybackPolicy.from_settings(settings)
        config = delivery.DeliveryConfig.from_settings(settings, signing_key=signing_key, geo=geo)
        config = replace(config, token_ttl_seconds=policy.token_ttl_seconds)
        if origin_url is not None:
            config = replace(config, origin_url=origin_url)
        return cls(
            clock=clock,
            policy=policy,
            delivery=config,
            billing=billing.BillingPolicy.from_settings(settings),
            platform_profile=settings.platform_profile,
            default_territory=settings.default_territory,
            geo=geo,
            keys=key_store(settings),
            licence_servers=LicenceServers.from_settings(settings),
        )


@dataclass(frozen=True)
class PlayRequest:
    """A viewer pressing play, with what their session proved."""

    user_id: str
    title_id: str
    profile_id: str
    device: Device
    client_ip: str | None
    home_country: str | None = None
    home_country_verified: bool = False
    # The session chose this profile through its PIN (a signed selection).
    profile_unlocked: bool = False
    # The account's -18 code was entered in this session.
    adult_code_entered: bool = False
    pin: str | None = None
    adult_code: str | None = None


@dataclass(frozen=True)
class Track:
    """An audio or subtitle track the player may offer."""

    language: str | None
    name: str | None
    codecs: str
    forced: bool = False


@dataclass(frozen=True)
class SignedManifests:
    """A fresh token and the signed paths it opens (the same on every base URL)."""

    token: str
    expires_at: datetime
    dash: str
    hls: str


@dataclass(frozen=True)
class NextEpisode:
    """The episode a player offers once this one nears its end, and from when."""

    title_id: str
    name: str
    season: int | None
    number: int | None
    offer_at_seconds: float | None


@dataclass(frozen=True)
class PlaybackStart:
    """Everything a player needs to start: where, with which token, from where in the film."""

    session: AdmittedPlay
    base_urls: list[str]
    manifests: SignedManifests
    poster: str
    thumbnails: str | None
    audio: list[Track]
    subtitles: list[Track]
    heights: list[int]
    resume_position_seconds: float
    duration_seconds: float | None
    policy: PlaybackPolicy
    # What the play's personalised manifests are made of: the package, the rungs it may
    # have, its servers under the token.
    package: MediaPackage
    video_limit: VideoLimit
    signed: delivery.SignedPlayback
    credits_start_seconds: float | None = None
    next_episode: NextEpisode | None = None
    # The key system and key ids of an encrypted title; None in clear.
    protection: PlayProtection | None = None


@dataclass(frozen=True)
class PlaybackRenewal:
    """A heartbeat's answer: the play goes on with a fresh token."""

    session: PlaybackSession
    manifests: SignedManifests
    policy: PlaybackPolicy


def check_subscription(
    session: Session, *, ctx: PlaybackContext, user_id: str, now: datetime
) -> billing.Entitlements:
    """The account's entitlements if they include watching now; why not otherwise."""
    entitlements = billing.entitlements(session, user_id=user_id, at=now, policy=ctx.billing)
    if entitlements.active:
        return entitlements
    live = billing.live_subscription(session, user_id=user_id)
    if live is not None and live.state == "past_due":
        raise PaymentOverdue(
            "the last payment failed and the grace period is over: update the card "
            "on the account page to watch again"
        )
    if live is not None and live.state == "incomplete":
        raise SubscriptionRequired("the first payment has not gone through yet")
    raise SubscriptionRequired("watching needs a subscription: choose a plan on /plans")


def check_profile(
    session: Session, *, request: PlayRequest, profile: profiles.PlayingProfile, rating: str
) -> None:
    """The profile's PIN, maturity limit and the -18 code, as the request proves them."""
    if profile.pin_hash is not None and not request.profile_unlocked:
        if request.pin is None:
            raise ProfilePinRequired("this profile is protected by a PIN: enter it to watch")
        profiles.check_pin(profile, request.pin)
    if catalog.minimum_age(rating) > catalog.minimum_age(profile.max_rating):
        raise RatedAboveProfile(
            f"this title is rated -{rating}, above this profile's limit"
            if rating != "TP"
            else "this title is above this profile's limit"
        )
    if rating == "18" and not request.adult_code_entered:
        # Arcom: -18 programmes only after the account's personal code, at each session.
        profiles.verify_adult_code(session, user_id=request.user_id, code=request.adult_code)


def check_rights(
    *, ctx: PlaybackContext, request: PlayRequest, title_rights: rights.TitleRights, now: datetime
) -> str:
    """The viewer's catalogue territory, if the title may be watched there now."""
    located = locate_viewer(
        ctx.geo,
        request.client_ip,
        fallback=ctx.default_territory,
        home_country=request.home_country,
        home_verified=request.home_country_verified,
    )
    decision = title_rights.decide(territory=located.territory, license_type="SVOD", at=now)
    if not decision.available:
        raise NotAvailableHere(decision.reason)
    return located.territory


def _package(title: TitleFacts) -> MediaPackage:
    if title.kind not in PLAYABLE_KINDS:
        raise NotPlayable(f"a {title.kind} is not played as such: choose an episode")
    if title.package is None:
        raise NotPlayable("this title has no published media yet")
    return title.package


def _heights(package: MediaPackage, limit: VideoLimit) -> list[int]:
    rungs = [
        VideoRung(codecs=r.codecs, height=r.height)
        for r in package.renditions
        if r.kind == "video" and r.height is not None
    ]
    heights = playback.playable_heights(rungs, limit)
    if not heights:
        codecs = sorted({playback.codec_family(r.codecs) for r in rungs})
        raise DeviceCannotPlay(
            f"this title is encoded in {', '.join(codecs) or 'no video codec'}; "
            "the device decodes none of them at a size the plan and screen allow"
        )
    return heights


def _tracks(package: MediaPackage, kind: str) -> list[Track]:
    return [
        Track(language=r.language, name=r.name, codecs=r.codecs, forced=bool(r.forced))
        for r in package.renditions
        if r.kind == kind
    ]


def next_episode_for(
    session: Session, *, title: Title, language: str, duration: float | None
) -> NextEpisode | None:
    """The published episode after this one, if any, and from when a player offers it
    (the play of it is authorised when it starts, like any other)."""
    following = catalog.next_episode(session, title)
    if following is None or following.published_at is None:
        return None
    season = catalog.get_title(session, following.parent_id) if following.parent_id else None
    return NextEpisode(
        title_id=following.id,
        name=catalog.localized(following, language)[0],
        season=season.number if season is not None else None,
        number=following.number,
        offer_at_seconds=next_episode_offer_at(duration, title.credits_start_seconds),
    )


@dataclass(frozen=True)
class TitleFacts:
    """What every play of a title reads of the catalogue, rights, media and keys: the
    same for every viewer, so read once and kept (``_TITLE_FACTS``) until one of their
    tables changes."""

    title_id: str
    kind: str
    credits_start_seconds: float | None
    # The strictest of the title's, its season's and its series' ratings.
    rating: str
    rights: rights.TitleRights
    # Detached from the session that read it (with its renditions): never written.
    package: MediaPackage | None
    # Key ids by track kind, keys left wrapped (empty: in clear).
    key_ids: dict[str, str]


_TITLE_FACTS: ReadCache[TitleFacts] = ReadCache(
    {
        *rights.RIGHTS_TABLES,
        MediaPackage.__tablename__,
        Rendition.__tablename__,
        ContentKey.__tablename__,
    }
)
_NEXT_EPISODES: ReadCache[NextEpisode | None] = ReadCache(
    {Title.__tablename__, TitleLocalization.__tablename__}
)


def title_facts(session: Session, *, ctx: PlaybackContext, title_id: str) -> TitleFacts:
    """A title's facts for plays (``TitleNotFound`` if there is no such title)."""

    def read() -> TitleFacts:
        title = catalog.get_title(session, title_id, details=False)
        package = media.package_for_title(session, title.id)
        if package is not None:
            session.expunge(package)  # shared by later requests: out of this one's hands
        policy = rights.rights_policy(session, ctx.platform_profile)
        return TitleFacts(
            title_id=title.id,
            kind=title.kind,
            credits_start_seconds=title.credits_start_seconds,
            rating=catalog.strictest_rating(session, title),
            rights=rights.title_rights(session, policy=policy, title_id=title.id),
            package=package,
            key_ids=ctx.keys.title_key_ids(session, title_id=title.id) if ctx.keys else {},
        )

    key = (title_id, ctx.platform_profile, ctx.keys is not None)
    return _TITLE_FACTS.get(session, key, read)


def start_playback(
    session: Session, *, ctx: PlaybackContext, request: PlayRequest
) -> PlaybackStart:
    """Authorise a play and open its session, or raise the one reason it is refused.

    The order gives each viewer the reason that matters to them first: who is watching
    (profile, PIN), whether they subscribe, what the profile may see, where they are, what
    the device decodes, and last how many screens already play (the only check that locks).
    """
    now = ctx.clock.now()
    device = playback.checked_device(request.device)
    title = title_facts(session, ctx=ctx, title_id=request.title_id)
    profile = profiles.playing_profile(
        session, user_id=request.user_id, profile_id=request.profile_id, title_id=title.title_id
    )
    entitlements = check_subscription(session, ctx=ctx, user_id=request.user_id, now=now)
    check_profile(session, request=request, profile=profile, rating=title.rating)
    territory = check_rights(ctx=ctx, request=request, title_rights=title.rights, now=now)
    package = _package(title)
    video_limit = VideoLimit.of(device, plan_resolution=entitlements.max_resolution)
    heights = _heights(package, video_limit)
    protection = play_protection(
        key_ids=title.key_ids, device_drm=device.drm, servers=ctx.licence_servers
    )
    resume_from = profile.resume_from
    row = playback.admit(
        session,
        NewPlay(
            user_id=request.user_id,
            profile_id=profile.id,
            title_id=title.title_id,
            storage_prefix=package.storage_prefix,
            territory=territory,
            duration_seconds=package.duration_seconds,
            device=device,
            resume_from=resume_from,
        ),
        stream_limit=entitlements.streams,
        now=now,
        policy=ctx.policy,
    )
    signed = delivery.playback_locations(
        session,
        ctx.delivery,
        client_ip=request.client_ip,
        storage_prefix=package.storage_prefix,
        session_id=row.id,
        now=now,
        withheld=withheld_rungs(package, video_limit),
    )
    return PlaybackStart(
        session=row,
        base_urls=signed.base_urls,
        manifests=SignedManifests(
            token=signed.token,
            expires_at=signed.expires_at,
            dash=signed.path(package.dash_manifest),
            hls=signed.path(package.hls_manifest),
        ),
        poster=signed.path(package.poster),
        thumbnails=signed.path(package.thumbnails) if package.thumbnails else None,
        audio=_tracks(package, "audio"),
        subtitles=_tracks(package, "text"),
        heights=heights,
        resume_position_seconds=resume_from,
        duration_seconds=package.duration_seconds,
        policy=ctx.policy,
        package=package,
        video_limit=video_limit,
        signed=signed,
        protection=protection,
        credits_start_seconds=title.credits_start_seconds,
        next_episode=_NEXT_EPISODES.get(
            session,
            (title.title_id, profile.language, package.duration_seconds),
            lambda: next_episode_for(
                session,
                title=catalog.get_title(session, title.title_id, details=False),
                language=profile.language,
                duration=package.duration_seconds,
            ),
        ),
    )


def withheld_rungs(package: MediaPackage, limit: VideoLimit) -> list[str]:
    """The package's video directories a play under ``limit`` may not fetch: the rungs its
    personalised manifests leave out, which its token then refuses at the edge."""
    return [
        track_directory("video", rendition.track_id)
        for rendition in package.renditions
        if rendition.kind == "video"
        and rendition.track_id is not None
        and not limit.allows(rendition.codecs, rendition.height)
    ]


def _signed_manifests(
    session: Session,
    *,
    ctx: PlaybackContext,
    row: PlaybackSession,
    entitlements: billing.Entitlements,
    now: datetime,
) -> SignedManifests:
    package = media.package_for_title(session, row.title_id)
    if package is None or package.storage_prefix != row.storage_prefix:
        raise NotPlayable("this title's media was withdrawn")
    # The rungs follow the plan as it is now and the device the play was started with.
    limit = VideoLimit.of(Device.from_json(row.device), plan_resolution=entitlements.max_resolution)
    # Whole seconds, as the token carries them (as playback_locations does).
    expires = (now + timedelta(seconds=ctx.delivery.token_ttl_seconds)).replace(microsecond=0)
    token = delivery.sign_path_prefix(
        ctx.delivery,
        path_prefix=delivery.package_path_prefix(row.storage_prefix),
        session_id=row.id,
        expires=expires,
        withheld=withheld_rungs(package, limit),
    )
    prefix = row.storage_prefix.strip("/")
    return SignedManifests(
        token=token,
        expires_at=expires,
        dash=tokens.signed_path(token, f"/{prefix}/{package.dash_manifest}"),
        hls=tokens.signed_path(token, f"/{prefix}/{package.hls_manifest}"),
    )


def _save_progress(session: Session, *, ctx: PlaybackContext, row: PlaybackSession) -> None:
    """The session's position becomes the profile's resume position."""
    profiles.record_progress(
        session,
        clock=ctx.clock,
        user_id=row.user_id,
        profile_id=row.profile_id,
        title_id=row.title_id,
        position_seconds=row.position_seconds,
        duration_seconds=row.duration_seconds,
        credits_start_seconds=catalog.get_title(session, row.title_id).credits_start_seconds,
    )


def renew_playback(
    session: Session,
    *,
    ctx: PlaybackContext,
    user_id: str,
    session_id: str,
    position_seconds: float,
) -> PlaybackRenewal:
    """A heartbeat: the session counts on, the profile's resume position is saved, the play
    is counted once, and a fresh token replaces the one about to expire.

    A subscription that lapsed meanwhile gets no new token; the session then lapses too.
    """
    now = ctx.clock.now()
    row = playback.heartbeat(
        session,
        user_id=user_id,
        session_id=session_id,
        position_seconds=position_seconds,
        now=now,
        policy=ctx.policy,
    )
    entitlements = check_subscription(session, ctx=ctx, user_id=user_id, now=now)
    _save_progress(session, ctx=ctx, row=row)
    if playback.claim_play_count(session, session_id=row.id):
        catalog.record_play(
            session, title_id=row.title_id, territory=row.territory, day=paris_date(now)
        )
    manifests = _signed_manifests(session, ctx=ctx, row=row, entitlements=entitlements, now=now)
    return PlaybackRenewal(session=row, manifests=manifests, policy=ctx.policy)


def stop_playback(
    session: Session,
    *,
    ctx: PlaybackContext,
    user_id: str,
    session_id: str,
    position_seconds: float | None = None,
) -> PlaybackSession:
    """The viewer stopped: the stream is free at once; a position given is kept to resume."""
    row = playback.stop(
        session,
        user_id=user_id,
        session_id=session_id,
        now=ctx.clock.now(),
        position_seconds=position_seconds,
    )
    if position_seconds is not None:
        _save_progress(session, ctx=ctx, row=row)
    return row
