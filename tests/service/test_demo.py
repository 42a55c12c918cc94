"""The demo data: four different films, all published, and a subscriber who can sign in."""

from __future__ import annotations

from cineflux.accounts import service as accounts
from cineflux.catalog import service as catalog
from cineflux.demo import DEMO_EMAIL, prepare_demo
from cineflux.media import service as media
from cineflux.platform import Platform


def test_demo_publishes_four_films_and_a_subscriber_and_a_second_run_changes_nothing(
    platform: Platform,
) -> None:
    login = prepare_demo(platform, seconds=4, width=320, height=180)
    with platform.sessions() as session:
        titles = catalog.list_titles(session)
        packages = media.packages_by_title(session, [t.id for t in titles])
        assert sorted(t.name for t in titles) == [
            "Aurore", "Fractale", "La Vie en cellules", "Le Signal",
        ]  # fmt: skip
        assert all(p.status == "complete" for p in packages.values()) and len(packages) == 4
        assert accounts.authenticate(session, email=login.email, password=login.password)
    for package in packages.values():  # dark films too get a poster
        assert platform.storage.exists(f"{package.storage_prefix}/poster.jpg")
    assert login.email == DEMO_EMAIL
    again = prepare_demo(platform, seconds=4, width=320, height=180)
    assert again == login
    with platform.sessions() as session:
        assert len(catalog.list_titles(session)) == 4
