"""Where a viewer is, and which territory's catalogue they see.

The viewer's country comes from GeoIP (MaxMind format, read with ``maxminddb``): the
``country`` record, where the address is used, never ``registered_country``, where its block
was registered. EU portability (Regulation (EU) 2017/1128) lets a subscriber whose member
state of residence is verified keep that catalogue while temporarily in another member state.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

EU_MEMBER_STATES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ]
)


class TerritoryError(Exception):
    """Base of the territory errors."""


class UnknownTerritoryCode(TerritoryError):
    """Not an ISO 3166-1 alpha-2 country code."""


class TerritoryUnknown(TerritoryError):
    """GeoIP has no country for this address: the service cannot tell which rights apply."""


@functools.cache
def iso_country_codes() -> frozenset[str]:
    """Every assigned ISO 3166-1 alpha-2 code (from the tzdata package's iso3166.tab)."""
    table = resources.files("tzdata").joinpath("zoneinfo", "iso3166.tab").read_text("utf-8")
    return frozenset(
        line.split("\t", 1)[0] for line in table.splitlines() if line and line[0] != "#"
    )


def normalise_territory(code: str) -> str:
    """An upper-case ISO 3166-1 alpha-2 code, or ``UnknownTerritoryCode``."""
    cleaned = code.strip().upper()
    if cleaned not in iso_country_codes():
        raise UnknownTerritoryCode(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return cleaned


class GeoResolver(Protocol):
    """Finds the country an IP address is used in."""

    def country_of(self, address: str) -> str | None:
        """ISO code of the country, or None when the database has no record."""
        ...


class MaxMindGeoResolver:
    """A MaxMind database (GeoIP2/GeoLite2 Country or City), memory-mapped."""

    def __init__(self, path: Path) -> None:
        import maxminddb

        if not path.is_file():
            raise FileNotFoundError(f"GeoIP database {path} does not exist")
        self._reader = maxminddb.open_database(str(path))

    def country_of(self, address: str) -> str | None:
        """The ``country`` record's ISO code (not ``registered_country``)."""
        try:
            ipaddress.ip_address(address)
        except ValueError:
            return None
        record: Any = self._reader.get(address)
        if not isinstance(record, dict):
            return None
        country = record.get("country")
        code = country.get("iso_code") if isinstance(country, dict) else None
        return str(code) if code else None

    def close(self) -> None:
        """Release the memory map."""
        self._reader.close()


@dataclass(frozen=True)
class ViewerTerritory:
    """The catalogue a viewer sees, and why."""

    territory: str
    located_in: str
    portability: bool

    @property
    def explanation(self) -> str:
        """One line for logs and support."""
        if self.portability:
            return (
                f"in {self.located_in}, seeing the {self.territory} catalogue "
                "(EU portability: verified home member state)"
            )
        return f"in {self.located_in}, seeing the {self.territory} catalogue"


def catalogue_territory(
    located_in: str | None, *, home_country: str | None, home_verified: bool
) -> ViewerTerritory:
    """Which territory's catalogue a viewer located in ``located_in`` sees."""
    if located_in is None:
        raise TerritoryUnknown(
            "we cannot tell which country you are in, so we cannot tell which titles we may "
            "show you here; if you use a VPN or proxy, turn it off and try again"
        )
    located = located_in.upper()
    home = home_country.upper() if home_country else None
    if (
        home_verified
        and home is not None
        and home in EU_MEMBER_STATES
        and located in EU_MEMBER_STATES
    ):
        return ViewerTerritory(home, located, portability=home != located)
    return ViewerTerritory(located, located, portability=False)


def locate_viewer(
    resolver: GeoResolver | None,
    address: str | None,
    *,
    fallback: str,
    home_country: str | None = None,
    home_verified: bool = False,
) -> ViewerTerritory:
    """The territory of a viewer at ``address``; ``fallback`` only when no GeoIP is set up."""
    if resolver is None:
        located: str | None = fallback
    else:
        located = resolver.country_of(address) if address else None
    return catalogue_territory(located, home_country=home_country, home_verified=home_verified)
