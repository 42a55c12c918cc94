"""Locating viewers with a MaxMind database, and EU portability."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cineflux.rights.territory import (
    MaxMindGeoResolver,
    TerritoryUnknown,
    UnknownTerritoryCode,
    catalogue_territory,
    locate_viewer,
    normalise_territory,
)
from tests.geoip import BRITAIN, FRANCE, NOWHERE, SWEDEN, USA, write_test_geoip

SHARED_GEOIP = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "geoip"


@pytest.fixture(scope="module")
def geoip_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MaxMindGeoResolver]:
    """Our own small database, in MaxMind's format, over the documentation ranges."""
    path = write_test_geoip(tmp_path_factory.mktemp("geoip") / "test-country.mmdb")
    resolver = MaxMindGeoResolver(path)
    yield resolver
    resolver.close()


def test_the_country_of_use_is_read_not_the_registered_one(
    geoip_database: MaxMindGeoResolver,
) -> None:
    assert geoip_database.country_of(FRANCE) == "FR"
    assert geoip_database.country_of(SWEDEN) == "SE"
    assert geoip_database.country_of(BRITAIN) == "GB"
    assert geoip_database.country_of(USA) == "US"


def test_addresses_without_a_country_record_are_refused_clearly(
    geoip_database: MaxMindGeoResolver,
) -> None:
    for address in (NOWHERE, "10.0.0.1", "127.0.0.1", "not-an-ip", None):
        with pytest.raises(TerritoryUnknown, match="cannot tell which country"):
            locate_viewer(geoip_database, address, fallback="FR")


def test_without_a_database_every_viewer_is_in_the_configured_territory() -> None:
    assert locate_viewer(None, NOWHERE, fallback="FR").territory == "FR"


def test_a_verified_french_subscriber_in_sweden_sees_the_french_catalogue(
    geoip_database: MaxMindGeoResolver,
) -> None:
    viewer = locate_viewer(
        geoip_database, SWEDEN, fallback="FR", home_country="FR", home_verified=True
    )
    assert viewer.territory == "FR" and viewer.located_in == "SE" and viewer.portability
    assert "portability" in viewer.explanation


@pytest.mark.parametrize(("address", "country"), [(BRITAIN, "GB"), (USA, "US")])
def test_portability_stops_at_the_eu_border(
    geoip_database: MaxMindGeoResolver, address: str, country: str
) -> None:
    viewer = locate_viewer(
        geoip_database, address, fallback="FR", home_country="FR", home_verified=True
    )
    assert viewer.territory == country and not viewer.portability


def test_portability_needs_a_verified_home_member_state() -> None:
    assert catalogue_territory("SE", home_country="FR", home_verified=False).territory == "SE"
    # Switzerland is not in the EU: no portability from there either.
    assert catalogue_territory("FR", home_country="CH", home_verified=True).territory == "FR"
    at_home = catalogue_territory("FR", home_country="FR", home_verified=True)
    assert at_home.territory == "FR" and not at_home.portability


def test_territory_codes_are_iso_3166_alpha_2() -> None:
    assert normalise_territory(" fr ") == "FR"
    assert normalise_territory("GB") == "GB"
    for bad in ("UK", "FRA", "XX", "", "EU"):
        with pytest.raises(UnknownTerritoryCode):
            normalise_territory(bad)


@pytest.mark.skipif(
    not (SHARED_GEOIP / "GeoLite2-Country-Test.mmdb").exists(),
    reason="MaxMind's test databases live in ../shared, absent from a fresh clone",
)
def test_maxminds_own_test_databases_read_the_country_of_use() -> None:
    for name in ("GeoLite2-Country-Test.mmdb", "GeoIP2-City-Test.mmdb"):
        resolver = MaxMindGeoResolver(SHARED_GEOIP / name)
        try:
            # MaxMind's test data, where the country of use and of registration differ.
            assert resolver.country_of("81.2.69.160") == "GB"  # registered in the US
            assert resolver.country_of("89.160.20.112") == "SE"  # registered in Germany
            assert resolver.country_of("216.160.83.56") == "US"  # registered in Britain
            assert resolver.country_of("2a02:d300::1") == "UA"
            assert resolver.country_of("1.1.1.1") is None
            # A French subscriber on that Swedish address keeps the French catalogue.
            viewer = locate_viewer(
                resolver, "89.160.20.112", fallback="FR", home_country="FR", home_verified=True
            )
            assert viewer.territory == "FR" and viewer.portability
        finally:
            resolver.close()
