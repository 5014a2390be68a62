"""``calibrated``: the score above which noise leaves a chosen number of peaks per tomogram.

A template-matching scores map is the maximum over rotations of a
correlation that is smooth in space and in rotation: neighbouring voxels and
rotations are far from independent, so the false-alarm rate (``far``), which
counts voxels x rotations as independent trials, sits well above the noise's
real ceiling (conservative: real particles below it are lost). This rule
looks at what a picker keeps instead - the local maxima of the map - and
models how many of them lie above a score ``t``::

    log N(t) = a + d * log(z) - z**2 / 2,      z = (t - mean) / std

the expected number of peaks above ``t`` of a smooth Gaussian random field
(the Euler-characteristic heuristic of random-field theory, as neuroimaging
uses for peak-level error control: a polynomial in ``z`` times the Gaussian
tail), with ``mean`` and ``std`` the search statistics (over every voxel and
rotation; pytom-match-pick records them). Without statistics the curvature is
fitted too, with the degree ``d`` fixed (``DEGREE``). The fit uses the
counts of the noise's local maxima between `fit_range` (numbers of maxima,
from the top), where noise peaks are many. The particles' own peaks lie above
the noise and are counted out first: at the start, the maxima far above the
bulk of the maxima (its median and lower quartile, which particles do not
move while they hold less than half of the maxima) are taken as signal; then,
until the count is stable, the signal is every maximum above the score where
the fitted model expects one noise maximum, less that one. The signal peaks
and the maxima within a particle diameter of them (which the picker
suppresses) are removed before each fit, so that the fit range holds noise
however many particles the tomogram holds (tens to hundreds). The cut-off is
where the model expects ``n_false_positives`` noise peaks per tomogram.

With the particle diameter known (as the picker knows it), one more step
looks at the picker's candidates above that cut-off. When they form a cluster
(the particles) with a clear gap below it and only a small trail of
candidates between the gap and the cut-off (gold, membrane and noise peaks,
which the ranks of a cluster do not continue into), the cut-off is raised to
the middle of the gap (``trim_trail``). The cut-off never falls: the noise
peaks kept are at most those declared.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from ..errors import CryotmError, InputError
from .base import SearchStatistics, ThresholdResult, ThresholdStrategy, _checked_mask, as_array, source_of

__all__ = ["CalibratedThreshold", "cluster_gap", "local_maxima"]


def local_maxima(
    data: np.ndarray, footprint: int = 7, mask: np.ndarray | None = None, radius: float | None = None
) -> np.ndarray:
    """Scores of the local maxima of `data` (largest first): voxels equal to the maximum of their cube.

    A maximum is also strictly above its six face neighbours: flat regions
    (the zeros of a masked-out region) hold none.

    Parameters
    ----------
    data : ndarray
        The scores map.
    footprint : int
        Edge of the cube (voxels) a maximum must dominate.
    mask : ndarray, optional
        Only maxima where the mask is nonzero (voxels outside do not compete).
    radius : float, optional
        Then suppress, as the picker does: a maximum removes every lower one
        within this distance (the picker's suppression radius).

    Examples
    --------
    >>> a = np.zeros((5, 5, 5), np.float32); a[1, 1, 1] = 2; a[3, 3, 3] = 1
    >>> local_maxima(a, footprint=3)[:2].tolist()
    [2.0, 1.0]
    >>> local_maxima(a, footprint=3, radius=4.0).tolist()  # 1.0 lies 3.5 voxels from 2.0; the flat zeros count not
    [2.0]
    """
    values, positions = _maxima(data, footprint, mask)
    if radius is not None:
        from ..picking.suppression import greedy_suppression

        values = values[greedy_suppression(positions, float(radius))]
    return values


def _maxima(data: np.ndarray, footprint: int, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Values (largest first) and (z, y, x) positions of the local maxima.

    A maximum must be strictly above its six face neighbours. Flat voxels
    - the zeros a ``product`` mask or a peer's unsearched border leaves -
    are not maxima: counted, a masked-out region's thousands of voxels would
    swamp the noise model (found on a realistic search with four masked gold
    beads: the rule then cut above every particle). A float map's real peaks
    do not tie with a neighbour.
    """
    work = np.asarray(data, dtype=np.float32)
    if mask is not None:
        work = np.where(mask, work, np.float32(-np.inf))
    from scipy import ndimage  # scipy.ndimage: where the rule is evaluated

    peak = ndimage.maximum_filter(work, size=int(footprint), mode="constant", cval=-np.inf)
    where = np.nonzero((work == peak) & np.isfinite(work))
    tied = np.zeros(len(where[0]), dtype=bool)
    for axis in range(work.ndim):
        for step in (-1, 1):
            neighbour = list(where)
            neighbour[axis] = where[axis] + step
            inside = (neighbour[axis] >= 0) & (neighbour[axis] < work.shape[axis])
            neighbour[axis] = np.clip(neighbour[axis], 0, work.shape[axis] - 1)
            tied |= inside & (work[tuple(neighbour)] == work[where])
    where = tuple(axis[~tied] for axis in where)
    values = work[where].astype(np.float64)
    order = np.argsort(-values, kind="stable")
    return values[order], np.column_stack([axis[order] for axis in where])


def _outside(positions: np.ndarray, centres: np.ndarray, radius: float) -> np.ndarray:
    """True for the positions farther than `radius` from every centre."""
    if len(centres) == 0:
        return np.ones(len(positions), dtype=bool)
    from scipy.spatial import cKDTree

    distance, _ = cKDTree(centres).query(positions, k=1, distance_upper_bound=radius)
    return ~np.isfinite(distance)


def _outliers(x: np.ndarray) -> int:
    """How many maxima lie far above the bulk of the maxima (a first count of the signal peaks).

    The median and lower quartile of the maxima are the noise's as long as
    particles hold less than half of them.
    """
    q25, q50 = np.quantile(x, [0.25, 0.5])
    spread = q50 - q25
    if not spread > 0:
        return 0
    return int(np.sum(x > q50 + OUTLIER_SPREADS * spread))


def _fit_fixed(x: np.ndarray, counts: np.ndarray) -> tuple[float, float]:
    """``(a, d)`` of ``log N = a + d log x - x**2 / 2`` by least squares (x in units of the std)."""
    d, a = np.polyfit(np.log(x), np.log(counts) + x * x / 2.0, 1)
    return float(a), float(d)


#: Degree of the polynomial factor when the std is fitted too (degree and std trade off and cannot
#: both be fitted from one stretch of the tail). Random-field theory gives degree 5 for a Gaussian
#: field over the six dimensions of position and rotation; 7 delivered the declared counts (1 and 10
#: per tomogram; 0.79 and 8.8 measured) on the 24 noise-only searches of ``benchmarks/quality.py``, where
#: it was chosen (6 before the signal was counted as below; the particle scenes were not used).
DEGREE = 7.0

#: A first count of the signal: the maxima more than this many spreads (median - lower quartile of
#: the maxima) above their median. The noise's highest maximum lies 3.3-8.6 spreads up on the 24
#: noise-only searches and on Gaussian-noise maps (96**3 to 128**3); particles well above the noise
#: are counted at once however many they are.
OUTLIER_SPREADS = 6.0


#: The gap test of the trail step: a spacing between consecutive candidates this many times the mean of the
#: :data:`GAP_WINDOW` spacings above it. Were the cluster to continue (spacings exponential), one spacing this wide
#: has odds (1 + 8/8)**-8 = 1/256; over the ten or so places tested, about 5 % for a whole cluster. Chosen on the
#: 12 sparse and 3 dense scenes of ``benchmarks/quality.py``; checked on 36 simulated afresh (``quality_holdout.py``).
GAP_SPACINGS = 8.0

#: Narrowest gap, in standard deviations of the noise model. A particle's score scatters by about one, so a
#: narrower gap is no sign that the particles end there. Among the gaps the spacing test finds on the 12 sparse
#: scenes of ``benchmarks/quality.py``, the one that cut into the particles was 1.06 wide and those that dropped
#: only a trail were 1.57 and wider (and one of 0.34); found first on a crowded scene, where near-tied
#: candidates made a gap of 0.06 standard deviations look 12 times their spacing.
GAP_MIN_WIDTH = 1.25

#: Spacings (and so candidates, less one) above a gap that measure the cluster's own spacing.
GAP_WINDOW = 8

#: Largest trail below a gap, as a fraction of the cluster above it: a larger group is a population, not a trail.
#: 0.5 and 1 gave the same picks on every scene of ``quality.py`` and ``quality_holdout.py`` but one, where two
#: membranes left 23 candidates between the noise cut-off and 34 particles (F1 ratio 0.66 with 0.5, 1.0 with 1).
TRAIL_FRACTION = 1.0


def cluster_gap(candidates: np.ndarray, min_width: float = 0.0) -> tuple[float, float] | None:
    """The clear gap below a cluster of the highest candidates, as ``(lower, upper)`` scores, or None.

    Parameters
    ----------
    candidates : ndarray
        Candidate peak scores (any order): the picker's list above a cut-off.
        The cluster needs :data:`GAP_WINDOW` + 1 of them above the gap.
    min_width : float
        Narrowest gap (in scores): the rule asks :data:`GAP_MIN_WIDTH` noise
        standard deviations, as a particle's score scatters by about one.

    Returns
    -------
    (float, float) or None
        The scores on either side of the highest spacing that is more than
        :data:`GAP_SPACINGS` times the mean of the :data:`GAP_WINDOW`
        spacings above it and at least `min_width` wide, with at most
        :data:`TRAIL_FRACTION` as many candidates below as above; None when
        there is no such gap.

    Examples
    --------
    >>> cluster = 9.0 - 0.1 * np.arange(20)              # 20 particles, 0.1 apart
    >>> cluster_gap(np.concatenate([cluster, [5.0, 4.6]]))  # two candidates trail 2.9 below
    (5.0, 7.1)
    >>> cluster_gap(np.concatenate([cluster, [7.0, 6.9]])) is None  # the cluster goes on
    True
    """
    scores = np.sort(np.asarray(candidates, dtype=np.float64))[::-1]
    n = len(scores)
    for i in range(GAP_WINDOW, n - 1):  # the highest such gap: the whole trail lies below it
        if n - 1 - i > TRAIL_FRACTION * (i + 1):
            continue
        spacing = (scores[i - GAP_WINDOW] - scores[i]) / GAP_WINDOW
        width = scores[i] - scores[i + 1]
        if spacing > 0 and width > GAP_SPACINGS * spacing and width >= min_width:
            return float(scores[i + 1]), float(scores[i])
    return None


def _fit(x: np.ndarray, counts: np.ndarray, std: float | None) -> tuple[np.ndarray, float]:
    """Coefficients ``(a, d)`` and the std of the Gaussian-tail model (the std fitted when None).

    With the std fitted, the degree is :data:`DEGREE` and the std is chosen on
    a log-spaced grid, refined once, by least squares.
    """
    if std is not None:
        return np.array(_fit_fixed(x / std, counts)), float(std)
    y = np.log(counts)

    def fit_at(s: float) -> tuple[float, float]:
        z = x / s
        rest = y - DEGREE * np.log(z) + z * z / 2.0
        a = float(rest.mean())
        return a, float(np.sum((rest - a) ** 2))

    scale = float(np.median(x))
    grid = scale * np.geomspace(0.05, 2.0, 80)
    best = grid[int(np.argmin([fit_at(s)[1] for s in grid]))]
    fine = best * np.geomspace(0.95, 1.05, 41)
    best = float(fine[int(np.argmin([fit_at(s)[1] for s in fine]))])
    return np.array([fit_at(best)[0], DEGREE]), best


def _log_count(x: np.ndarray | float, coefficients: np.ndarray) -> np.ndarray | float:
    """The model at `x` (in units of the std)."""
    a, d = coefficients
    x = np.maximum(x, 1e-9)
    return a + d * np.log(x) - np.square(x) / 2.0


@attrs.define
class CalibratedThreshold(ThresholdStrategy):
    """The score above which the map's noise is expected to leave ``n_false_positives`` peaks.

    Parameters
    ----------
    n_false_positives : float
        Expected number of noise peaks above the cut-off in this map (per
        tomogram; the picker keeps about as many false particles).
    footprint : int
        Edge (voxels) of the cube within which a candidate peak must be the
        maximum (the local maxima modelled).
    fit_range : (int, int)
        Ranks (from the top) of the noise maxima the model is fitted to.
    iterations : int
        Most rounds of counting the signal peaks and refitting (it stops
        earlier when the count is stable).
    particle_diameter : float, optional
        The picker's suppression radius (voxels): the maxima are then
        suppressed as the picker suppresses candidates, so the count modelled
        is the count of particles the picker keeps. A
        :class:`~cryotm.picking.PeakPicker` (and so ``extract``, ``batch``
        and the pipeline) fills it in (see :meth:`with_particle_diameter`).
    trim_trail : bool
        With a particle diameter: raise the cut-off into a clear gap below
        the cluster of the highest candidates when only a small trail lies
        between the gap and the noise cut-off (:func:`cluster_gap`).

    Notes
    -----
    With search statistics (``std``; ``mean`` 0 when missing, as
    pytom-match-pick assumes) the model's curvature is fixed by the
    statistics; without them it is fitted. ``details`` holds the model
    (``model``, ``coefficients``), ``n_maxima``, the estimated number of
    signal peaks (``n_signal``), the fitted points (``fit_scores``,
    ``fit_counts``) and the expected count at the cut-off; ``noise_cutoff``
    (the cut-off the noise model gives) and ``gap`` (the scores either side
    of the gap the cut-off was raised into, or None) with ``n_trail``, the
    candidates between the two cut-offs.

    Examples
    --------
    >>> from cryotm import make_scene
    >>> scene = make_scene(shape=(64, 64, 64), n_peaks=10, seed=2, min_distance=14)
    >>> result = CalibratedThreshold().evaluate(scene.scores)
    >>> bool(3 * scene.noise_std < result.value < scene.truth.data["score"].min())
    True
    """

    name = "calibrated"
    primary_parameter = "n_false_positives"
    description = "noise peaks expected above it per tomogram, from a tail model of the map's maxima (default)"

    n_false_positives: float = 1.0
    footprint: int = 7
    fit_range: tuple[int, int] = (20, 200)
    iterations: int = 30
    particle_diameter: float | None = None
    trim_trail: bool = True

    def with_particle_diameter(self, diameter: float) -> CalibratedThreshold:
        """This rule for a picker that suppresses within `diameter` voxels (unless a diameter is set).

        A capability the picker asks for: rules that model the picker's
        candidates define it.
        """
        if self.particle_diameter is not None:
            return self
        return attrs.evolve(self, particle_diameter=float(diameter))

    def evaluate(self, scores, mask=None, statistics=None) -> ThresholdResult:
        if not (isinstance(self.n_false_positives, (int, float)) and self.n_false_positives > 0):
            raise CryotmError(f"calibrated: n_false_positives must be positive, got {self.n_false_positives}")
        lo, hi = (int(v) for v in self.fit_range)
        if not 1 <= lo < hi:
            raise CryotmError(f"calibrated: fit_range must be two ranks 1 <= low < high, got {self.fit_range}")
        statistics = statistics if statistics is not None else SearchStatistics()
        data = as_array(scores)
        if mask is not None:
            mask = _checked_mask(data, mask, source_of(scores)) != 0
        maxima, positions = _maxima(data, self.footprint, mask)
        hi = min(hi, int(0.6 * len(maxima)))
        if hi < lo + 10:
            raise InputError(
                f"calibrated: only {len(maxima)} local maxima in the map, too few to model its noise "
                "(choose another threshold, e.g. sigma:3 or manual:VALUE)",
                source_of(scores),
            )
        given = statistics.std is not None and float(statistics.std) > 0
        mean = float(statistics.mean) if statistics.mean is not None and given else 0.0
        x_all = maxima - mean
        if x_all[hi - 1] <= 0:
            raise InputError(
                f"calibrated: the map's top {hi} local maxima are not above the mean score {mean:.4g}; "
                "is it a cross-correlation map? (choose another threshold, e.g. sigma:3)",
                source_of(scores),
            )
        n_signal = _outliers(x_all)
        coefficients, std = np.zeros(2), float(statistics.std) if given else 1.0
        seen: set[int] = set()
        for _ in range(max(1, int(self.iterations))):
            if n_signal in seen:  # stable (or cycling between counts already fitted)
                break
            seen.add(n_signal)
            # the noise maxima: not among the signal peaks nor (with a diameter) suppressed by them
            noise = np.ones(len(maxima), dtype=bool)
            noise[:n_signal] = False
            if self.particle_diameter is not None and n_signal:
                noise &= _outside(positions, positions[:n_signal], float(self.particle_diameter))
            x_noise = x_all[noise]
            counts = np.arange(1, len(x_noise) + 1, dtype=np.float64)
            rows = (counts >= lo) & (counts <= min(hi, int(0.6 * len(x_noise)))) & (x_noise > 0)
            if rows.sum() < 5:
                raise InputError(
                    "calibrated: too few local maxima outside the particles to model the noise", source_of(scores)
                )
            coefficients, std = _fit(x_noise[rows], counts[rows], float(statistics.std) if given else None)
            # the signal: every maximum above the score where the model expects one noise maximum, less that one
            one = self._solve(coefficients, 0.0, float(x_noise[rows].min()) / std, float(x_all[0]) / std)
            n_signal = int(max(0, np.sum(x_all > one * std) - 1))
        x_fit, fit_counts = x_noise[rows], counts[rows]
        target = math.log(float(self.n_false_positives))
        cutoff = self._solve(coefficients, target, float(x_fit.min()) / std, float(x_all[0]) / std)
        noise_cutoff = cutoff * std + mean
        value, gap, n_trail = noise_cutoff, None, 0
        if self.trim_trail and self.particle_diameter is not None:
            from ..picking.suppression import greedy_suppression

            above = maxima > noise_cutoff  # suppression goes highest first: those above keep their own order
            candidates = maxima[above][greedy_suppression(positions[above], float(self.particle_diameter))]
            gap = cluster_gap(candidates, min_width=GAP_MIN_WIDTH * std)
            if gap is not None:
                value = 0.5 * (gap[0] + gap[1])
                n_trail = int(np.sum(candidates < value))
        details = {
            "model": "gaussian tail, std from the statistics" if given else "gaussian tail, std fitted",
            "coefficients": np.asarray(coefficients, dtype=float),
            "mean": mean,
            "std": std,
            "n_maxima": int(len(maxima)),
            "n_signal": n_signal,
            "n_false_positives": float(self.n_false_positives),
            "particle_diameter": self.particle_diameter,
            "fit_scores": x_fit + mean,
            "fit_counts": fit_counts,
            "n_above": int(np.sum(maxima > value)),
            "noise_cutoff": float(noise_cutoff),
            "gap": gap,
            "n_trail": n_trail,
        }
        return ThresholdResult(value=float(value), strategy=self.name, details=details)

    @staticmethod
    def expected_count(result: ThresholdResult, scores: np.ndarray | float) -> np.ndarray | float:
        """The model's expected number of noise maxima above `scores` (from a result's details; for plots)."""
        details = result.details
        x = (np.asarray(scores, dtype=float) - details["mean"]) / details["std"]
        return np.exp(_log_count(x, details["coefficients"]))

    @staticmethod
    def _solve(coefficients: np.ndarray, target: float, start: float, top: float) -> float:
        """The score (units of the std) above `start` where the modelled log-count falls to `target`."""
        from scipy.optimize import brentq  # imported where used: a light start-up

        def excess(x: float) -> float:
            return float(_log_count(x, coefficients)) - target

        if excess(start) <= 0:
            return start
        hi = max(top, start + 1.0)
        step = max(hi - start, 1e-6)
        for _ in range(60):
            if excess(hi) < 0:
                return float(brentq(excess, start, hi))
            hi += step
            step *= 2
        raise CryotmError("calibrated: the fitted noise model does not fall off; choose another threshold")
