"""Account use cases that send mail: sign-up, email verification, password reset.

The mail is queued in the outbox in the caller's transaction (``mail.service.queue``): it
goes out only if the account change is committed.
"""

from __future__ import annotations

from datetime import timedelta
from html import escape
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from cineflux.accounts import service as accounts
from cineflux.accounts.models import User
from cineflux.clock import Clock
from cineflux.mail import service as mail

# At most this many reset mails per account per hour: the form is public, and must not be
# a way to flood somebody's mailbox.
RESET_MAILS_PER_HOUR = 3


def link(base_url: str, path: str, token: str) -> str:
    """The absolute URL of a mailed link (the token in the query, which logs never keep)."""
    return f"{base_url.rstrip('/')}{path}?{urlencode({'token': token})}"


def sign_up(
    session: Session,
    *,
    clock: Clock,
    base_url: str,
    email: str,
    password: str,
    display_name: str | None = None,
) -> User:
    """Create an unverified subscriber and mail the verification link."""
    user = accounts.create_user(
        session,
        clock=clock,
        email=email,
        password=password,
        display_name=display_name,
        email_verified=False,
    )
    send_verification(session, clock=clock, base_url=base_url, user=user)
    return user


def send_verification(session: Session, *, clock: Clock, base_url: str, user: User) -> bool:
    """Mail a fresh verification link, unless the email is verified already; whether sent."""
    if user.email_verified_at is not None:
        return False
    token = accounts.issue_account_token(
        session,
        clock=clock,
        user_id=user.id,
        purpose=accounts.VERIFY_EMAIL,
        ttl=accounts.VERIFY_EMAIL_TTL,
    )
    hours = int(accounts.VERIFY_EMAIL_TTL.total_seconds() // 3600)
    _mail_link(
        session,
        clock=clock,
        user=user,
        subject="Confirm your email address for Cineflux",
        action="Confirm your email address",
        url=link(base_url, "/verify-email", token),
        note=f"The link works once, within {hours} hours. "
        "If you did not sign up for Cineflux, ignore this message.",
    )
    return True


def resend_verification(session: Session, *, clock: Clock, base_url: str, user_id: str) -> bool:
    """Mail the signed-in user a new verification link; False when already verified."""
    user = session.get(User, user_id)
    if user is None:
        raise accounts.InvalidAccountData("no such user")
    return send_verification(session, clock=clock, base_url=base_url, user=user)


def request_password_reset(session: Session, *, clock: Clock, base_url: str, email: str) -> None:
    """Mail a reset link if an account has this email; callers always answer the same."""
    user = accounts.find_user_by_email(session, email)
    if user is None:
        return
    recent = accounts.recent_token_count(
        session,
        clock=clock,
        user_id=user.id,
        purpose=accounts.PASSWORD_RESET,
        within=timedelta(hours=1),
    )
    if recent >= RESET_MAILS_PER_HOUR:
        return
    token = accounts.issue_account_token(
        session,
        clock=clock,
        user_id=user.id,
        purpose=accounts.PASSWORD_RESET,
        ttl=accounts.PASSWORD_RESET_TTL,
    )
    minutes = int(accounts.PASSWORD_RESET_TTL.total_seconds() // 60)
    _mail_link(
        session,
        clock=clock,
        user=user,
        subject="Reset your Cineflux password",
        action="Choose a new password",
        url=link(base_url, "/reset-password", token),
        note=f"The link works once, within {minutes} minutes; choosing a new password signs "
        "you out everywhere. If you did not ask for this, ignore this message: your password "
        "stays as it is.",
    )


def _mail_link(
    session: Session, *, clock: Clock, user: User, subject: str, action: str, url: str, note: str
) -> None:
    """Queue a mail whose point is one link, in plain text and in HTML."""
    mail.queue(
        session,
        clock=clock,
        to=user.email,
        subject=subject,
        text=f"Hello {user.display_name},\n\n{action}: open this link.\n\n{url}\n\n{note}\n",
        html=(
            f"<p>Hello {escape(user.display_name)},</p>"
            f'<p><a href="{escape(url)}">{escape(action)}</a></p>'
            f"<p>{escape(note)}</p>"
        ),
    )
