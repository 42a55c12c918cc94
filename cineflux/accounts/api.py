"""Accounts HTTP API."""

from __future__ import annotations

from fastapi import APIRouter

from cineflux.accounts.schemas import MeRead
from cineflux.web.deps import ApiUserDep

router = APIRouter(prefix="/api", tags=["accounts"])


@router.get("/me", response_model=MeRead)
def me(user: ApiUserDep) -> MeRead:
    """Who is signed in."""
    return MeRead(id=user.id, email=user.email, display_name=user.display_name, role=user.role)
