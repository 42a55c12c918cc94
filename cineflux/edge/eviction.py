"""Which cached objects to drop when the disk is full: pure policies, shared by the edge's
cache and by ``bench/cdn_sim.py`` (which measures them against each other and Belady)."""

from __future__ import annotations

from collections import OrderedDict
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


# The policies an edge can be started with (``cineflux edge --eviction NAME``).
POLICIES: dict[str, type[EvictionPolicy]] = {"lru": LeastRecentlyUsed}
DEFAULT_POLICY = "lru"


def make_policy(name: str = DEFAULT_POLICY) -> EvictionPolicy:
    """A fresh policy by name; ``ValueError`` names the known ones."""
    try:
        return POLICIES[name]()
    except KeyError:
        raise ValueError(f"unknown eviction policy {name!r}: one of {sorted(POLICIES)}") from None
