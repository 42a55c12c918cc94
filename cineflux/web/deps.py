"""Request-scoped dependencies of the web layer: platform, database session, signed-in user."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Annotated, TypeVar

import anyio
from anyio import to_thread
from anyio.lowlevel import RunVar
from fastapi import Depends, Request
from fastapi.concurrency import contextmanager_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.orm import Session

from cineflux.accounts import devices
from cineflux.accounts import service as accounts
from cineflux.catalog import service as catalog
from cineflux.catalog.flows import Viewer
from cineflux.db import WriteLockBusy, holds_sqlite_write_lock, read_transaction, transaction
from cineflux.platform import Platform
from cineflux.profiles import service as profiles
from cineflux.profiles.models import Profile
from cineflux.profiles.selection import PROFILE_COOKIE, PROFILE_HEADER, selected_profile_id
from cineflux.rights.territory import TerritoryUnknown, locate_viewer
from cineflux.web.problems import FirstProfileMade, Problem, ProfileChoiceRequired, SignInRequired

SESSION_COOKIE = "cineflux_session"

T = TypeVar("T")


# Dependencies that neither block nor touch the database are coroutines: FastAPI runs a
# plain function in the thread pool, one hop per dependency of every request.


async def get_platform(request: Request) -> Platform:
    """The platform the app was built with."""
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


# Requests that only read: their transactions run side by side (on SQLite, under WAL).
_READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Writing requests of this process's event loop queue here on SQLite (see get_db).
_sqlite_writers: RunVar[anyio.Lock] = RunVar("cineflux_sqlite_writers")


def _writers_queue(platform: Platform) -> anyio.Lock | None:
    """The event loop's queue of writing requests on SQLite (None on PostgreSQL)."""
    if platform.engine.dialect.name != "sqlite":
        return None
    try:
        return _sqlite_writers.get()
    except LookupError:
        lock = anyio.Lock()
        _sqlite_writers.set(lock)
        return lock


async def get_db(request: Request, platform: PlatformDep) -> AsyncIterator[Session]:
    """One transaction per request: committed when the handler returns, else rolled back.

    A request that may write (POST, PUT, PATCH, DELETE) takes SQLite's write lock at its
    first statement, so writers queue instead of failing on a stale snapshot
    (``db.transaction``); GET and HEAD handlers never write. On SQLite, this process's
    writers first queue on a lock in the event loop, holding neither a thread nor a
    connection: queued in ``BEGIN IMMEDIATE`` they held both, and under load (more
    concurrent writers than the thread pool) the one holding the write lock could get no
    thread to finish on, so every writer waited out the busy timeout.
    """
    if request.method in _READING_METHODS:
        async with contextmanager_in_threadpool(read_transaction(platform.sessions)) as session:
            yield session
        return
    writers = _writers_queue(platform)
    async with AsyncExitStack() as stack:
        if writers is not None:
            await stack.enter_async_context(writers)
        yield await stack.enter_async_context(
            contextmanager_in_threadpool(transaction(platform.sessions))
        )


# Scope "function": the transaction ends (commit or rollback) before the response is sent.
# FastAPI's default ("request") ends it after: a browser following the redirect of a sign-in
# could ask for the next page before the session was committed (signed out again), and a
# commit that failed came after a success had been answered.
DbDep = Annotated[Session, Depends(get_db, scope="function")]


_bearer = HTTPBearer(auto_error=False, description="access token from /api/token")


@dataclass(frozen=True)
class Credentials:
    """What a request presents to prove who sends it: a bearer access token (devices) or
    the session cookie (browsers). Reading them needs no database."""

    bearer: str | None
    cookie: str | None


