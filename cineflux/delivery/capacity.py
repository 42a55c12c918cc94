"""Capacity planning: peak traffic and the edges each site needs. Pure arithmetic.

Decimal arithmetic, so that 5,000,000 x 4.5 % is 225,000 streams exactly and the numbers
the README shows are the numbers ``cineflux cdn plan`` prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from cineflux.delivery.coverage import SITE_NAME


class InvalidCapacityPlan(ValueError):
    """Inputs that make no plan (a share that is not a number, shares not adding to 1, ...)."""


@dataclass(frozen=True)
class SitePlan:
    """One site's share of the peak and the edges it needs."""

    name: str
    share: Decimal
    peak_gbps: Decimal
    edges_for_peak: int
    edges: int  # with the spares
    utilisation: Decimal  # at peak, every edge up


@dataclass(frozen=True)
class CapacityPlan:
    """The national peak and the edges per site."""

    subscribers: int
    peak_concurrency: Decimal
    bitrate_mbps: Decimal
    streams: int
    peak_gbps: Decimal
    edge_gbps: Decimal
    headroom: Decimal
    usable_edge_gbps: Decimal
    spare_edges: int
    sites: tuple[SitePlan, ...]

    @property
    def total_edges(self) -> int:
        """Edges across every site, spares included."""
        return sum(site.edges for site in self.sites)


def parse_site_shares(spec: str) -> list[tuple[str, Decimal]]:
    """``"paris=0.5,lyon=0.5"`` as (site, share) pairs; the shares must add up to 1."""
    shares: list[tuple[str, Decimal]] = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not SITE_NAME.fullmatch(name):
            raise InvalidCapacityPlan(f"{item!r}: expected site=share, e.g. paris=0.4")
        try:
            share = Decimal(value.strip())
        except ArithmeticError:
            raise InvalidCapacityPlan(f"{item!r}: the share is not a number") from None
        if not share.is_finite() or not 0 < share <= 1:
            raise InvalidCapacityPlan(f"{item!r}: a share is above 0 and at most 1")
        shares.append((name, share))
    if not shares:
        raise InvalidCapacityPlan("no site given")
    if len({name for name, _ in shares}) != len(shares):
        raise InvalidCapacityPlan("a site is listed twice")
    if abs(sum((share for _, share in shares), Decimal(0)) - 1) > Decimal("0.001"):
        raise InvalidCapacityPlan("the site shares must add up to 1")
    return shares


def _number(value: float | Decimal | str) -> Decimal:
    # Through str: the float 0.045 becomes Decimal("0.045"), not its binary approximation.
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _ceil(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def plan_capacity(
    *,
    subscribers: int,
    peak_concurrency: float | Decimal | str,
    bitrate_mbps: float | Decimal | str,
    edge_gbps: float | Decimal | str,
    headroom: float | Decimal | str = "0.3",
    spare_edges: int = 1,
    sites: Sequence[tuple[str, Decimal]] = (("national", Decimal(1)),),
) -> CapacityPlan:
    """Peak streams and traffic, and per site the edges that carry it below ``1 - headroom``.

    Each site also keeps ``spare_edges`` more, so that it still carries its peak with that
    many edges down (N+1 by default).
    """
    concurrency = _number(peak_concurrency)
    bitrate = _number(bitrate_mbps)
    edge = _number(edge_gbps)
    reserve = _number(headroom)
    if subscribers < 1:
        raise InvalidCapacityPlan("subscribers must be at least 1")
    if not 0 < concurrency <= 1:
        raise InvalidCapacityPlan("peak concurrency is a ratio above 0 and at most 1, e.g. 0.045")
    if bitrate <= 0 or edge <= 0:
        raise InvalidCapacityPlan("bitrate and edge speed must be positive")
    if not 0 <= reserve < 1:
        raise InvalidCapacityPlan("headroom is a ratio from 0 up to (not including) 1")
    if spare_edges < 0:
        raise InvalidCapacityPlan("spare edges cannot be negative")
    streams = _ceil(subscribers * concurrency)
    peak_gbps = streams * bitrate / 1000
    usable = edge * (1 - reserve)
    site_plans = []
    for name, share in sites:
        site_peak = peak_gbps * share
        for_peak = max(1, _ceil(site_peak / usable))
        edges = for_peak + spare_edges
        site_plans.append(
            SitePlan(name, share, site_peak, for_peak, edges, site_peak / (edges * edge))
        )
    return CapacityPlan(
        subscribers=subscribers,
        peak_concurrency=concurrency,
        bitrate_mbps=bitrate,
        streams=streams,
        peak_gbps=peak_gbps,
        edge_gbps=edge,
        headroom=reserve,
        usable_edge_gbps=usable,
        spare_edges=spare_edges,
        sites=tuple(site_plans),
    )


def _grouped(value: Decimal, places: int = 1) -> str:
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{rounded:,.{places}f}"


def _hundredths(ratio: Decimal) -> Decimal:
    return ratio.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _percent(ratio: Decimal) -> str:
    return f"{(ratio * 100).normalize():f} %"


def format_plan(plan: CapacityPlan) -> str:
    """The plan as the lines ``cineflux cdn plan`` prints (and the README quotes)."""
    tbps = plan.peak_gbps / 1000
    lines = [
        f"subscribers        {plan.subscribers:,}",
        f"peak concurrency   {_percent(plan.peak_concurrency)} = {plan.streams:,} streams",
        f"average bitrate    {plan.bitrate_mbps.normalize():f} Mb/s",
        f"peak traffic       {_grouped(plan.peak_gbps)} Gb/s = {_grouped(tbps, 2)} Tb/s",
        f"per edge           {plan.edge_gbps.normalize():f} Gb/s, loaded to "
        f"{_percent(1 - plan.headroom)} at peak = {_grouped(plan.usable_edge_gbps)} Gb/s",
        f"spare edges        {plan.spare_edges} per site",
        "",
        f"{'site':<12}{'share':>8}{'peak Gb/s':>12}{'for peak':>10}{'edges':>7}{'load':>8}",
    ]
    for site in plan.sites:
        lines.append(
            f"{site.name:<12}{_percent(site.share):>8}{_grouped(site.peak_gbps):>12}"
            f"{site.edges_for_peak:>10}{site.edges:>7}{_percent(_hundredths(site.utilisation)):>8}"
        )
    lines.append(
        f"{'total':<12}{'100 %':>8}{_grouped(plan.peak_gbps):>12}"
        f"{sum(s.edges_for_peak for s in plan.sites):>10}{plan.total_edges:>7}"
    )
    return "\n".join(lines)
