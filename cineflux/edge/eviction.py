"""Which cached objects to drop when the disk is full: pure policies, shared by the edge's
cache and by ``bench/cdn_sim.py`` (which measures them against each other and Belady).

The edge's cache calls ``victim()`` then ``removed(key)`` until a new object fits, ``admitted``
once it is stored and ``accessed`` on every hit, so every operation here is O(1) amortised
(LRU, S3-FIFO) or O(log n) (the frequency heaps).
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import Protocol


class EvictionPolicy(Protocol):
    """Keeps the order in which cached objects should go; knows nothing of files."""

    def admitted(self, key: str, size: int, now: float) -> None:
        """``key`` was stored (a fill completed)."""
        ...

    def accessed(self, key: str, now: float) -> None:
        """``key`` was served from the cache."""
        ...

    def removed(self, key: str) -> None:
        """``key`` left the cache (evicted, or deleted from outside)."""
        ...

    def victim(self) -> str | None:
        """The key to evict next, or None when the policy holds nothing."""
        ...


class LeastRecentlyUsed:
    """The classic: evict what was served longest ago."""

    def __init__(self) -> None:
        self._order: OrderedDict[str, None] = OrderedDict()

    def admitted(self, key: str, size: int, now: float) -> None:
        """Newly stored objects are the most recent."""
        self._order[key] = None
        self._order.move_to_end(key)

    def accessed(self, key: str, now: float) -> None:
        """A hit makes the object the most recent."""
        if key in self._order:
            self._order.move_to_end(key)

    def removed(self, key: str) -> None:
        """Forget the object."""
        self._order.pop(key, None)

    def victim(self) -> str | None:
        """The least recently used object."""
        return next(iter(self._order), None)


class S3Fifo:
    """S3-FIFO (Yang et al., SOSP 2023): a small probationary FIFO, a main FIFO with lazy
    reinsertion, and a ghost list of keys recently dropped from probation.

    Sizes are in bytes: the probationary queue holds about ``small_share`` of the bytes held.
    Most objects of a skewed workload are requested once in a while; demoting them quickly
    keeps the main queue for the ones that come back.
    """

    MAX_FREQUENCY = 3

    def __init__(self, small_share: float = 0.1, promote_after_hits: int = 1) -> None:
        self._small_share = small_share
        self._promote_after_hits = promote_after_hits
        self._small: OrderedDict[str, None] = OrderedDict()
        self._main: OrderedDict[str, None] = OrderedDict()
        self._ghost: OrderedDict[str, None] = OrderedDict()
        self._frequency: dict[str, int] = {}
        self._sizes: dict[str, int] = {}
        self._small_bytes = 0
        self._main_bytes = 0
        self._chosen: str | None = None

    def admitted(self, key: str, size: int, now: float) -> None:
        """A key seen lately (still in the ghost list) goes straight to main."""
        if key in self._sizes:
            self.removed(key)
        self._sizes[key] = size
        self._frequency[key] = 0
        if self._ghost.pop(key, 0) is None:
            self._main[key] = None
            self._main_bytes += size
        else:
            self._small[key] = None
            self._small_bytes += size

    def accessed(self, key: str, now: float) -> None:
        """Count the hit (up to 3); the queues move only at eviction time."""
        frequency = self._frequency.get(key)
        if frequency is not None and frequency < self.MAX_FREQUENCY:
            self._frequency[key] = frequency + 1

    def removed(self, key: str) -> None:
        """Forget the object; an unused one evicted from probation is remembered as a ghost."""
        size = self._sizes.pop(key, None)
        if size is None:
            return
        self._frequency.pop(key, None)
        if self._small.pop(key, 0) is None:
            self._small_bytes -= size
            if key == self._chosen:
                self._ghost[key] = None
                # The ghost list remembers about as many keys as the cache holds.
                while len(self._ghost) > max(len(self._sizes), 1):
                    self._ghost.popitem(last=False)
        else:
            self._main.pop(key, None)
            self._main_bytes -= size
        if key == self._chosen:
            self._chosen = None

    def victim(self) -> str | None:
        """Promote or reinsert heads until one has not been used since it was queued."""
        if self._chosen is not None:
            return self._chosen
        while self._small or self._main:
            held = self._small_bytes + self._main_bytes
            if self._small and (self._small_bytes > self._small_share * held or not self._main):
                key = next(iter(self._small))
                if self._frequency[key] < self._promote_after_hits:
                    self._chosen = key
                    return key
                del self._small[key]
                self._small_bytes -= self._sizes[key]
                self._main[key] = None
                self._main_bytes += self._sizes[key]
                self._frequency[key] = 0
            else:
                key = next(iter(self._main))
                if self._frequency[key] == 0:
                    self._chosen = key
                    return key
                self._frequency[key] -= 1
                self._main.move_to_end(key)
        return None


class LeastFrequentlyUsedDynamicAging:
    """LFU with dynamic aging (LFU-DA, Arlitt et al. 2000): priority = age + hits, where the
    age is the priority of the last object evicted, so yesterday's hits fade as new titles
    come in.

    A hit only raises the object's priority in a dict: priorities never go down, so each heap
    entry is a lower bound, and ``victim`` re-files the entries it finds out of date. Hits are
    O(1), evictions O(log n) amortised.
    """

    def __init__(self) -> None:
        self._priority: dict[str, float] = {}
        self._frequency: dict[str, int] = {}
        self._sizes: dict[str, int] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._sequence = 0
        self._age = 0.0

    def _value(self, frequency: int, size: int) -> float:
        return float(frequency)

    def admitted(self, key: str, size: int, now: float) -> None:
        """A new object starts with one use at the current age."""
        self._frequency[key] = 1
        self._sizes[key] = size
        priority = self._age + self._value(1, size)
        self._priority[key] = priority
        self._sequence += 1
        heapq.heappush(self._heap, (priority, self._sequence, key))

    def accessed(self, key: str, now: float) -> None:
        """One more use raises the priority (the heap catches up lazily)."""
        frequency = self._frequency.get(key)
        if frequency is not None:
            self._frequency[key] = frequency + 1
            self._priority[key] = self._age + self._value(frequency + 1, self._sizes[key])

    def removed(self, key: str) -> None:
        """Forget the object; evicting the lowest priority ages the cache to it."""
        priority = self._priority.pop(key, None)
        if priority is None:
            return
        del self._frequency[key]
        del self._sizes[key]
        if self._heap and self._heap[0][2] == key:
            self._age = max(self._age, priority)
            heapq.heappop(self._heap)

    def victim(self) -> str | None:
        """The object of lowest priority (ties: the one that has waited longest)."""
        heap = self._heap
        while heap:
            filed, _, key = heap[0]
            priority = self._priority.get(key)
            if priority == filed:
                return key
            if priority is None:
                heapq.heappop(heap)  # removed from outside
            else:
                self._sequence += 1
                heapq.heapreplace(heap, (priority, self._sequence, key))
        return None


class GreedyDualSizeFrequency(LeastFrequentlyUsedDynamicAging):
    """GDSF (Cherkasova 1998): LFU-DA with hits divided by size, so small objects are kept
    for the request hit ratio at some cost to the byte hit ratio."""

    def _value(self, frequency: int, size: int) -> float:
        # Per mebibyte, so that the age and the values stay in a readable range.
        return frequency * 1_048_576 / max(size, 1)


class PinnedFillPlan:
    """Wraps a policy so that tonight's fill plan stays on disk until the next plan.

    Objects in the plan are held outside the inner policy (a fill may not be evicted by the
    day's reactive misses before its evening audience comes); everything else is the inner
    policy's. ``set_plan`` hands objects dropped from the plan back to the inner policy.
    """

    def __init__(self, inner: EvictionPolicy) -> None:
        self._inner = inner
        self._plan_rank: dict[str, int] = {}
        self._pinned: set[str] = set()
        self._sizes: dict[str, int] = {}

    def set_plan(self, ranked_keys: Iterable[str], now: float) -> None:
        """Tonight's plan, best first: held plan objects are pinned, others return to the pool."""
        self._plan_rank = {key: rank for rank, key in enumerate(ranked_keys)}
        for key in [key for key in self._pinned if key not in self._plan_rank]:
            self._pinned.discard(key)
            self._inner.admitted(key, self._sizes[key], now)
        for key in self._plan_rank:
            if key in self._sizes and key not in self._pinned:
                self._inner.removed(key)
                self._pinned.add(key)

    def pinned(self, key: Hashable) -> bool:
        """Whether ``key`` is held as part of the current plan."""
        return key in self._pinned

    def admitted(self, key: str, size: int, now: float) -> None:
        """Plan objects are pinned; others go to the inner policy."""
        self._sizes[key] = size
        if key in self._plan_rank:
            self._pinned.add(key)
        else:
            self._inner.admitted(key, size, now)

    def accessed(self, key: str, now: float) -> None:
        """Hits on plan objects need no bookkeeping."""
        if key not in self._pinned:
            self._inner.accessed(key, now)

    def removed(self, key: str) -> None:
        """Forget the object."""
        if self._sizes.pop(key, None) is None:
            return
        if key in self._pinned:
            self._pinned.discard(key)
        else:
            self._inner.removed(key)

    def victim(self) -> str | None:
        """The inner policy's victim; the plan's lowest-ranked object only if nothing else is left.

        That last case (a plan larger than the disk) is O(n), and a sane plan never gets there.
        """
        key = self._inner.victim()
        if key is not None or not self._pinned:
            return key
        return max(self._pinned, key=lambda pinned: self._plan_rank.get(pinned, -1))


# The policies an edge can be started with (``cineflux edge --eviction NAME``).
POLICIES: dict[str, type[EvictionPolicy]] = {
    "lru": LeastRecentlyUsed,
    "s3fifo": S3Fifo,
    "lfuda": LeastFrequentlyUsedDynamicAging,
    "gdsf": GreedyDualSizeFrequency,
}
DEFAULT_POLICY = "s3fifo"


def make_policy(name: str = DEFAULT_POLICY) -> EvictionPolicy:
    """A fresh policy by name; ``ValueError`` names the known ones."""
    try:
        return POLICIES[name]()
    except KeyError:
        raise ValueError(f"unknown eviction policy {name!r}: one of {sorted(POLICIES)}") from None