async def presented_credentials(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Credentials:
    """The request's credentials, unchecked (``signed_in_user`` checks them)."""
    return Credentials(
        bearer=bearer.credentials if bearer is not None else None,
        cookie=request.cookies.get(SESSION_COOKIE),
    )


CredentialsDep = Annotated[Credentials, Depends(presented_credentials)]


def request_credentials(request: Request) -> Credentials:
    """The request's credentials, read as ``presented_credentials`` reads them, for the
    hottest routes (a dependency's resolution cost a play more than reading two headers)."""
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    bearer = token if scheme.lower() == "bearer" and token else None
    return Credentials(bearer=bearer, cookie=request.cookies.get(SESSION_COOKIE))


# What a route reading ``request_credentials`` says of itself in the OpenAPI document,
# as ``CredentialsDep`` (``HTTPBearer``) says it for the others.
BEARER_SECURITY: dict[str, object] = {"security": [{"HTTPBearer": []}]}


def signed_in_user(
    db: Session, platform: Platform, credentials: Credentials
) -> accounts.SignedInUser | None:
    """The signed-in user: a bearer access token (devices) if sent, else the session cookie."""
    if credentials.bearer is not None:
        return devices.resolve_access_token(
            db, clock=platform.clock, signing_key=platform.signing_key, token=credentials.bearer
        )
    return accounts.resolve_session(db, clock=platform.clock, token=credentials.cookie)


def optional_user(
    db: DbDep, platform: PlatformDep, credentials: CredentialsDep
) -> accounts.SignedInUser | None:
    """The signed-in user of a page or API call, if any."""
    return signed_in_user(db, platform, credentials)


OptionalUserDep = Annotated[accounts.SignedInUser | None, Depends(optional_user)]


def _required(user: accounts.SignedInUser | None) -> accounts.SignedInUser:
    if user is None:
        raise Problem(401, "Sign-in required", "this resource needs a signed-in session")
    return user


async def run_signed_in(
    platform: Platform,
    credentials: Credentials,
    work: Callable[[Session, accounts.SignedInUser], T],
    *,
    writes: bool,
) -> T:
    """The whole of a hot route in one transaction: sign-in check, ``work`` and commit
    (rolled back if anything raises; 401 without a valid sign-in).

    A handler built from ``DbDep`` and ``ApiUserDep`` crosses to the thread pool four
    times (the transaction's start, the sign-in, the handler, the commit), each crossing
    waiting for the GIL behind the event loop under load: half the CPU of a play's
    authorisation (bench/playback.py). Plays, heartbeats, licences and manifests use this.

    On PostgreSQL the unit of work runs on one worker thread (it waits on the network).
    On SQLite it runs on the event loop itself: SQLite is a library in this process, its
    statements are CPU, not waits, which a thread would only take turns with under the
    GIL, and the crossing itself cost a fifth of a play. The one wait it can have is for
    the write lock of another connection (a background thread, another process): writers
    first queue in the event loop as ``get_db``'s do, then begin without waiting, and when
    the lock is taken all the same they go to a worker thread to wait there instead.
    Readers never wait for writers under WAL.
    """

    def unit_of_work(wait: bool = True) -> T:
        begin = transaction(platform.sessions, wait=wait) if writes else None
        with begin or read_transaction(platform.sessions) as db:
            return work(db, _required(signed_in_user(db, platform, credentials)))

    writers = _writers_queue(platform)
    if writers is None:
        return await to_thread.run_sync(unit_of_work)
    if not writes:
        return unit_of_work()
    async with writers:
        try:
            return unit_of_work(wait=False)
        except WriteLockBusy:
            return await to_thread.run_sync(unit_of_work)


def requested_path(request: Request) -> str:
    """The path and query the client asked for, to come back to after a detour."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def page_user(request: Request, user: OptionalUserDep) -> accounts.SignedInUser:
    """The signed-in user of a page; others are sent to sign in, then back here."""
    if user is None:
        raise SignInRequired(requested_path(request))
    return user


PageUserDep = Annotated[accounts.SignedInUser, Depends(page_user)]


async def api_user(user: OptionalUserDep) -> accounts.SignedInUser:
    """The signed-in user of an API call or media request; 401 otherwise."""
    return _required(user)


ApiUserDep = Annotated[accounts.SignedInUser, Depends(api_user)]


def operator_user(user: ApiUserDep) -> accounts.SignedInUser:
    """An operator; subscribers get 403 (least privilege between the two)."""
    if user.role != "operator":
        raise Problem(403, "Operators only", "this resource belongs to the operator console")
    return user


OperatorDep = Annotated[accounts.SignedInUser, Depends(operator_user)]


def check_csrf(platform: Platform, user: accounts.SignedInUser, presented: str | None) -> None:
    """Refuse a cookie-authenticated form post without the session's CSRF token."""
    if not accounts.csrf_token_valid(
        key=platform.signing_key, session_token_hash=user.session_token_hash, presented=presented
    ):
        raise Problem(403, "CSRF check failed", "the form is stale or was not sent by this site")


def csrf_for(platform: Platform, user: accounts.SignedInUser) -> str:
    """The CSRF token to embed in this user's forms."""
    return accounts.csrf_token(key=platform.signing_key, session_token_hash=user.session_token_hash)


def safe_next_path(candidate: str | None) -> str:
    """A local path to return to after sign-in; anything else (other sites) becomes ``/``."""
    if (
        not candidate
        or not candidate.startswith("/")
        or candidate.startswith("//")
        or "\\" in candidate
        or any(ord(ch) < 0x20 for ch in candidate)
    ):
        return "/"
    return candidate


def _language(request: Request) -> str:
    """French unless the browser prefers English (the service launches in France)."""
    header = request.headers.get("accept-language", "").lower()
    for part in header.split(","):
        tag = part.split(";")[0].strip()
        if tag.startswith("fr"):
            return "fr"
        if tag.startswith("en"):
            return "en"
    return "fr"


def can_write(db: Session) -> bool:
    """Whether this request's transaction may write: on SQLite only one that took the write
    lock at BEGIN (``db.transaction``); a deferred one cannot, once another writer has
    committed since it began reading ("database is locked" at once)."""
    return db.get_bind().dialect.name != "sqlite" or holds_sqlite_write_lock(db)


def first_profile(platform: Platform, db: Session, *, user_id: str, name: str) -> Profile:
    """An account's first profile, made on its first visit (named after the account).

    In the request's transaction where it may write, else in a transaction of its own: made
    in a GET's read transaction on SQLite, it failed whenever anything else wrote meanwhile
    (the demo's first home page was a 500 while its edges heartbeat). Signing in makes it
    (a POST), so pages rarely have to. Sync callers only (worker threads)."""
    if can_write(db):
        return profiles.ensure_first_profile(db, clock=platform.clock, user_id=user_id, name=name)
    with transaction(platform.sessions) as session:
        return profiles.ensure_first_profile(
            session, clock=platform.clock, user_id=user_id, name=name
        )


def current_profile(
    request: Request, db: DbDep, platform: PlatformDep, user: OptionalUserDep
) -> Profile | None:
    """The profile this session chose; an account with one profile and no PIN uses it."""
    if user is None:
        return None
    chosen = selected_profile_id(
        platform.signing_key,
        session_token_hash=user.session_token_hash,
        # Browsers keep the choice in a cookie; device apps send it back in a header.
        cookie=request.headers.get(PROFILE_HEADER) or request.cookies.get(PROFILE_COOKIE),
    )
    if chosen is not None:
        try:
            return profiles.get_profile(db, user_id=user.id, profile_id=chosen)
        except profiles.ProfileNotFound:
            pass  # deleted since: choose again
    owned = profiles.list_profiles(db, user_id=user.id)
    if not owned:
        owned = [first_profile(platform, db, user_id=user.id, name=user.display_name)]
        if not can_write(db):
            # This request's snapshot is from before it: ask again.
            raise FirstProfileMade(requested_path(request))
    if len(owned) == 1 and owned[0].pin_hash is None:
        return owned[0]
    raise ProfileChoiceRequired(requested_path(request))


ProfileDep = Annotated[Profile | None, Depends(current_profile)]


def current_viewer(
    request: Request, platform: PlatformDep, user: OptionalUserDep, profile: ProfileDep
) -> Viewer:
    """Who is browsing, where: the catalogue territory from GeoIP and EU portability, and
    the profile's age limit and language."""
    address = request.client.host if request.client else None
    try:
        located = locate_viewer(
            platform.geo,
            address,
            fallback=platform.settings.default_territory,
            home_country=user.home_country if user else None,
            home_verified=user.home_country_verified if user else False,
        )
    except TerritoryUnknown as error:
        raise Problem(403, "Location unknown", str(error)) from None
    if profile is None:
        return Viewer(located.territory, platform.clock.now(), language=_language(request))
    return Viewer(
        territory=located.territory,
        at=platform.clock.now(),
        max_age=catalog.minimum_age(profile.max_rating),
        language=profile.language,
    )


ViewerDep = Annotated[Viewer, Depends(current_viewer)]
