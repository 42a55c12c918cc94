"""Pure QoE arithmetic: percentiles, rebuffer ratios, trusted times, device classes."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

# A batch sent on pagehide may wait in the browser for a while; older claims are not
# believed, and no event happens after the server received it (clients' clocks drift).
MAX_EVENT_AGE = timedelta(minutes=10)

REPORT_PERCENTILES = (50, 90, 99)
DEVICE_CLASSES = ("tv", "tablet", "mobile", "desktop", "other")


def percentile(ordered: Sequence[float], p: float) -> float:
    """The nearest-rank percentile of sorted values: an observed value, never interpolated.

    Nearest rank keeps p99 of a small group honest (it is the worst play, not a blend).
    """
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0 < p <= 100:
        raise ValueError("percentile must be in (0, 100]")
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


def percentiles(
    values: Iterable[float], ps: Sequence[float] = REPORT_PERCENTILES
) -> dict[str, float] | None:
    """``{"p50": …, "p90": …, "p99": …}`` of unsorted values, or None when there are none."""
    ordered = sorted(values)
    if not ordered:
        return None
    return {f"p{p:g}": percentile(ordered, p) for p in ps}


def rebuffer_ratio(stall_ms: int, played_ms: int) -> float | None:
    """Stall time over watch time (playing plus stalled); None when nothing was watched."""
    watched = stall_ms + played_ms
    if watched <= 0:
        return None
    return stall_ms / watched


def trusted_time(claimed: datetime | None, *, now: datetime) -> datetime:
    """When an event happened: the client's claim, clamped to ``[now - MAX_EVENT_AGE, now]``."""
    if claimed is None:
        return now
    return min(max(claimed, now - MAX_EVENT_AGE), now)


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour holding ``moment``: the rollup's time bucket."""
    return moment.replace(minute=0, second=0, microsecond=0)


_TV = re.compile(
    r"SmartTV|SMART-TV|Tizen|Web0S|WebOS|NetCast|HbbTV|BRAVIA|AppleTV|Apple TV|CrKey|"
    r"Android TV|GoogleTV|AFT[A-Z]|Roku|PlayStation|Xbox",
    re.IGNORECASE,
)


def device_of(user_agent: str | None) -> tuple[str, str]:
    """The device class and client family of a User-Agent, for grouping only.

    Classified by the server from the request, not told by the client, so one player
    cannot report itself as a TV; a handful of coarse classes keeps groups large enough
    for their percentiles to mean something.
    """
    ua = user_agent or ""
    if _TV.search(ua):
        device = "tv"
    elif "iPad" in ua or "Tablet" in ua or ("Android" in ua and "Mobile" not in ua):
        device = "tablet"
    elif "Mobile" in ua or "iPhone" in ua or "Android" in ua:
        device = "mobile"
    elif any(marker in ua for marker in ("Windows", "Macintosh", "X11", "Linux", "CrOS")):
        device = "desktop"
    else:
        device = "other"
    return device, _family(ua)


def _family(ua: str) -> str:
    for marker, family in (
        ("Cineflux", "cineflux-app"),
        ("Edg/", "edge"),
        ("OPR/", "opera"),
        ("Firefox/", "firefox"),
        ("FxiOS/", "firefox"),
        ("CriOS/", "chrome"),
        ("Chrome/", "chrome"),
        ("Safari/", "safari"),
    ):
        if marker in ua:
            return family
    return "other"


_SINCE = re.compile(r"^([0-9]{1,5})([mhd])$")


def parse_since(text: str, *, now: datetime) -> datetime:
    """The start of a report: a duration back from now (``90m``, ``24h``, ``7d``) or an
    ISO 8601 instant (UTC when it names no zone)."""
    match = _SINCE.match(text.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return now - {"m": timedelta(minutes=amount), "h": timedelta(hours=amount)}.get(
            unit, timedelta(days=amount)
        )
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--since wants 90m, 24h, 7d or an ISO date, not {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=now.tzinfo)
    return moment
