"""API shapes of accounts."""

from __future__ import annotations

from pydantic import BaseModel


class MeRead(BaseModel):
    """The signed-in user."""

    id: str
    email: str
    display_name: str
    role: str
