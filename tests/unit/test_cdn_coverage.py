"""Coverage zones: longest-prefix match over IPv4 and IPv6, GeoIP fallback, bad files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cineflux.delivery.coverage import (
    CoverageMap,
    load_coverage,
    locate_client,
    parse_coverage,
)
from cineflux.delivery.errors import CoverageZonesInvalid

ZONES = Path(__file__).resolve().parents[1] / "fixtures" / "cdn" / "coverage_zones.json"


@pytest.fixture(scope="module")
def coverage() -> CoverageMap:
    return load_coverage(ZONES)


class FakeGeo:
    """GeoIP answering from a table."""

    def __init__(self, countries: dict[str, str]) -> None:
        self.countries = countries

    def country_of(self, address: str) -> str | None:
        return self.countries.get(address)


@pytest.mark.parametrize(
    ("address", "site"),
    [
        ("192.0.2.10", "paris"),  # only the /24 holds it
        ("192.0.2.200", "lyon"),  # the /25 is more specific than paris's /24
        ("10.9.9.9", "paris"),  # the /8
        ("10.1.7.7", "lyon"),  # the /16 inside paris's /8
        ("10.1.2.3", "lille"),  # the /24 inside lyon's /16 inside paris's /8
        ("198.51.100.1", "brussels"),
        ("2001:db8:1::1", "paris"),
        ("2001:db8:1:2::99", "lyon"),  # the /64 inside paris's /48
        ("::ffff:10.1.2.3", "lille"),  # an IPv4-mapped IPv6 address is its IPv4 address
    ],
)
def test_the_most_specific_network_wins(coverage: CoverageMap, address: str, site: str) -> None:
    assert coverage.site_for_address(address) == site


@pytest.mark.parametrize("address", ["203.0.113.9", "2001:db8:2::1", "not an address", ""])
def test_addresses_outside_every_zone_have_no_site(coverage: CoverageMap, address: str) -> None:
    assert coverage.site_for_address(address) is None


def test_the_file_keeps_geography_for_spilling(coverage: CoverageMap) -> None:
    paris = coverage.sites["paris"]
    assert paris.neighbours == ("lyon",)
    assert paris.countries == ("FR",)
    assert paris.coordinates is not None and paris.coordinates.latitude == 48.86
    assert coverage.sites["lille"].coordinates is not None
    assert coverage.sites["brussels"].countries == ("BE", "LU")


def test_a_client_is_placed_by_zone_then_geoip_country_then_default(
    coverage: CoverageMap,
) -> None:
    geo = FakeGeo({"203.0.113.9": "LU", "203.0.113.10": "DE", "192.0.2.10": "BE"})
    assert locate_client(coverage, geo, "192.0.2.10", default_site="lille").site == "paris"
    by_country = locate_client(coverage, geo, "203.0.113.9", default_site="lille")
    assert (by_country.site, by_country.found_by) == ("brussels", "GeoIP country LU")
    fallback = locate_client(coverage, geo, "203.0.113.10", default_site="lille")
    assert (fallback.site, fallback.found_by) == ("lille", "default site")
    assert locate_client(coverage, None, "203.0.113.9", default_site=None).site is None
    assert locate_client(coverage, geo, None, default_site="lyon").site == "lyon"


def test_a_country_listed_by_two_sites_goes_to_the_first(coverage: CoverageMap) -> None:
    assert coverage.site_for_country("FR") == "paris"
    assert coverage.site_for_country("DE") is None


def _zones(**zones: Any) -> dict[str, Any]:
    return {"coverageZones": zones}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], '"coverageZones" object'),
        ({"zones": {}}, '"coverageZones" object'),
        (_zones(Paris={"network": []}), "coverageZones.Paris: site names"),
        (_zones(paris=["192.0.2.0/24"]), "coverageZones.paris: expected an object"),
        (_zones(paris={"networks": []}), "unknown key 'networks'"),
        (_zones(paris={"network": "192.0.2.0/24"}), "coverageZones.paris.network: expected a list"),
        (
            _zones(paris={"network": ["192.0.2.0/24", "192.0.2.300/32"]}),
            "coverageZones.paris.network[1]: '192.0.2.300/32' is not a network",
        ),
        (
            _zones(paris={"network": ["192.0.2.1/24"]}),
            "coverageZones.paris.network[0]: '192.0.2.1/24' is not a network (192.0.2.1/24 has "
            "host bits set)",
        ),
        (
            _zones(paris={"network": ["2001:db8::/32"]}),
            "coverageZones.paris.network[0]: '2001:db8::/32' is IPv6, put it in network6",
        ),
        (
            _zones(paris={"network6": ["192.0.2.0/24"]}),
            "'192.0.2.0/24' is IPv4, put it in network",
        ),
        (
            _zones(paris={"network": ["192.0.2.0/24"]}, lyon={"network": ["192.0.2.0/24"]}),
            "coverageZones.lyon.network[0]: 192.0.2.0/24 is already in site 'paris'",
        ),
        (
            _zones(paris={"coordinates": {"latitude": 95, "longitude": 2}}),
            "coverageZones.paris.coordinates.latitude: a number of degrees within ±90",
        ),
        (
            _zones(paris={"coordinates": {"latitude": 48}}),
            "coverageZones.paris.coordinates.longitude",
        ),
        (_zones(paris={"countries": ["XX"]}), "coverageZones.paris.countries: 'XX' is not"),
        (
            _zones(paris={"neighbours": ["lyon"]}),
            "coverageZones.paris.neighbours: 'lyon' is not another site of the file",
        ),
    ],
)
def test_bad_files_say_where_and_why(data: Any, message: str) -> None:
    with pytest.raises(CoverageZonesInvalid) as raised:
        parse_coverage(data)
    assert message in str(raised.value)


def test_a_file_that_is_not_json_gives_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "zones.json"
    path.write_text('{"coverageZones": {\n  "paris": {"network": [,]}}}\n')
    with pytest.raises(CoverageZonesInvalid) as raised:
        load_coverage(path)
    assert str(raised.value).startswith(f"{path}:2:")
    assert "not JSON" in str(raised.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CoverageZonesInvalid, match="no such coverage zone file"):
        load_coverage(tmp_path / "absent.json")


def test_a_bad_network_in_a_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "zones.json"
    path.write_text(json.dumps(_zones(paris={"network": ["10.0.0.0/33"]})))
    with pytest.raises(CoverageZonesInvalid) as raised:
        load_coverage(path)
    assert str(raised.value).startswith(f"{path}: coverageZones.paris.network[0]")
