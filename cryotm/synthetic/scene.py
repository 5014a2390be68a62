"""Synthetic template-matching results with planted peaks (the built-in example).

Tests, benchmarks, the docs and ``cryotm demo`` all use :func:`make_scene`.
A scene is what a template-matching program would leave behind: a scores map
(peaks of varied height and width on spatially correlated noise), an
angle-index map whose voxels around each peak hold that peak's angle index
(random indices elsewhere, as in a real search), the angle list, and the
ground truth the peaks were planted from.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import numpy as np
from scipy import ndimage
from scipy.spatial.transform import Rotation

from ..angles import AngleList
from ..particles import ParticleList

__all__ = ["SyntheticScene", "make_scene"]


@attrs.define(eq=False)
class SyntheticScene:
    """A synthetic template-matching result and its ground truth.

    Attributes
    ----------
    scores : ndarray, float32, shape (nz, ny, nx)
        The scores map, indexed ``[z, y, x]``.
    angle_map : ndarray, float32, shape (nz, ny, nx)
        Angle indices (``row + index_base``), indexed ``[z, y, x]``.
    angles : AngleList
        The search's angle list.
    truth : ParticleList
        The planted peaks: 0-based voxel positions, the planted orientation
        (the angle list row stored around the peak) and the peak height.
    pixel_size : float
        Voxel size in Å written into the maps' headers.
    noise_std : float
        Standard deviation of the background scores.
    """

    scores: np.ndarray
    angle_map: np.ndarray
    angles: AngleList
    truth: ParticleList
    pixel_size: float = 10.0
    noise_std: float = 0.03

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.scores.shape)  # type: ignore[return-value]

    def write(self, directory: str | os.PathLike, angles_order: str = "zxz", overwrite: bool = False) -> dict[str, Path]:
        """Write ``scores.mrc``, ``angles.mrc``, ``angles.csv`` and ``truth.csv`` into `directory`.

        Each file is written atomically; if any exists (and not `overwrite`),
        nothing is written.

        Returns
        -------
        dict
            ``{"scores": path, "angles": path, "angle_list": path, "truth": path}``.
        """
        from .._atomic import atomic_path, check_writable
        from ..maps import write_map

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = {
            "scores": directory / "scores.mrc",
            "angles": directory / "angles.mrc",
            "angle_list": directory / "angles.csv",
            "truth": directory / "truth.csv",
        }
        for path in paths.values():  # refuse before writing anything: no partial scene
            check_writable(path, overwrite)
        write_map(paths["scores"], self.scores, pixel_size=self.pixel_size, overwrite=overwrite)
        write_map(paths["angles"], self.angle_map, pixel_size=self.pixel_size, overwrite=overwrite)
        self.angles.write(paths["angle_list"], order=angles_order, overwrite=overwrite)
        with atomic_path(paths["truth"], overwrite=overwrite) as tmp:
            self.truth.data.to_csv(tmp, index=False)
        return paths


def _place_centres(
    rng: np.random.Generator, shape: tuple[int, int, int], n: int, min_distance: float, margin: int
) -> np.ndarray:
    """Random integer (z, y, x) centres at least `min_distance` apart, `margin` from the border.

    Dart throwing on a grid of cells `min_distance` wide: a candidate is checked
    against the accepted centres of its 27 neighbouring cells.
    """
    lo = np.array([margin] * 3)
    hi = np.array(shape) - margin
    if np.any(hi <= lo):
        raise ValueError(f"map of shape {shape} is too small for a margin of {margin}")
    cell = max(float(min_distance), 1.0)
    grid: dict[tuple[int, int, int], list[np.ndarray]] = {}
    accepted: list[np.ndarray] = []
    offsets = [(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)]
    min_d2 = float(min_distance) ** 2
    for _ in range(200):
        for point in rng.integers(lo, hi, size=(max(64, 4 * (n - len(accepted))), 3)):
            key = tuple(int(v) for v in point // cell)
            near = [
                q
                for dz, dy, dx in offsets
                for q in grid.get((key[0] + dz, key[1] + dy, key[2] + dx), ())
            ]
            if near and np.min(np.sum((np.array(near) - point) ** 2, axis=1)) < min_d2:
                continue
            grid.setdefault(key, []).append(point)
            accepted.append(point)
            if len(accepted) == n:
                return np.array(accepted, dtype=np.int64)
    raise ValueError(f"could not place {n} peaks {min_distance} voxels apart in a map of shape {shape}")


def make_scene(
    shape: tuple[int, int, int] = (64, 64, 64),
    n_peaks: int = 20,
    n_angles: int = 100,
    seed: int = 0,
    peak_height: tuple[float, float] = (0.25, 0.6),
    peak_width: tuple[float, float] = (1.0, 2.0),
    z_elongation: float = 1.3,
    noise_std: float = 0.03,
    noise_correlation: float = 1.0,
    min_distance: float = 16.0,
    index_base: int = 0,
    pixel_size: float = 10.0,
) -> SyntheticScene:
    """Synthesise a template-matching result with planted peaks.

    Parameters
    ----------
    shape : tuple of int
        ``(nz, ny, nx)`` of the maps.
    n_peaks : int
        Number of planted particles.
    n_angles : int
        Length of the angle list (random rotations).
    seed : int
        Seed of the random generator: the same seed gives the same scene.
    peak_height : (float, float)
        Range of peak heights above the background (uniform).
    peak_width : (float, float)
        Range of the peaks' Gaussian sigma in x and y, in voxels.
    z_elongation : float
        The sigma in z is this factor times the sigma in x/y (the missing
        wedge elongates real peaks along z).
    noise_std : float
        Standard deviation of the background after smoothing.
    noise_correlation : float
        Sigma (voxels) of the Gaussian that correlates the noise.
    min_distance : float
        Minimum distance between planted peaks, in voxels.
    index_base : {0, 1}
        Value of the angle map that means the first angle-list row.
    pixel_size : float
        Voxel size in Å.

    Returns
    -------
    SyntheticScene

    Examples
    --------
    >>> scene = make_scene(shape=(32, 40, 48), n_peaks=3, seed=1, min_distance=10)
    >>> scene.scores.shape, len(scene.truth)
    ((32, 40, 48), 3)
    """
    shape = tuple(int(s) for s in shape)
    rng = np.random.default_rng(seed)

    scores = rng.standard_normal(shape, dtype=np.float32)
    if noise_correlation > 0:
        ndimage.gaussian_filter(scores, noise_correlation, output=scores, mode="wrap", truncate=3.0)
    # normalise the smoothed noise to the requested standard deviation (on a sample: cheap)
    sample = scores.reshape(-1)[:: max(1, scores.size // 1_000_000)]
    scores *= np.float32(noise_std / float(sample.std()))

    angle_rows = rng.integers(0, n_angles, size=shape, dtype=np.int32)

    sigma_max = peak_width[1] * max(1.0, z_elongation)
    margin = int(np.ceil(3 * sigma_max)) + 1
    centres = _place_centres(rng, shape, n_peaks, min_distance, margin)
    heights = rng.uniform(*peak_height, size=n_peaks)
    widths = rng.uniform(*peak_width, size=n_peaks)
    rows = rng.integers(0, n_angles, size=n_peaks)

    for (cz, cy, cx), height, width, row in zip(centres, heights, widths, rows):
        sz = width * z_elongation
        rz, ry = int(np.ceil(3 * sz)), int(np.ceil(3 * width))
        z0, z1 = max(cz - rz, 0), min(cz + rz + 1, shape[0])
        y0, y1 = max(cy - ry, 0), min(cy + ry + 1, shape[1])
        x0, x1 = max(cx - ry, 0), min(cx + ry + 1, shape[2])
        zz, yy, xx = np.ogrid[z0 - cz : z1 - cz, y0 - cy : y1 - cy, x0 - cx : x1 - cx]
        r2 = (zz / sz) ** 2 + (yy / width) ** 2 + (xx / width) ** 2
        blob = (height * np.exp(-0.5 * r2)).astype(np.float32)
        box = scores[z0:z1, y0:y1, x0:x1]
        # the peak dominates its neighbourhood: the noise there is damped with the blob
        box *= np.float32(1.0) - (blob / np.float32(height)) * np.float32(0.9)
        box += blob
        # around the peak (within ~2 sigma), the angle map holds the peak's angle
        angle_rows[z0:z1, y0:y1, x0:x1][r2 <= 4.0] = row

    angles = AngleList(
        Rotation.random(n_angles, random_state=np.random.RandomState(seed)).as_euler("zxz", degrees=True),
        index_base=index_base,
    )
    angle_map = (angle_rows + index_base).astype(np.float32)

    zyx = centres
    truth = ParticleList.from_arrays(
        zyx[:, ::-1].astype(float),
        orientations=angles.angles[rows],
        scores=scores[zyx[:, 0], zyx[:, 1], zyx[:, 2]].astype(np.float64),
        pixel_size=pixel_size,
        tomogram_shape=shape,
    )
    truth.data["angle_row"] = rows
    truth.data["peak_width"] = widths
    return SyntheticScene(
        scores=scores,
        angle_map=angle_map,
        angles=angles,
        truth=truth,
        pixel_size=pixel_size,
        noise_std=noise_std,
    )
