"""The demo data: four different films, all published, and a subscriber who can sign in."""

from __future__ import annotations

from cineflux.accounts import service as accounts
from cineflux.billing import service as billing
from cineflux.catalog import flows
from cineflux.catalog import service as catalog
from cineflux.catalog.flows import Viewer
from cineflux.demo import DEMO_EMAIL, prepare_demo
from cineflux.media import service as media
from cineflux.platform import Platform
from cineflux.rights import service as rights


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
        user = accounts.authenticate(session, email=login.email, password=login.password)
        assert user
        # Every play is authorised against a subscription: the demo subscriber has one.
        rights_to_play = billing.entitlements(session, user_id=user.id, at=platform.clock.now())
        assert rights_to_play.active and rights_to_play.streams >= 1
    for package in packages.values():  # dark films too get a poster
        assert platform.storage.exists(f"{package.storage_prefix}/poster.jpg")
    assert login.email == DEMO_EMAIL
    with platform.sessions() as session:
        rows = {
            row.key: [card.name for card in row.items]
            for row in flows.home_rows(session, Viewer("FR", platform.clock.now()))
        }
        # Each row of the home screen has something to show, the chronologie included.
        assert sorted(rows["new"]) == ["La Vie en cellules", "Le Signal"]
        assert rows["leaving_soon"] == ["Fractale"]
        assert rows["coming_soon"] == ["Nocturne"]
        assert "Aurore" in rows["movies"]
        windows_before = len(rights.windows_of(session, [t.id for t in titles]))
    again = prepare_demo(platform, seconds=4, width=320, height=180)
    assert again == login
    with platform.sessions() as session:
        assert len(catalog.list_titles(session)) == 4
        assert billing.list_subscriptions(session)[1] == 1  # not a second subscription
        assert len(rights.windows_of(session, [t.id for t in titles])) == windows_before == 8
