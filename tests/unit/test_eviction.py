"""Eviction policies: the order in which each gives up objects, and the protocol as the
edge's cache drives it (victim, then removed, until a new object fits)."""

from __future__ import annotations

import random

import pytest

from cineflux.edge.eviction import (
    DEFAULT_POLICY,
    POLICIES,
    EvictionPolicy,
    GreedyDualSizeFrequency,
    LeastFrequentlyUsedDynamicAging,
    LeastRecentlyUsed,
    PinnedFillPlan,
    S3Fifo,
    make_policy,
)


def evict(policy: EvictionPolicy) -> str | None:
    """What the cache does: ask for a victim and drop it."""
    key = policy.victim()
    if key is not None:
        policy.removed(key)
    return key


class BoundedCache:
    """The edge cache's bookkeeping in miniature: sizes, a byte capacity, hit counting."""

    def __init__(self, policy: EvictionPolicy, capacity: int) -> None:
        self.policy, self.capacity = policy, capacity
        self.held: dict[str, int] = {}
        self.hits = 0

    def request(self, key: str, size: int) -> None:
        if key in self.held:
            self.hits += 1
            self.policy.accessed(key, 0.0)
            return
        while sum(self.held.values()) + size > self.capacity:
            victim = self.policy.victim()
            assert victim in self.held, f"victim {victim!r} is not held"
            self.policy.removed(victim)
            del self.held[victim]
        self.held[key] = size
        self.policy.admitted(key, size, 0.0)


def test_lru_evicts_the_least_recently_served() -> None:
    policy = LeastRecentlyUsed()
    for key in "abc":
        policy.admitted(key, 1, 0.0)
    policy.accessed("a", 1.0)
    assert [evict(policy) for _ in range(4)] == ["b", "c", "a", None]


def test_s3fifo_drops_one_hit_wonders_before_objects_used_again() -> None:
    policy = S3Fifo()
    policy.admitted("popular", 10, 0.0)
    policy.accessed("popular", 1.0)
    for key in ("once-1", "once-2"):
        policy.admitted(key, 10, 0.0)
    # Probation holds everything at first: the reused object moves to main, the others go.
    assert evict(policy) == "once-1"
    assert evict(policy) == "once-2"
    assert evict(policy) == "popular"
    assert evict(policy) is None


def test_s3fifo_readmits_a_recent_ghost_straight_into_main() -> None:
    policy = S3Fifo()
    policy.admitted("main-resident", 10, 0.0)
    policy.accessed("main-resident", 0.0)
    policy.admitted("ghost", 10, 0.0)
    assert evict(policy) == "ghost"  # unused on probation: remembered as a ghost
    policy.admitted("newcomer", 10, 0.0)
    policy.admitted("ghost", 10, 0.0)  # back soon after: goes to main, not probation
    assert evict(policy) == "newcomer"


def test_s3fifo_victim_is_stable_until_removed() -> None:
    policy = S3Fifo()
    for key in "abc":
        policy.admitted(key, 1, 0.0)
    assert policy.victim() == policy.victim() == "a"
    policy.removed("a")
    assert policy.victim() == "b"


def test_lfuda_keeps_the_most_used_and_ages_old_counts() -> None:
    policy = LeastFrequentlyUsedDynamicAging()
    policy.admitted("old-hit", 1, 0.0)
    for _ in range(3):
        policy.accessed("old-hit", 0.0)  # priority 4
    policy.admitted("fresh", 1, 0.0)  # priority 1
    assert evict(policy) == "fresh"  # the cache's age becomes 1
    policy.admitted("newer", 1, 0.0)  # priority 1 + 1 = 2
    policy.accessed("newer", 0.0)
    policy.accessed("newer", 0.0)  # 1 + 3 = 4: ties with old-hit, which waited longer
    assert evict(policy) == "old-hit"
    assert evict(policy) == "newer"
    assert evict(policy) is None


def test_gdsf_prefers_keeping_small_objects_at_equal_use() -> None:
    policy = GreedyDualSizeFrequency()
    policy.admitted("large", 4_000_000, 0.0)
    policy.admitted("small", 1_000_000, 0.0)
    assert evict(policy) == "large"


def test_pinned_fill_plan_keeps_plan_objects_while_others_remain() -> None:
    policy = PinnedFillPlan(LeastRecentlyUsed())
    policy.set_plan(["film-a", "film-b"], 0.0)
    policy.admitted("film-a", 1, 0.0)
    policy.admitted("stray", 1, 0.0)
    policy.admitted("film-b", 1, 0.0)
    assert policy.pinned("film-a") and not policy.pinned("stray")
    assert evict(policy) == "stray"
    # Nothing else left: the plan's lowest-ranked object goes first.
    assert evict(policy) == "film-b"


def test_pinned_fill_plan_hands_objects_dropped_from_the_plan_back() -> None:
    policy = PinnedFillPlan(LeastRecentlyUsed())
    policy.set_plan(["yesterday"], 0.0)
    policy.admitted("yesterday", 1, 0.0)
    policy.admitted("reactive", 1, 0.0)
    policy.set_plan(["reactive"], 1.0)  # tonight's plan: the reactive object is now pinned
    assert policy.pinned("reactive") and not policy.pinned("yesterday")
    assert evict(policy) == "yesterday"
    assert evict(policy) == "reactive"


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_policy_keeps_a_bounded_cache_consistent(name: str) -> None:
    rng = random.Random(7)
    cache = BoundedCache(make_policy(name), capacity=50)
    for _ in range(3000):
        key = f"k{int(rng.paretovariate(1.2)) % 60}"
        cache.request(key, size=1 + int(key[1:]) % 5)
        assert sum(cache.held.values()) <= cache.capacity
    # Removing everything from outside leaves the policy empty.
    for key in list(cache.held):
        cache.policy.removed(key)
    assert cache.policy.victim() is None


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_policy_beats_no_cache_on_a_skewed_trace(name: str) -> None:
    rng = random.Random(11)
    cache = BoundedCache(make_policy(name), capacity=20)
    requests = 4000
    for _ in range(requests):
        cache.request(f"k{int(rng.paretovariate(1.0)) % 200}", size=1)
    assert cache.hits / requests > 0.5


def test_make_policy_names_the_known_policies() -> None:
    assert DEFAULT_POLICY in POLICIES
    assert isinstance(make_policy("lru"), LeastRecentlyUsed)
    with pytest.raises(ValueError, match="s3fifo"):
        make_policy("random")
