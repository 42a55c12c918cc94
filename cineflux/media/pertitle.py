"""Per-title ladders: spend bits where the picture needs them. Pure.

Each rung of the default ladder is trial-encoded on samples of the title twice over: once as
the default ladder encodes it (average bitrate), which gives the VMAF the rung must keep, and
at a few constant-quality settings (CRF) capped at the rung's peak rate. The CRF trials give
the rung's rate-quality curve, measured in real bits; on the upper convex hull of that curve
the rung takes the lowest bitrate that keeps the default's VMAF (minus half a point), and the
CRF that gets there. Easy pictures (slides, talking heads) get far fewer bits; hard ones
(noise, sport) keep the default encode, and never more bits or a higher peak than it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

from cineflux.media.ladder import Rung, with_quality

CRF_POINTS = (10.0, 14.0, 19.0, 24.0, 30.0)  # covers the default rungs from 1080p down
VMAF_ALLOWANCE = 0.5  # per-title rungs aim this far below the default rung's VMAF
# Below this VMAF a rung is already poor and sits on the steep part of the curve, where
# samples predict the whole title worst (measured: capped CRF loses up to 2.5 points more
# than the default encode over a full title). Such rungs keep the default encode; they are
# the cheapest rungs anyway, so little is given up.
MIN_VMAF_FOR_PER_TITLE = 70.0
SAMPLE_SECONDS = 4.0  # long enough for the rate control to settle
MIN_SAMPLES, MAX_SAMPLES = 3, 10
SAMPLED_SHARE = 0.1  # of the title, within those bounds


@dataclass(frozen=True)
class TrialSpec:
    """One trial encode to run: the rung as the default encodes it, or at a CRF."""

    rung: Rung
    crf: float | None  # None: the default (average bitrate) encode


@dataclass(frozen=True)
class Trial:
    """A trial encode and its score."""

    rung_id: str
    crf: float | None
    bitrate: int  # measured from the encoded size
    vmaf: float


def choose_samples(duration: float, seconds: float = SAMPLE_SECONDS) -> list[tuple[float, float]]:
    """(start, length) of evenly spread samples covering about a tenth of the title (3 to 10
    of them); the whole title when that would be most of it anyway."""
    count = min(MAX_SAMPLES, max(MIN_SAMPLES, math.ceil(duration * SAMPLED_SHARE / seconds)))
    if duration <= count * seconds * 1.5:
        return [(0.0, duration)]
    step = duration / count
    return [(round(step * (i + 0.5) - seconds / 2, 3), seconds) for i in range(count)]


def trial_plan(ladder: list[Rung]) -> list[TrialSpec]:
    """Every trial encode: per rung, the default encode and one per CRF point."""
    return [TrialSpec(rung, crf) for rung in ladder for crf in (None, *CRF_POINTS)]


def upper_hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The upper convex hull of (bitrate, quality) points, by increasing bitrate.

    Also monotone: a point that costs more bits for no more quality is dropped.
    """
    ordered = sorted(set(points))
    hull: list[tuple[float, float]] = []
    for point in ordered:
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            # Drop the middle point when it lies on or below the chord to the new point.
            if (x2 - x1) * (point[1] - y1) - (y2 - y1) * (point[0] - x1) >= 0:
                hull.pop()
            else:
                break
        hull.append(point)
    best: list[tuple[float, float]] = []
    for point in hull:
        if not best or point[1] > best[-1][1]:
            best.append(point)
    return best


def lowest_on_hull(hull: list[tuple[float, float]], quality: float) -> tuple[int, float] | None:
    """Where the hull first reaches ``quality``: (segment index, position 0..1), or None."""
    if quality <= hull[0][1]:
        return 0, 0.0
    for index, ((_x1, y1), (_x2, y2)) in enumerate(itertools.pairwise(hull)):
        if quality <= y2:
            return index, (quality - y1) / (y2 - y1)
    return None


def choose_rung(rung: Rung, trials: list[Trial]) -> Rung:
    """The rung at the CRF on its hull that keeps the default's VMAF, or the default."""
    default = next(t for t in trials if t.rung_id == rung.id and t.crf is None)
    crf_trials: dict[tuple[float, float], Trial] = {
        (float(t.bitrate), t.vmaf): t for t in trials if t.rung_id == rung.id and t.crf
    }
    fallback = with_quality(rung, vmaf=round(default.vmaf, 2))
    if not crf_trials or default.vmaf < MIN_VMAF_FOR_PER_TITLE:
        return fallback
    hull = upper_hull(list(crf_trials))
    found = lowest_on_hull(hull, default.vmaf - VMAF_ALLOWANCE)
    if found is None:
        return fallback  # hard content: the default encode is already the best buy
    index, position = found
    low = crf_trials[hull[index]]
    high = crf_trials[hull[min(index + 1, len(hull) - 1)]]
    bitrate = low.bitrate + (high.bitrate - low.bitrate) * position
    vmaf = low.vmaf + (high.vmaf - low.vmaf) * position
    assert low.crf is not None and high.crf is not None
    crf = low.crf + (high.crf - low.crf) * position
    if bitrate >= default.bitrate:
        return fallback
    return with_quality(
        rung, vmaf=round(vmaf, 2), crf=round(crf, 2), expected_bitrate=math.ceil(bitrate)
    )


VERIFY_STEP = 1.5  # CRF step back when a verification misses
VERIFY_TRIES = 3


def verify_rung(
    rung: Rung, default: Trial, candidate: Rung, measure: Callable[[float], Trial]
) -> tuple[Rung, list[Trial]]:
    """Encode the samples at the chosen CRF and keep it only if it really holds the quality.

    The hull interpolates between trials; where quality changes fast with the rate (low
    rungs) the interpolation can promise more than the encoder gives. Each miss steps the CRF
    back; the rung falls back to the default encode if none holds, or if it saves nothing.
    The VMAF and bitrate recorded are the measured ones.
    """
    fallback = with_quality(rung, vmaf=round(default.vmaf, 2))
    if candidate.crf is None:
        return fallback, []
    target = default.vmaf - VMAF_ALLOWANCE
    measured: list[Trial] = []
    crf = candidate.crf
    for _ in range(VERIFY_TRIES):
        trial = measure(crf)
        measured.append(trial)
        if trial.bitrate >= default.bitrate:
            return fallback, measured
        if trial.vmaf >= target:
            return (
                with_quality(
                    rung, vmaf=round(trial.vmaf, 2), crf=crf, expected_bitrate=trial.bitrate
                ),
                measured,
            )
        crf = round(crf - VERIFY_STEP, 2)
    return fallback, measured
