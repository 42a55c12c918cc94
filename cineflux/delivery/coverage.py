"""Coverage zones: which site serves a client, from its address. Pure, but for reading a file.

The file follows Apache Traffic Control's coverage zone file: ``coverageZones`` maps each
site (ATC's cache group) to its client networks, IPv4 in ``network`` and IPv6 in
``network6``, with optional ``coordinates``. Cineflux adds two optional keys per site:
``countries`` (ISO codes whose clients GeoIP sends there when no network matches) and
``neighbours`` (the sites its traffic spills to first, in order)::

    {"revision": "2026-01-15", "customerName": "Cineflux",
     "coverageZones": {
        "paris": {"network": ["192.0.2.0/25"], "network6": ["2001:db8:1::/48"],
                  "coordinates": {"latitude": 48.86, "longitude": 2.35},
                  "countries": ["FR"], "neighbours": ["lyon"]}}}

The most specific network wins (longest prefix), whichever zone lists it.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cineflux.delivery.errors import CoverageZonesInvalid
from cineflux.rights.territory import GeoResolver, UnknownTerritoryCode, normalise_territory

SITE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_ZONE_KEYS = {"network", "network6", "coordinates", "countries", "neighbours"}


@dataclass(frozen=True)
class Coordinates:
    """A point on Earth, in degrees."""

    latitude: float
    longitude: float


@dataclass(frozen=True)
class SiteGeography:
    """What the coverage file says of a site beyond its networks."""

    name: str
    coordinates: Coordinates | None = None
    countries: tuple[str, ...] = ()
    neighbours: tuple[str, ...] = ()


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class CoverageMap:
    """Client networks to sites, looked up by longest prefix."""

    def __init__(self, sites: dict[str, SiteGeography], networks: dict[IPNetwork, str]) -> None:
        self.sites = sites
        # One dict per prefix length: a lookup tries at most 33 (IPv4) or 129 (IPv6) keys,
        # whatever the number of networks.
        self._by_length: dict[int, dict[int, dict[int, str]]] = {4: {}, 6: {}}
        for network, site in networks.items():
            table = self._by_length[network.version].setdefault(network.prefixlen, {})
            table[int(network.network_address)] = site
        self._lengths = {
            version: sorted(tables, reverse=True) for version, tables in self._by_length.items()
        }

    def site_for_address(self, address: str) -> str | None:
        """The site of the most specific network holding ``address``, if any."""
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return None
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
            parsed = parsed.ipv4_mapped
        bits = parsed.max_prefixlen
        value = int(parsed)
        for length in self._lengths[parsed.version]:
            mask = ((1 << length) - 1) << (bits - length) if length else 0
            site = self._by_length[parsed.version][length].get(value & mask)
            if site is not None:
                return site
        return None

    def site_for_country(self, country: str) -> str | None:
        """The first site (in file order) that lists ``country``."""
        for site in self.sites.values():
            if country in site.countries:
                return site.name
        return None


EMPTY_COVERAGE = CoverageMap({}, {})


@dataclass(frozen=True)
class ClientSite:
    """The site chosen for a client, and how it was found (for debugging steering)."""

    site: str | None
    found_by: str


def locate_client(
    coverage: CoverageMap, geo: GeoResolver | None, address: str | None, *, default_site: str | None
) -> ClientSite:
    """The client's site: its coverage zone, else its GeoIP country's site, else the default."""
    if address:
        site = coverage.site_for_address(address)
        if site is not None:
            return ClientSite(site, "coverage zone")
        if geo is not None:
            country = geo.country_of(address)
            site = coverage.site_for_country(country) if country else None
            if site is not None:
                return ClientSite(site, f"GeoIP country {country}")
    if default_site:
        return ClientSite(default_site, "default site")
    return ClientSite(None, "no site")


def load_coverage(path: Path) -> CoverageMap:
    """Read and check a coverage zone file; ``CoverageZonesInvalid`` says what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CoverageZonesInvalid(f"{path}: no such coverage zone file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CoverageZonesInvalid(f"{path}: cannot be read ({error})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise CoverageZonesInvalid(
            f"{path}:{error.lineno}:{error.colno}: not JSON ({error.msg})"
        ) from None
    try:
        return parse_coverage(data)
    except CoverageZonesInvalid as error:
        raise CoverageZonesInvalid(f"{path}: {error}") from None


def parse_coverage(data: Any) -> CoverageMap:
    """A coverage map from the decoded JSON of a coverage zone file."""
    if not isinstance(data, dict) or not isinstance(data.get("coverageZones"), dict):
        raise CoverageZonesInvalid('expected an object with a "coverageZones" object')
    zones: dict[str, Any] = data["coverageZones"]
    sites: dict[str, SiteGeography] = {}
    networks: dict[IPNetwork, str] = {}
    for name, zone in zones.items():
        where = f"coverageZones.{name}"
        if not SITE_NAME.fullmatch(name):
            raise CoverageZonesInvalid(
                f"{where}: site names are 1-40 lower-case letters, digits and hyphens"
            )
        if not isinstance(zone, dict):
            raise CoverageZonesInvalid(f"{where}: expected an object")
        unknown = sorted(set(zone) - _ZONE_KEYS)
        if unknown:
            raise CoverageZonesInvalid(f"{where}: unknown key {unknown[0]!r}")
        for key, version in (("network", 4), ("network6", 6)):
            for index, text in enumerate(_strings(zone, key, where)):
                network = _network(text, version, f"{where}.{key}[{index}]")
                owner = networks.setdefault(network, name)
                if owner != name:
                    raise CoverageZonesInvalid(
                        f"{where}.{key}[{index}]: {network} is already in site {owner!r}"
                    )
        sites[name] = SiteGeography(
            name=name,
            coordinates=_coordinates(zone.get("coordinates"), f"{where}.coordinates"),
            countries=tuple(
                _country(c, f"{where}.countries") for c in _strings(zone, "countries", where)
            ),
            neighbours=tuple(_strings(zone, "neighbours", where)),
        )
    for site in sites.values():
        for neighbour in site.neighbours:
            if neighbour not in sites or neighbour == site.name:
                raise CoverageZonesInvalid(
                    f"coverageZones.{site.name}.neighbours: {neighbour!r} is not another site "
                    "of the file"
                )
    return CoverageMap(sites, networks)


def _strings(zone: dict[str, Any], key: str, where: str) -> list[str]:
    values = zone.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise CoverageZonesInvalid(f"{where}.{key}: expected a list of strings")
    return values


def _network(text: str, version: int, where: str) -> IPNetwork:
    try:
        network = ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as error:
        raise CoverageZonesInvalid(f"{where}: {text!r} is not a network ({error})") from None
    if network.version != version:
        expected = "network6" if network.version == 6 else "network"
        raise CoverageZonesInvalid(
            f"{where}: {text!r} is IPv{network.version}, put it in {expected}"
        )
    return network


def _coordinates(value: Any, where: str) -> Coordinates | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise CoverageZonesInvalid(f"{where}: expected latitude and longitude")
    return Coordinates(
        latitude=_degrees(value.get("latitude"), 90, f"{where}.latitude"),
        longitude=_degrees(value.get("longitude"), 180, f"{where}.longitude"),
    )


def _degrees(value: object, bound: int, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > bound:
        raise CoverageZonesInvalid(f"{where}: a number of degrees within ±{bound}")
    return float(value)


def _country(code: str, where: str) -> str:
    try:
        return normalise_territory(code)
    except UnknownTerritoryCode as error:
        raise CoverageZonesInvalid(f"{where}: {error}") from None
