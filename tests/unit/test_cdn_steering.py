"""Steering: rendezvous hashing inside a site, failover order, spill to the next site, origin."""

from __future__ import annotations

from collections import Counter

import pytest

from cineflux.delivery.coverage import Coordinates, SiteGeography
from cineflux.delivery.steering import (
    ORIGIN,
    EdgeView,
    SteeringPolicy,
    rank_locations,
    rendezvous_order,
    site_load,
    spill_order,
)

ORIGIN_URL = "https://origin.example"
KEYS = [f"titles/{n:04d}" for n in range(2000)]


def edge(
    name: str, site: str = "paris", *, load: float = 0.2, up: bool = True, weight: float = 1.0
) -> EdgeView:
    return EdgeView(name, site, f"https://{name}.example", up, load, weight)


def owners(key_edges: list[EdgeView]) -> dict[str, str]:
    return {key: rendezvous_order(key, key_edges)[0].name for key in KEYS}


def test_each_title_has_one_owner_and_titles_spread_over_the_edges() -> None:
    edges = [edge(f"p{i}") for i in range(4)]
    counts = Counter(owners(edges).values())
    assert set(counts) == {"p0", "p1", "p2", "p3"}
    assert all(400 <= count <= 600 for count in counts.values()), counts


def test_losing_an_edge_moves_only_its_titles() -> None:
    edges = [edge(f"p{i}") for i in range(5)]
    before = owners(edges)
    after = owners([e for e in edges if e.name != "p2"])
    moved = {key for key in KEYS if before[key] != after[key]}
    assert moved == {key for key in KEYS if before[key] == "p2"}
    assert moved  # p2 did own titles
    # Each of its titles goes to its own runner-up, so the load spreads over the others.
    assert len({after[key] for key in moved}) == 4


def test_adding_an_edge_takes_titles_only_to_the_new_edge() -> None:
    edges = [edge(f"p{i}") for i in range(4)]
    before = owners(edges)
    after = owners([*edges, edge("p4")])
    assert {after[key] for key in KEYS if before[key] != after[key]} == {"p4"}


def test_weights_give_a_faster_edge_more_titles() -> None:
    counts = Counter(owners([edge("big", weight=3.0), edge("small", weight=1.0)]).values())
    assert 0.70 <= counts["big"] / len(KEYS) <= 0.80, counts


def test_the_order_does_not_depend_on_how_edges_are_listed() -> None:
    edges = [edge(f"p{i}") for i in range(5)]
    forward = [e.name for e in rendezvous_order("titles/abc", edges)]
    assert [e.name for e in rendezvous_order("titles/abc", list(reversed(edges)))] == forward


def test_the_clients_site_comes_first_with_the_titles_owner_then_the_neighbour_then_origin() -> (
    None
):
    paris = [edge(f"p{i}") for i in range(4)]
    lyon = [edge(f"l{i}", "lyon") for i in range(3)]
    ranking = rank_locations(
        content_key="titles/abc",
        client_site="paris",
        edges=[*lyon, *paris],
        spill=["lyon"],
        origin_url=ORIGIN_URL,
        policy=SteeringPolicy(edges_per_site=3, sites=2),
    )
    expected_paris = [e.name for e in rendezvous_order("titles/abc", paris)][:3]
    expected_lyon = [e.name for e in rendezvous_order("titles/abc", lyon)][:3]
    assert [loc.edge for loc in ranking] == [*expected_paris, *expected_lyon, None]
    assert ranking[0].base_url == f"https://{expected_paris[0]}.example"
    assert ranking[-1].base_url == ORIGIN_URL and ranking[-1].site == ORIGIN


def test_edges_out_of_rotation_are_never_offered() -> None:
    paris = [edge("p0", up=False), edge("p1"), edge("p2", up=False)]
    ranking = rank_locations(
        content_key="titles/abc",
        client_site="paris",
        edges=paris,
        spill=[],
        origin_url=ORIGIN_URL,
    )
    assert [loc.edge for loc in ranking] == ["p1", None]


