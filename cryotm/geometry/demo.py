"""A simple tilt-series alignment (and gold beads) for a synthetic scene, so ``cryotm project`` and the
geometric filters have something to run on in ``cryotm demo``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..particles import ParticleList
from .alignment import TiltSeriesAlignment, make_projection_model
from .relion5 import write_relion5_tilt_series, write_relion5_tomograms

__all__ = ["demo_alignment", "write_demo_geometry"]


def demo_alignment(
    shape: tuple[int, int, int],
    pixel_size: float,
    name: str,
    binning: int = 4,
    tilt_axis: float = 85.0,
    seed: int = 0,
) -> TiltSeriesAlignment:
    """A dose-symmetric-looking tilt series of -60..60 degrees every 3, tilt axis `tilt_axis`, small shifts.

    The tomogram of `shape` voxels (``pixel_size`` Å) is a bin-`binning`
    reconstruction of tilt images as large as its x, y extent.

    Examples
    --------
    >>> ali = demo_alignment((48, 64, 64), 10.0, "scores")
    >>> len(ali), ali.pixel_size, ali.tomogram_shape, ali.tilt_image_shape
    (41, 2.5, (192, 256, 256), (256, 256))
    """
    rng = np.random.default_rng(seed)
    tilts = np.arange(-60.0, 60.1, 3.0)
    model = make_projection_model(
        tilts, rotation_z=tilt_axis, dx=rng.normal(0, 3, len(tilts)), dy=rng.normal(0, 3, len(tilts)),
        experiment_id=name, pixel_spacing=pixel_size / binning,
    )
    nz, ny, nx = (int(n) * binning for n in shape)
    return TiltSeriesAlignment(model, tilt_image_shape=(ny, nx), tomogram_shape=(nz, ny, nx), name=name,
                               program="relion5")


def write_demo_geometry(
    directory: str | os.PathLike, truth: ParticleList, shape: tuple[int, int, int], pixel_size: float, name: str,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write ``tomograms.star`` + ``tilt_series/<name>.star`` (RELION 5) and ``beads.csv`` (3 beads).

    Two beads sit 2 voxels above planted particles (their shadows fall on them in
    most tilts); the third is in a corner.
    """
    directory = Path(directory)
    (directory / "tilt_series").mkdir(parents=True, exist_ok=True)
    alignment = demo_alignment(shape, pixel_size, name)
    star = directory / "tilt_series" / f"{name}.star"
    write_relion5_tilt_series(alignment, star, overwrite=overwrite)
    tomograms = directory / "tomograms.star"
    write_relion5_tomograms({name: alignment}, {name: f"tilt_series/{name}.star"}, tomograms, overwrite=overwrite)
    from ..formats import write_particles

    near = truth.positions[:2] + np.array([0.0, 0.0, 2.0])
    corner = np.array([[2.0, 2.0, 2.0]])
    beads = ParticleList.from_arrays(np.vstack([near, corner]), pixel_size=pixel_size, tomogram_shape=shape)
    beads_path = directory / "beads.csv"
    write_particles(beads, beads_path, format="table", overwrite=overwrite)
    return {"tomograms": tomograms, "tilt_series": star, "beads": beads_path}
