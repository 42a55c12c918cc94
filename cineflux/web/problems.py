"""Errors as RFC 9457 problem details, mapped once for the whole HTTP surface."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from cineflux.accounts.devices import DeviceSessionNotFound, UserCodeInvalid
from cineflux.accounts.service import (
    AccountError,
    EmailNotVerified,
    EmailTaken,
    InvalidAccountData,
    InvalidToken,
)
from cineflux.billing.provider import PaymentError
from cineflux.billing.rules import InvalidTransition
from cineflux.billing.service import (
    AlreadySubscribed,
    BillingConflict,
    BillingError,
    InvalidPlan,
    InvoiceNotFound,
    NoSubscription,
    PaymentDeclined,
    PaymentNotFound,
    PlanChangeRefused,
    PlanExists,
    PlanNotFound,
)
from cineflux.billing.signatures import WebhookRejected
from cineflux.catalog.service import InvalidTitle, TitleNotFound
from cineflux.delivery.errors import (
    EdgeSignatureInvalid,
    EdgeSignatureStale,
    InvalidHeartbeat,
    SiteNotFound,
)
from cineflux.mail.service import InvalidMail
from cineflux.media.service import JobNotFound
from cineflux.playback.licences import KeySystemUnsupported, LicenceRefused
from cineflux.playback.service import (
    DeviceCannotPlay,
    InvalidPlaybackRequest,
    NotAvailableHere,
    NotPlayable,
    PaymentOverdue,
    PlaybackSessionEnded,
    PlaybackSessionNotFound,
    ProfilePinRequired,
    RatedAboveProfile,
    StreamLimitReached,
    SubscriptionRequired,
)
from cineflux.profiles.service import (
    AdultCodeRequired,
    InvalidProfile,
    ProfileNotFound,
    TooManyProfiles,
    WrongPin,
)
from cineflux.protection.cenc import InvalidLicenceRequest
from cineflux.protection.keystore import ContentKeyUnavailable
from cineflux.rights.avails import AvailsInvalid
from cineflux.rights.chronology import RuleSetError
from cineflux.rights.service import InvalidWindow, WindowNotFound
from cineflux.rights.territory import TerritoryUnknown, UnknownTerritoryCode
from cineflux.storage import InvalidKey

PROBLEM_MEDIA_TYPE = "application/problem+json"

# Domain errors and the HTTP status each one means; the first matching class wins.
DOMAIN_STATUS: list[tuple[type[Exception], int, str]] = [
    (TitleNotFound, 404, "Title not found"),
    (JobNotFound, 404, "Encoding job not found"),
    (InvalidTitle, 422, "Invalid title"),
    (EmailTaken, 409, "Email already registered"),
    (InvalidAccountData, 422, "Invalid account data"),
    (InvalidToken, 400, "Invalid or expired link"),
    (EmailNotVerified, 403, "Email not verified"),
    (DeviceSessionNotFound, 404, "Device not found"),
    (UserCodeInvalid, 400, "Unknown device code"),
    (InvalidMail, 422, "Invalid mail"),
    (AccountError, 400, "Account error"),
    (InvalidKey, 404, "Not found"),
    (WindowNotFound, 404, "Rights window not found"),
    (InvalidWindow, 422, "Invalid rights window"),
    (AvailsInvalid, 422, "Invalid avails"),
    (UnknownTerritoryCode, 422, "Unknown territory"),
    (TerritoryUnknown, 403, "Location unknown"),
    (RuleSetError, 422, "Invalid rule set"),
    (ProfileNotFound, 404, "Profile not found"),
    (TooManyProfiles, 409, "Too many profiles"),
    (WrongPin, 403, "Wrong code"),
    (AdultCodeRequired, 403, "-18 code required"),
    (InvalidProfile, 422, "Invalid profile"),
    (PlanNotFound, 404, "Plan not found"),
    (InvoiceNotFound, 404, "Invoice not found"),
    (PaymentNotFound, 404, "Payment not found"),
    (NoSubscription, 404, "No subscription"),
    (AlreadySubscribed, 409, "Already subscribed"),
    (PlanExists, 409, "Plan exists"),
    (PlanChangeRefused, 409, "Plan change refused"),
    (BillingConflict, 409, "Conflicting change, try again"),
    (PaymentDeclined, 402, "Payment declined"),
    (InvalidPlan, 422, "Invalid plan"),
    (PaymentError, 422, "Invalid card"),
    (WebhookRejected, 400, "Webhook rejected"),
    (InvalidTransition, 409, "Invalid subscription change"),
    (BillingError, 400, "Billing error"),
    (SiteNotFound, 404, "Site not found"),
    (InvalidHeartbeat, 422, "Invalid heartbeat"),
    (EdgeSignatureInvalid, 403, "Edge signature refused"),
    (EdgeSignatureStale, 401, "Edge signature stale"),
    (SubscriptionRequired, 403, "Subscription required"),
    (PaymentOverdue, 403, "Payment overdue"),
    (NotAvailableHere, 403, "Not available here"),
    (NotPlayable, 404, "Not playable"),
    (RatedAboveProfile, 403, "Not for this profile"),
    (ProfilePinRequired, 403, "Profile PIN required"),
    (DeviceCannotPlay, 422, "Device cannot play this title"),
    (InvalidPlaybackRequest, 422, "Invalid playback request"),
    (StreamLimitReached, 409, "Too many streams"),
    (PlaybackSessionNotFound, 404, "Playback session not found"),
    (PlaybackSessionEnded, 410, "Playback ended"),
    (InvalidLicenceRequest, 400, "Invalid licence request"),
    (LicenceRefused, 403, "Licence refused"),
    (KeySystemUnsupported, 404, "Key system not supported"),
    (ContentKeyUnavailable, 503, "Content key unavailable"),
]


class Problem(Exception):
    """An HTTP problem raised by the web layer itself."""

    def __init__(self, status: int, title: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra


class ProfileChoiceRequired(Exception):
    """The account has several profiles (or a PIN) and none is chosen yet."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class FirstProfileMade(Exception):
    """The account's first profile was just made, in a transaction of its own: the request,
    reading a snapshot from before it, is asked again (a redirect to itself)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class SignInRequired(Exception):
    """A page needs a signed-in user; browsers are sent to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def problem_response(
    request: Request, status: int, title: str, detail: str | None = None, **extra: Any
) -> Response:
    """A problem as JSON for API clients, as a small page for browsers."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "instance": request.url.path,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    headers = {"Cache-Control": "no-store"}
    if _wants_html(request):
        from cineflux.web.templating import render

        response = render(request, "error.html", {"problem": body}, status_code=status)
        response.headers.update(headers)
        return response
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/media/")) or path in ("/healthz", "/readyz"):
        return False
    return "text/html" in request.headers.get("accept", "")


CLIENT_CLOSED_REQUEST = 499


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error the app can raise to one problem response."""

    async def on_problem(request: Request, error: Exception) -> Response:
        assert isinstance(error, Problem)
        return problem_response(request, error.status, error.title, error.detail, **error.extra)

    async def on_http(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        response = problem_response(
            request, error.status_code, _reason(error.status_code), str(error.detail)
        )
        if error.headers:
            response.headers.update(error.headers)
        return response

    async def on_validation(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in error.errors()]
        return problem_response(
            request, 422, "Invalid request", "the request does not match the API", errors=errors
        )

    async def on_sign_in_required(request: Request, error: Exception) -> Response:
        assert isinstance(error, SignInRequired)
        return RedirectResponse(f"/login?next={quote(error.next_path)}", status_code=303)

    async def on_client_gone(request: Request, error: Exception) -> Response:
        # The client left while sending its body (a page closed mid-report): nobody reads
        # the answer, the request changed nothing, and it is no server error. 499 in the
        # request log, as nginx names it ("client closed request").
        return Response(status_code=CLIENT_CLOSED_REQUEST)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(ClientDisconnect, on_client_gone)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(SignInRequired, on_sign_in_required)

    async def on_profile_choice(request: Request, error: Exception) -> Response:
        assert isinstance(error, ProfileChoiceRequired)
        if _wants_html(request):
            return RedirectResponse(f"/profiles?next={quote(error.next_path)}", status_code=303)
        return problem_response(
            request, 409, "Choose a profile", "select a profile with POST /api/profiles/{id}/select"
        )

    app.add_exception_handler(ProfileChoiceRequired, on_profile_choice)

    async def on_first_profile(request: Request, error: Exception) -> Response:
        assert isinstance(error, FirstProfileMade)
        # 307: the same method and URL again, for pages and API calls alike (GET only).
        return RedirectResponse(error.path, status_code=307)

    app.add_exception_handler(FirstProfileMade, on_first_profile)
    for error_type, status, title in DOMAIN_STATUS:
        app.add_exception_handler(error_type, _domain_handler(status, title))


def _domain_handler(status: int, title: str) -> Any:
    async def handle(request: Request, error: Exception) -> Response:
        return problem_response(request, status, title, str(error) or None)

    return handle


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
