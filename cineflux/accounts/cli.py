"""``cineflux users``: manage accounts from the command line."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cineflux.accounts import service as accounts
from cineflux.cli_support import console, fail, load_platform
from cineflux.db import transaction

app = typer.Typer(help="Manage subscriber and operator accounts.", no_args_is_help=True)


@app.command("create")
def create(
    email: Annotated[str, typer.Option(help="sign-in email")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="CINEFLUX_NEW_USER_PASSWORD",
            help="asked for when not given (or set CINEFLUX_NEW_USER_PASSWORD)",
        ),
    ],
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    role: Annotated[str, typer.Option(help="subscriber or operator")] = "subscriber",
    as_json: Annotated[bool, typer.Option("--json", help="print the new user as JSON")] = False,
) -> None:
    """Create an account."""
    platform = load_platform()
    try:
        with transaction(platform.sessions) as session:
            user = accounts.create_user(
                session,
                clock=platform.clock,
                email=email,
                password=password,
                display_name=name,
                role=role,
            )
    except accounts.EmailTaken:
        fail(f"an account with the email {accounts.normalise_email(email)} already exists")
    except accounts.InvalidAccountData as error:
        fail(str(error))
    if as_json:
        print(json.dumps({"id": user.id, "email": user.email, "role": user.role}))
    else:
        console.print(f"Created {user.role} [bold]{user.email}[/] ({user.id})")


@app.command("verify-home")
def verify_home(
    email: Annotated[str, typer.Argument(help="the subscriber's sign-in email")],
    country: Annotated[str, typer.Option(help="member state of residence, ISO 3166-1 alpha-2")],
) -> None:
    """Record a subscriber's verified home country (EU portability of the catalogue)."""
    platform = load_platform()
    try:
        with transaction(platform.sessions) as session:
            user = accounts.find_user_by_email(session, email)
            if user is None:
                fail(f"no account has the email {accounts.normalise_email(email)}")
            accounts.verify_home_country(
                session, clock=platform.clock, user_id=user.id, country=country
            )
    except accounts.InvalidAccountData as error:
        fail(str(error))
    console.print(f"{user.email}: home country {country.upper()}, verified")
