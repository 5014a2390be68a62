"""Orthogonal slices of the scores map through chosen z, y, x, with the picks drawn on them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import CryotmError
from ..particles import ParticleList
from ._mpl import new_figure

__all__ = ["plot_slices", "default_slice_position", "picks_near"]

#: For each panel: its name, the axis it cuts (x, y, z as 0, 1, 2), and the (horizontal, vertical) axes shown.
PANELS: tuple[tuple[str, int, tuple[int, int]], ...] = (
    ("XY", 2, (0, 1)),
    ("XZ", 1, (0, 2)),
    ("YZ", 0, (1, 2)),
)


def default_slice_position(shape: tuple[int, int, int], particles: ParticleList | None) -> tuple[int, int, int]:
    """(z, y, x) through the best-scoring pick, or the map's centre without picks."""
    if particles is not None and len(particles):
        best = int(np.argmax(particles.scores))
        x, y, z = np.rint(particles.positions[best]).astype(int)
        return tuple(int(np.clip(v, 0, n - 1)) for v, n in zip((z, y, x), shape))  # type: ignore[return-value]
    return tuple(n // 2 for n in shape)  # type: ignore[return-value]


def _checked_position(position: Sequence[int], shape: tuple[int, ...]) -> tuple[int, int, int]:
    """`position` (z, y, x) as whole voxels inside `shape`, else an error naming the bad value."""
    values = tuple(int(v) for v in position)
    if len(values) != 3:
        raise CryotmError(f"a slice position needs three voxels (z, y, x), got {tuple(position)}")
    for axis, value, size in zip("zyx", values, shape):
        if not 0 <= value < size:
            raise CryotmError(f"slice position {axis}={value} is outside the map (0 to {size - 1} along {axis})")
    return values  # type: ignore[return-value]


def picks_near(particles: ParticleList, axis: int, position: int, slab: float) -> np.ndarray:
    """Rows of picks within `slab` voxels of the plane ``coordinate[axis] == position`` (axis 0=x, 1=y, 2=z)."""
    if particles is None or len(particles) == 0:
        return np.zeros(0, dtype=int)
    coordinate = particles.positions[:, axis]
    return np.flatnonzero(np.abs(coordinate - position) <= slab)


def plot_slices(
    scores: np.ndarray,
    particles: ParticleList | None = None,
    position: Sequence[int] | None = None,
    slab: float = 3.0,
    offset: Sequence[float] = (0.0, 0.0, 0.0),
    title: str = "",
):
    """Three orthogonal slices (XY at z, XZ at y, YZ at x) with the picks near each plane.

    Parameters
    ----------
    scores : ndarray
        The scores map, ``[z, y, x]``.
    particles : ParticleList, optional
        Picks (x, y, z in voxels of the tomogram); those within `slab` voxels
        of a plane are drawn on it as circles.
    position : (z, y, x), optional
        Where to cut (default: through the best pick, else the centre);
        0-based voxels inside the map.
    slab : float
        Half-thickness (voxels) of the slab whose picks are drawn.
    offset : (x, y, z)
        Where the map's voxel 0 lies in the tomogram (maps of a sub-region);
        subtracted from the picks' positions.

    Returns
    -------
    matplotlib.figure.Figure
        Three axes titled ``XY z=..``, ``XZ y=..``, ``YZ x=..``; each has one
        scatter (``gid="picks"``) whose offsets are the drawn picks' (horizontal, vertical) voxels.

    Raises
    ------
    CryotmError
        If `position` is not three voxels inside the map.
    """
    data = np.asarray(scores)
    shape = data.shape
    if particles is not None and np.any(np.asarray(offset) != 0):
        moved = particles.data.copy()
        moved[["x", "y", "z"]] = moved[["x", "y", "z"]].to_numpy() - np.asarray(offset, dtype=float)
        particles = particles.with_data(moved)
    z0, y0, x0 = _checked_position(position, shape) if position is not None else default_slice_position(shape, particles)
    cut = {0: x0, 1: y0, 2: z0}
    planes = {
        "XY": np.asarray(data[z0, :, :]),
        "XZ": np.asarray(data[:, y0, :]),
        "YZ": np.asarray(data[:, :, x0]),
    }
    lo, hi = np.percentile(np.concatenate([p.ravel() for p in planes.values()]), [1, 99.9])
    figure = new_figure(figsize=(13, 4.8), layout="constrained")
    axes = figure.subplots(1, 3, width_ratios=[shape[2], shape[2], shape[1]])
    image = None
    for ax, (name, axis, (h, v)) in zip(axes, PANELS):
        image = ax.imshow(planes[name], origin="lower", cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        label = "xyz"[axis]
        ax.set_title(f"{name} {label}={cut[axis]}")
        ax.set_xlabel("xyz"[h])
        ax.set_ylabel("xyz"[v])
        rows = picks_near(particles, axis, cut[axis], slab) if particles is not None else np.zeros(0, int)
        xy = particles.positions[rows][:, [h, v]] if len(rows) else np.empty((0, 2))
        ax.scatter(
            xy[:, 0], xy[:, 1], s=90, facecolors="none", edgecolors="tab:red", linewidths=1.4, gid="picks",
            label=f"{len(rows)} picks within {slab:g} voxels",
        )
        ax.legend(fontsize="x-small", loc="upper right")
    if image is not None:
        figure.colorbar(image, ax=list(axes), shrink=0.8, label="score")
    figure.suptitle(title or "scores map slices with picks")
    return figure
