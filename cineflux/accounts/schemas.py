"""API shapes of accounts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class MeRead(BaseModel):
    """The signed-in user."""

    id: str
    email: str
    display_name: str
    role: str
    email_verified: bool = Field(
        description="false until the link mailed at sign-up is followed; "
        "unverified accounts cannot start a subscription"
    )


class SignUpRequest(BaseModel):
    """A new subscriber's details."""

    email: str = Field(max_length=320)
    password: str = Field(max_length=1024, description="at least 10 characters")
    display_name: str | None = Field(default=None, max_length=120)


class TokenRequest(BaseModel):
    """A single-use token from a mailed link."""

    token: str = Field(max_length=128)


class EmailVerifiedRead(BaseModel):
    """The outcome of following a verification link."""

    email_verified: bool


class PasswordResetRequest(BaseModel):
    """Whose password to reset (the answer is the same whether the account exists or not)."""

    email: str = Field(max_length=320)


class PasswordResetConfirm(BaseModel):
    """The reset link's token and the new password."""

    token: str = Field(max_length=128)
    password: str = Field(max_length=1024)


class AcceptedRead(BaseModel):
    """A request taken into account; what happens next is said in ``detail``."""

    status: str = "accepted"
    detail: str


class DeviceCodeRead(BaseModel):
    """RFC 8628 §3.2 device authorisation response."""

    device_code: str
    user_code: str = Field(description="eight letters, XXXX-XXXX, to show on the TV")
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


class TokenRead(BaseModel):
    """RFC 6749 §5.1 access token response."""

    access_token: str = Field(description="send as `Authorization: Bearer ...`; 15 minutes")
    token_type: str = "Bearer"  # noqa: S105 (the scheme's name)
    expires_in: int
    refresh_token: str = Field(description="single use: each refresh returns a new one")


class OAuthErrorRead(BaseModel):
    """RFC 6749 §5.2 / RFC 8628 §3.5 error response."""

    error: str
    error_description: str


class DeviceSessionRead(BaseModel):
    """A device signed in to the account."""

    id: str
    created_at: datetime
    last_used_at: datetime
