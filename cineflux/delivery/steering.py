"""Steering: which servers a player should try for a title, best first. Pure.

Within a site, a title is mapped to edges by rendezvous (highest random weight) hashing on
its package prefix: every edge gets a pseudo-random score for the title, weighted by its
capacity, and the highest wins. A site thus acts as one large cache (each title lives on
one edge, not on all), and when an edge leaves only the titles it won move, each to its own
runner-up. The site's other edges follow in score order, for failover. When the client's
site is saturated (no edge in rotation, or its aggregate load at the threshold), its players
go first to the next site in spill order. The origin is always last.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cineflux.delivery.coverage import Coordinates, SiteGeography

ORIGIN = "origin"


@dataclass(frozen=True)
class EdgeView:
    """What steering knows of an edge."""

    name: str
    site: str
    base_url: str
    in_rotation: bool
    load: float
    weight: float = 1.0  # its share of the site's capacity (link speed)


@dataclass(frozen=True)
class SteeringPolicy:
    """How far a ranking goes, and when a site is saturated."""

    site_overload: float = 0.85
    edges_per_site: int = 3
    sites: int = 2


@dataclass(frozen=True)
class Location:
    """One server in a ranking: an edge of a site, or the origin (``edge`` None)."""

    base_url: str
    site: str
    edge: str | None


def rendezvous_score(key: str, edge_name: str, weight: float) -> float:
    """The edge's weighted score for ``key``: highest wins (logarithmic method)."""
    digest = hashlib.blake2b(f"{key}\n{edge_name}".encode(), digest_size=8).digest()
    uniform = (int.from_bytes(digest, "big") + 0.5) / 2**64  # strictly inside (0, 1)
    return weight / -math.log(uniform)


def rendezvous_order(key: str, edges: Iterable[EdgeView]) -> list[EdgeView]:
    """The edges in decreasing score for ``key`` (ties, if ever, by name)."""
    return sorted(edges, key=lambda e: (-rendezvous_score(key, e.name, e.weight), e.name))


def site_load(edges: Iterable[EdgeView]) -> float | None:
    """The capacity-weighted load of a site's edges in rotation; None when none is."""
    serving = [edge for edge in edges if edge.in_rotation]
    total = sum(edge.weight for edge in serving)
    if not serving or total <= 0:
        return None
    return sum(edge.load * edge.weight for edge in serving) / total


def distance_km(a: Coordinates, b: Coordinates) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def spill_order(
    site: str, others: Iterable[str], geography: Mapping[str, SiteGeography]
) -> list[str]:
    """The other sites in the order ``site`` spills to: its listed neighbours, then nearest."""
    home = geography.get(site)
    listed = [n for n in (home.neighbours if home else ()) if n != site]
    rest = sorted(set(others) - set(listed) - {site})
    origin = home.coordinates if home else None

    def remoteness(name: str) -> tuple[float, str]:
        there = geography.get(name)
        if origin is None or there is None or there.coordinates is None:
            return (math.inf, name)
        return (distance_km(origin, there.coordinates), name)

    return listed + sorted(rest, key=remoteness)


def rank_locations(
    *,
    content_key: str,
    client_site: str | None,
    edges: Sequence[EdgeView],
    spill: Sequence[str],
    origin_url: str,
    policy: SteeringPolicy = SteeringPolicy(),
) -> list[Location]:
    """Where a player should fetch ``content_key`` from, best first, the origin last.

    ``spill`` lists the sites after the client's, in the order it spills to them; with no
    client site, sites are tried from the least loaded.
    """
    by_site: dict[str, list[EdgeView]] = {}
    for edge in edges:
        if edge.in_rotation:
            by_site.setdefault(edge.site, []).append(edge)
    loads = {site: site_load(members) or 0.0 for site, members in by_site.items()}
    if client_site is None:
        walk = sorted(by_site, key=lambda s: (loads[s], s))
    else:
        walk = list(dict.fromkeys([client_site, *spill]))
    serving = [site for site in walk if site in by_site]
    # A saturated site still beats the origin, but comes after every site with room.
    with_room = [site for site in serving if loads[site] < policy.site_overload]
    saturated = [site for site in serving if loads[site] >= policy.site_overload]
    ranking: list[Location] = []
    for site in (with_room + saturated)[: policy.sites]:
        for edge in rendezvous_order(content_key, by_site[site])[: policy.edges_per_site]:
            ranking.append(Location(edge.base_url, site, edge.name))
    ranking.append(Location(origin_url, ORIGIN, None))
    return ranking
