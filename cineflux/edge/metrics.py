"""The edge's counters and their Prometheus text exposition (format 0.0.4)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

PREFIX = "cineflux_edge"


@dataclass
class Metrics:
    """Counters updated on the serving path: plain integers, no locks (one event loop)."""

    requests: Counter[tuple[int, str]] = field(default_factory=Counter)
    bytes_served: Counter[tuple[int, str]] = field(default_factory=Counter)
    token_rejections: Counter[str] = field(default_factory=Counter)
    upstream_errors: Counter[str] = field(default_factory=Counter)
    hits: int = 0
    misses: int = 0
    coalesced: int = 0
    upstream_fetches: int = 0
    upstream_bytes: int = 0
    fill_objects: int = 0
    fill_bytes: int = 0
    connections_accepted: int = 0

    def served(self, status: int, result: str, body_bytes: int) -> None:
        """One answer: its status, what the cache did (hit, miss, ...), its body bytes."""
        key = (status, result)
        self.requests[key] += 1
        if body_bytes:
            self.bytes_served[key] += body_bytes

    @property
    def total_bytes_served(self) -> int:
        """Every body byte sent, for the egress rate."""
        return sum(self.bytes_served.values())


@dataclass(frozen=True)
class Gauges:
    """Values read at exposition time."""

    open_connections: int
    disk_used_bytes: int
    disk_capacity_bytes: int
    cached_objects: int
    evictions: int
    evicted_bytes: int
    fills_in_flight: int
    healthy: bool


def render(metrics: Metrics, gauges: Gauges) -> str:
    """The Prometheus text exposition of every counter and gauge."""
    out: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        full = f"{PREFIX}_{name}"
        out.append(f"# HELP {full} {help_text}")
        out.append(f"# TYPE {full} {kind}")
        out.extend(f"{full}{labels} {_number(value)}" for labels, value in samples)

    family(
        "requests_total",
        "counter",
        "Requests answered, by status and cache result.",
        [(_labels(status=s, result=r), n) for (s, r), n in sorted(metrics.requests.items())],
    )
    family(
        "bytes_served_total",
        "counter",
        "Body bytes sent to clients, by status and cache result.",
        [(_labels(status=s, result=r), n) for (s, r), n in sorted(metrics.bytes_served.items())],
    )
    family(
        "cache_hits_total", "counter", "Requests served from the disk cache.", [("", metrics.hits)]
    )
    family(
        "cache_misses_total",
        "counter",
        "Requests that started an upstream fetch.",
        [("", metrics.misses)],
    )
    family(
        "coalesced_waits_total",
        "counter",
        "Requests that joined a fetch already in flight.",
        [("", metrics.coalesced)],
    )
    family(
        "upstream_fetches_total",
        "counter",
        "Objects fetched from an upstream.",
        [("", metrics.upstream_fetches)],
    )
    family(
        "upstream_bytes_total",
        "counter",
        "Bytes received from upstreams.",
        [("", metrics.upstream_bytes)],
    )
    family(
        "upstream_errors_total",
        "counter",
        "Upstream fetches that failed, by reason.",
        [(_labels(reason=r), n) for r, n in sorted(metrics.upstream_errors.items())],
    )
    family(
        "token_rejections_total",
        "counter",
        "Requests refused before any lookup, by reason.",
        [(_labels(reason=r), n) for r, n in sorted(metrics.token_rejections.items())],
    )
    family(
        "fill_objects_total",
        "counter",
        "Objects stored by proactive fill.",
        [("", metrics.fill_objects)],
    )
    family(
        "fill_bytes_total", "counter", "Bytes stored by proactive fill.", [("", metrics.fill_bytes)]
    )
    family("evictions_total", "counter", "Objects evicted to make room.", [("", gauges.evictions)])
    family(
        "evicted_bytes_total",
        "counter",
        "Bytes evicted to make room.",
        [("", gauges.evicted_bytes)],
    )
    family(
        "connections_accepted_total",
        "counter",
        "Client connections accepted.",
        [("", metrics.connections_accepted)],
    )
    family(
        "open_connections", "gauge", "Client connections open now.", [("", gauges.open_connections)]
    )
    family(
        "disk_used_bytes", "gauge", "Bytes the cache holds on disk.", [("", gauges.disk_used_bytes)]
    )
    family(
        "disk_capacity_bytes",
        "gauge",
        "The cache's size bound.",
        [("", gauges.disk_capacity_bytes)],
    )
    family("cached_objects", "gauge", "Objects in the cache.", [("", gauges.cached_objects)])
    family(
        "fills_in_flight", "gauge", "Upstream fetches in progress.", [("", gauges.fills_in_flight)]
    )
    family("healthy", "gauge", "1 when the cache disk takes writes.", [("", int(gauges.healthy))])
    return "\n".join(out) + "\n"


def _labels(**values: object) -> str:
    inner = ",".join(f'{name}="{_escape(str(value))}"' for name, value in values.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def parse_exposition(text: str) -> dict[str, float]:
    """Samples of an exposition by ``name{labels}`` (for tests, benches and operators)."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples
