"""The angular tests of ``placement="maximum"``: does a peak's neighbourhood agree with its maximum's rotation?

A template-matching run writes, per voxel, the best rotation of a list
sampled every few degrees. Around a true particle's maximum the best
rotation is the same (or a close) one in several neighbouring voxels; around
a gold bead or in noise it changes from voxel to voxel. cryoCAT asks for
whole regions of equal distance-map values (``angle_test="regions"``), which
on real maps - where a neighbouring voxel's best rotation is often a
different, nearby one - rejects almost every peak. The tests here compare
rotations with the maximum's directly:

``"neighbours"`` (the default)
    Of the maximum's 26 neighbours, at least ``min_agreeing_neighbours``
    hold a rotation within `angle_tolerance` of the maximum's. The default
    tolerance is half the angle list's step (:func:`angular_step`): the
    same list rotation (or a symmetry copy of it), whatever the sampling. It
    needs no threshold mask, so it judges weak and strong peaks alike.
``"footprint"``
    The peak's above-threshold voxels inside its footprint (sphere or
    rotated template mask) are compared; at least ``min_angles_voxel_count``
    must agree within `angle_tolerance`.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from ...angles import AngleList
from ...angles.distance_maps import angle_rows
from ...angles.distances import total_angle
from ...maps import AngleMap

__all__ = ["ANGLE_TESTS", "angular_step", "min_agreeing_neighbours_for", "NeighbourAgreement", "FootprintAgreement"]

#: The angular tests of :class:`~cryotm.picking.PeakSelector` (``"regions"``: cryoCAT's distance-map regions;
#: ``"none"``: no angular test, the default with ``placement="maximum"``).
ANGLE_TESTS: tuple[str, ...] = ("none", "neighbours", "footprint", "regions")

_SAMPLE = 2000  # rows whose nearest neighbour is measured


def angular_step(angles: AngleList, symmetry: int = 1) -> float:
    """The angle list's sampling step: the median angle (degrees) from a rotation to its nearest other one.

    Rotations equal under the C_n `symmetry` count as one (a symmetry copy is
    at distance 0 and is skipped). Lists longer than 2,000 rows are measured
    on 2,000 evenly spaced rows.

    Parameters
    ----------
    angles : AngleList
        The angle list.
    symmetry : int
        Order of the cyclic symmetry about the particle's z axis.

    Returns
    -------
    float
        Degrees; 180 for a list of one rotation.

    Examples
    --------
    >>> from cryotm.angles import AngleList
    >>> steps = np.array([[phi, 0.0, 0.0] for phi in range(0, 360, 10)])
    >>> round(angular_step(AngleList.from_array(steps)), 6)
    10.0
    """
    rotations = angles.rotations()
    if len(angles) < 2:
        return 180.0
    quats = [rotations.as_quat()]
    for k in range(1, symmetry):
        spin = Rotation.from_rotvec([0.0, 0.0, 2 * np.pi * k / symmetry])
        quats.append((rotations * spin).as_quat())
    points = np.concatenate(quats + [-q for q in quats])  # q and -q are one rotation
    tree = cKDTree(points)
    rows = np.unique(np.linspace(0, len(angles) - 1, min(_SAMPLE, len(angles))).round().astype(int))
    query = rotations[rows].as_quat()
    # the nearest neighbours include the row itself and its copies (distance 0): ask for enough
    k = min(len(points), 2 * symmetry + 2)
    chord, _ = tree.query(query, k=k)
    chord = np.where(chord < 1e-9, np.inf, chord).min(axis=1)
    # chordal distance |q1 - q2| = 2 sin(angle / 4)
    return float(np.degrees(4 * np.arcsin(np.clip(np.median(chord) / 2, 0, 1))))


class NeighbourAgreement:
    """How many of a voxel's 26 neighbours hold a rotation within a tolerance of the voxel's own."""

    def __init__(self, amap: AngleMap, angles: AngleList, tolerance: float, symmetry: int) -> None:
        self.amap, self.angles, self.tolerance, self.symmetry = amap, angles, tolerance, symmetry
        self.rotations = angles.rotations()

    def count(self, voxel: tuple[int, int, int], row: int) -> int:
        """Neighbours of `voxel` (z, y, x) agreeing with angle-list `row` (fewer at the map's faces)."""
        shape = self.amap.shape
        box = tuple(slice(max(c - 1, 0), min(c + 2, n)) for c, n in zip(voxel, shape))
        values = np.asarray(self.amap.data[box])
        rows = angle_rows(values.reshape(-1), self.angles, self.amap.source)
        angle = total_angle(self.rotations[row], self.rotations[rows], self.symmetry)
        return int(np.count_nonzero(angle <= self.tolerance)) - 1  # the voxel itself always agrees


class FootprintAgreement:
    """How many voxels of a peak (inside its footprint) agree with its maximum's rotation."""

    def __init__(self, amap: AngleMap, angles: AngleList, tolerance: float, symmetry: int) -> None:
        self.amap, self.angles, self.tolerance, self.symmetry = amap, angles, tolerance, symmetry
        self.rotations = angles.rotations()

    def count(self, win: tuple[slice, ...], voxels: np.ndarray, centre: tuple[int, int, int], row: int) -> int:
        """Voxels of `voxels` (a bool window `win` of the map) other than `centre` agreeing with `row`."""
        voxels = voxels.copy()
        voxels[centre] = False
        if not voxels.any():
            return 0
        rows = angle_rows(np.asarray(self.amap.data[win])[voxels], self.angles, self.amap.source)
        angle = total_angle(self.rotations[row], self.rotations[rows], self.symmetry)
        return int(np.count_nonzero(angle <= self.tolerance))


def min_agreeing_neighbours_for(n_angles: int, false_rate: float = 0.05, neighbours: int = 26) -> int:
    """How many agreeing neighbours the ``"neighbours"`` test needs for a list of `n_angles` rotations.

    With the default tolerance (half the list's step) a neighbour agrees
    with the maximum only when it holds the very same list rotation. If the
    neighbours' rotations were drawn at random, each would agree with
    probability ``1 / n_angles``; the answer is the smallest count that at
    most `false_rate` of such random neighbourhoods reach (binomial tail).
    A long list (a thousand rotations or more) needs one agreeing neighbour;
    a short one more: chance agreement is then common.

    Measured on the realistic scenes of ``benchmarks/quality.py`` and
    ``benchmarks/quality_picking.py`` (1,000 rotations; 21 scenes): one
    agreeing neighbour gave the best mean F1, three (the fixed default
    before) lost weak particles on the scenes without many gold beads.

    Examples
    --------
    >>> [min_agreeing_neighbours_for(n) for n in (30, 100, 300, 1000, 45000)]
    [4, 2, 2, 1, 1]
    """
    from scipy.stats import binom

    chance = binom(neighbours, 1.0 / max(int(n_angles), 1))
    for k in range(1, neighbours + 1):
        if chance.sf(k - 1) <= false_rate:  # P(at least k agree by chance)
            return k
    return neighbours
