"""A small GeoIP database in MaxMind's format, written by the tests themselves."""

from __future__ import annotations

from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet

FRANCE = "192.0.2.10"
SWEDEN = "192.0.2.200"
BRITAIN = "198.51.100.7"  # registered to a US company
USA = "2001:db8::1"
NOWHERE = "203.0.113.5"  # registered, but no country of use


def _country(code: str) -> dict[str, object]:
    return {"iso_code": code, "names": {"en": code}}


def write_test_geoip(path: Path) -> Path:
    """Documentation address ranges mapped to FR, SE, GB (registered US), US, and none."""
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-Country")
    writer.insert_network(IPSet(["192.0.2.0/25"]), {"country": _country("FR")})
    writer.insert_network(IPSet(["192.0.2.128/25"]), {"country": _country("SE")})
    writer.insert_network(
        IPSet(["198.51.100.0/24"]),
        {"country": _country("GB"), "registered_country": _country("US")},
    )
    writer.insert_network(IPSet(["2001:db8::/32"]), {"country": _country("US")})
    writer.insert_network(IPSet(["203.0.113.0/24"]), {"registered_country": _country("NL")})
    writer.to_db_file(str(path))
    return path
