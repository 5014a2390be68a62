"""Peak-shape profiles through picked peaks, with their Gaussian fits."""

from __future__ import annotations

import numpy as np

from ..errors import CryotmError, InputError
from ..particles import ParticleList
from ..thresholds.gauss import fit_gaussian_profile
from ._mpl import new_figure

__all__ = ["plot_peak_profiles", "profile_windows"]


def profile_windows(data: np.ndarray, zyx: tuple[int, int, int], half_width: int) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """Per axis: (voxel coordinates, profile values, index of the peak in the window) around `zyx`."""
    z, y, x = zyx
    lines = {"x": data[z, y, :], "y": data[z, :, x], "z": data[:, y, x]}
    centre = {"x": x, "y": y, "z": z}
    windows = {}
    for axis, line in lines.items():
        lo = max(0, centre[axis] - half_width)
        hi = min(len(line), centre[axis] + half_width + 1)
        windows[axis] = (np.arange(lo, hi), np.asarray(line[lo:hi], dtype=float), centre[axis] - lo)
    return windows


def plot_peak_profiles(
    scores: np.ndarray,
    particles: ParticleList | None = None,
    n_peaks: int = 3,
    half_width: int = 10,
    offset=(0.0, 0.0, 0.0),
    title: str = "",
):
    """Profiles along x, y and z through the best picks (or the map's maximum), with fitted Gaussians.

    Each profile is a window of ``2 * half_width + 1`` voxels centred on the
    peak; the Gaussian (lmfit, centre within +-1 voxel, as the ``gauss``
    threshold fits) is drawn over it with its sigma and height, or the panel
    says that the fit failed.

    Returns
    -------
    matplotlib.figure.Figure
        One row per peak and one column per axis; each fitted curve is a
        ``Line2D`` with ``gid="fit:<row>:<axis>"`` and each profile ``gid="profile:<row>:<axis>"``.

    Raises
    ------
    CryotmError
        If `n_peaks` is below 1.
    """
    if int(n_peaks) < 1:
        raise CryotmError(f"the number of peaks to draw must be at least 1, got {n_peaks}")
    data = np.asarray(scores)
    if particles is not None and len(particles):
        order = np.argsort(-particles.scores, kind="stable")[:n_peaks]
        xyz = np.rint(particles.positions[order] - np.asarray(offset, dtype=float)).astype(int)
        peaks = [tuple(int(np.clip(v, 0, s - 1)) for v, s in zip(p[::-1], data.shape)) for p in xyz]
    else:
        peaks = [tuple(int(v) for v in np.unravel_index(int(np.argmax(data)), data.shape))]
    figure = new_figure(figsize=(12, 3.2 * len(peaks)), layout="constrained")
    axes = np.atleast_2d(figure.subplots(len(peaks), 3, squeeze=False))
    for row, zyx in enumerate(peaks):
        for col, (axis, (coords, values, at)) in enumerate(profile_windows(data, zyx, half_width).items()):
            ax = axes[row, col]
            ax.plot(coords, values, "o-", ms=3, color="tab:blue", gid=f"profile:{row}:{axis}", label="profile")
            try:
                fit = fit_gaussian_profile(values, at, axis)
            except InputError as exc:
                ax.text(0.02, 0.95, "fit failed", transform=ax.transAxes, va="top", fontsize="small", color="tab:red")
                ax.set_title(f"peak {row + 1} at (x,y,z)={zyx[::-1]}: {axis} (no Gaussian fit)", fontsize="small")
                del exc
            else:
                fine = np.linspace(0, len(values) - 1, 200)
                curve = fit["amplitude"] / (fit["sigma"] * np.sqrt(2 * np.pi)) * np.exp(
                    -0.5 * ((fine - fit["center"]) / fit["sigma"]) ** 2
                )
                ax.plot(
                    coords[0] + fine, curve, color="tab:red", gid=f"fit:{row}:{axis}",
                    label=f"Gaussian: sigma {fit['sigma']:.2f}, height {fit['height']:.3g}",
                )
                ax.set_title(f"peak {row + 1} at (x,y,z)={zyx[::-1]}: {axis}", fontsize="small")
            ax.set_xlabel(f"{axis} (voxels)")
            ax.set_ylabel("score")
            ax.legend(fontsize="x-small", loc="best")
    figure.suptitle(title or "peak shapes: profiles through the best picks")
    return figure