def test_a_site_with_no_edge_in_rotation_spills_to_the_next() -> None:
    edges = [edge("p0", up=False), edge("l0", "lyon"), edge("m0", "marseille")]
    ranking = rank_locations(
        content_key="titles/abc",
        client_site="paris",
        edges=edges,
        spill=["lyon", "marseille"],
        origin_url=ORIGIN_URL,
    )
    assert [loc.site for loc in ranking] == ["lyon", "marseille", ORIGIN]


def test_an_overloaded_site_spills_first_but_stays_before_the_origin() -> None:
    edges = [edge("p0", load=0.88), edge("p1", load=0.86), edge("l0", "lyon", load=0.3)]
    ranking = rank_locations(
        content_key="titles/abc",
        client_site="paris",
        edges=edges,
        spill=["lyon"],
        origin_url=ORIGIN_URL,
        policy=SteeringPolicy(site_overload=0.85),
    )
    assert [loc.site for loc in ranking] == ["lyon", "paris", "paris", ORIGIN]


def test_a_site_just_under_the_threshold_keeps_its_players() -> None:
    edges = [edge("p0", load=0.84), edge("l0", "lyon", load=0.1)]
    ranking = rank_locations(
        content_key="titles/abc",
        client_site="paris",
        edges=edges,
        spill=["lyon"],
        origin_url=ORIGIN_URL,
        policy=SteeringPolicy(site_overload=0.85),
    )
    assert ranking[0].edge == "p0"


def test_with_no_edge_anywhere_the_origin_is_the_only_location() -> None:
    ranking = rank_locations(
        content_key="titles/abc", client_site="paris", edges=[], spill=[], origin_url=ORIGIN_URL
    )
    assert [(loc.base_url, loc.edge) for loc in ranking] == [(ORIGIN_URL, None)]


def test_a_client_with_no_site_goes_to_the_least_loaded_sites() -> None:
    edges = [edge("p0", load=0.6), edge("l0", "lyon", load=0.2), edge("m0", "marseille", load=0.4)]
    ranking = rank_locations(
        content_key="titles/abc", client_site=None, edges=edges, spill=[], origin_url=ORIGIN_URL
    )
    assert [loc.site for loc in ranking] == ["lyon", "marseille", ORIGIN]


def test_site_load_is_weighted_by_capacity_and_ignores_edges_out() -> None:
    loads = [edge("a", load=0.9, weight=1.0), edge("b", load=0.1, weight=3.0)]
    assert site_load(loads) == pytest.approx((0.9 + 0.3) / 4)
    assert site_load([*loads, edge("c", load=1.0, up=False)]) == pytest.approx(0.3)
    assert site_load([edge("c", up=False)]) is None


def test_spill_order_is_the_listed_neighbours_then_the_nearest() -> None:
    geography = {
        "paris": SiteGeography("paris", Coordinates(48.86, 2.35), neighbours=("marseille",)),
        "lyon": SiteGeography("lyon", Coordinates(45.76, 4.84)),
        "lille": SiteGeography("lille", Coordinates(50.63, 3.06)),
        "marseille": SiteGeography("marseille", Coordinates(43.30, 5.37)),
        "bordeaux": SiteGeography("bordeaux", Coordinates(44.84, -0.58)),
    }
    sites = ["bordeaux", "lille", "lyon", "marseille", "paris", "unplaced"]
    # Lille 204 km, Lyon 392 km, Bordeaux 500 km; a site without coordinates comes last.
    assert spill_order("paris", sites, geography) == [
        "marseille",
        "lille",
        "lyon",
        "bordeaux",
        "unplaced",
    ]


def test_spill_order_without_geography_is_by_name() -> None:
    assert spill_order("paris", ["nice", "lyon", "paris"], {}) == ["lyon", "nice"]
