"""Particles projected into the tilt images of an aligned tilt series.

:func:`project_points` applies the cryotypes projection matrices of a
:class:`~cryotm.geometry.TiltSeriesAlignment` to 3D points given in
tilt-series pixels; :func:`project_particles` does it for a
:class:`~cryotm.particles.ParticleList` (positions plus shifts, in voxels of
the list's pixel size, scaled to the alignment's tilt-series pixels about the
tomogram centres ``n / 2`` as RELION does) and returns one row per particle
and tilt: particle, tilt index, tilt angle, x, y in tilt-image pixels (0-based,
origin at the centre of the first pixel) and whether the point lies inside
the tilt image with a margin.

A point is *inside* when ``margin - 0.5 <= x <= width - 0.5 - margin`` and
likewise for y: the image covers ``[-0.5, width - 0.5]`` in these coordinates.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .._lazy import lazy_module
from ..errors import InputError
from .alignment import TiltSeriesAlignment

pd = lazy_module("pandas")

__all__ = [
    "project_points",
    "inside_image",
    "project_particles",
    "particle_scale",
    "alignment_for",
    "PROJECTION_COLUMNS",
]

#: Columns of the table :func:`project_particles` returns (and ``cryotm project`` writes).
PROJECTION_COLUMNS: tuple[str, ...] = ("particle", "tomo_name", "tilt_index", "tilt_angle", "x", "y", "inside")

ProgressCallback = Callable[[int, int], None]


def project_points(
    points_xyz: Any,
    alignment: TiltSeriesAlignment,
    tomogram_shape: Sequence[int] | None = None,
    tilt_image_shape: Sequence[int] | None = None,
) -> np.ndarray:
    """Project 3D points into every tilt image.

    Parameters
    ----------
    points_xyz : array_like, shape (N, 3)
        x, y, z in tilt-series pixels, 0-based (the tomogram at the alignment's pixel size).
    alignment : TiltSeriesAlignment
        The projection model.
    tomogram_shape : (nz, ny, nx), optional
        In tilt-series pixels; default the alignment's.
    tilt_image_shape : (ny, nx), optional
        Default the alignment's.

    Returns
    -------
    ndarray, shape (N, n_tilts, 2)
        x, y of each point in each tilt image, in pixels.

    Examples
    --------
    A point at the centre of the tomogram stays at the centre of an untilted, unshifted image:

    >>> from cryotm.geometry import TiltSeriesAlignment, make_projection_model
    >>> ali = TiltSeriesAlignment(make_projection_model([0.0, 30.0]), tilt_image_shape=(64, 64),
    ...                           tomogram_shape=(20, 64, 64))
    >>> project_points([[32, 32, 10], [32, 32, 20]], ali).round(3).tolist()
    [[[32.0, 32.0], [32.0, 32.0]], [[32.0, 32.0], [37.0, 32.0]]]
    """
    points = np.asarray(points_xyz, dtype=np.float64).reshape(-1, 3)
    matrices = alignment.projection_matrices(tomogram_shape, tilt_image_shape)
    homogeneous = np.concatenate([points, np.ones((len(points), 1))], axis=1)
    return np.einsum("tij,nj->nti", matrices[:, :2, :], homogeneous)


def inside_image(xy: np.ndarray, tilt_image_shape: Sequence[int], margin: float = 0.0) -> np.ndarray:
    """True where ``xy[..., 0:2]`` lies inside an image of `tilt_image_shape` (ny, nx) with `margin` pixels.

    Examples
    --------
    >>> inside_image(np.array([[0.0, 0.0], [9.6, 5.0], [5.0, 5.0]]), (10, 10), margin=1.0).tolist()
    [False, False, True]
    """
    height, width = (float(v) for v in tilt_image_shape)
    x, y = xy[..., 0], xy[..., 1]
    low = margin - 0.5
    return (x >= low) & (x <= width - 0.5 - margin) & (y >= low) & (y <= height - 0.5 - margin)


def particle_scale(
    pixel_size: float | None,
    shape: Sequence[int] | None,
    alignment: TiltSeriesAlignment,
    source: str | None = None,
) -> tuple[float, tuple[int, int, int] | None]:
    """(tilt-series pixels per particle voxel, the tomogram's shape in tilt-series pixels).

    With a pixel size the scale is ``pixel_size / alignment.pixel_size``;
    without one it is the ratio of the two tomogram shapes (a binned tomogram),
    else 1.

    Raises
    ------
    InputError
        If the particles' tomogram, scaled, is not the alignment's tomogram
        (a shape mismatch), or its axes scale differently.
    """
    ali_shape = alignment.tomogram_shape
    if pixel_size:
        scale = float(pixel_size) / alignment.pixel_size
    elif shape is not None and ali_shape is not None:
        ratios = np.asarray(ali_shape, float) / np.asarray(shape, float)
        if np.ptp(ratios) > 0.02 * ratios.max():
            raise InputError(
                f"the particles' tomogram {tuple(shape)} (z, y, x) is not a binned copy of the alignment's "
                f"{ali_shape}: shape mismatch (give --tomogram-shape, or --pixel-size)",
                source,
            )
        scale = float(np.median(ratios))
    else:
        scale = 1.0
        if alignment.pixel_size != 1.0:
            warnings.warn(
                f"{source or alignment.source or 'particles'}: the particles state no pixel size; taken at the "
                f"alignment's {alignment.pixel_size:g} Å per pixel (give --pixel-size / pixel_size if they are "
                "binned)",
                stacklevel=3,
            )
    scaled = None if shape is None else tuple(int(round(n * scale)) for n in shape)
    if scaled is not None and ali_shape is not None:
        if any(abs(a - b) > max(1.0, scale) for a, b in zip(scaled, ali_shape)):
            raise InputError(
                f"shape mismatch: the particles' tomogram {tuple(shape)} (z, y, x) at {pixel_size or '?'} Å "
                f"is {scaled} tilt-series pixels, the alignment's tomogram is {ali_shape} at "
                f"{alignment.pixel_size:g} Å (check --tomogram-shape and --pixel-size)",
                source,
            )
    return scale, ali_shape if ali_shape is not None else scaled  # type: ignore[return-value]


def _named(particles: Any) -> np.ndarray | None:
    """Per-particle tomogram names if the list has real names (not only tomo_id numbers)."""
    if "tomo_name" in particles.data.columns or particles.experiment_id:
        return particles.tomogram_names()
    return None


def alignment_for(
    name: str | None,
    alignments: TiltSeriesAlignment | Mapping[str, TiltSeriesAlignment],
    source: str | None = None,
) -> TiltSeriesAlignment:
    """The alignment of tomogram `name` (None: the particles carry no name).

    Raises
    ------
    InputError
        An alignment of another tomogram, or a tomogram the alignments lack.
    """
    if isinstance(alignments, TiltSeriesAlignment):
        if name is None or not alignments.name or str(name) == alignments.name:
            return alignments
        raise InputError(
            f"the particles are of tomogram {name!r} but this is the alignment of {alignments.name!r} "
            "(an alignment of another tomogram; give the right file, or tomo_name= / --tomo-name to "
            "override the particles' name)",
            source or alignments.source or None,
        )
    if name is None:
        if len(alignments) == 1:
            return next(iter(alignments.values()))
        raise InputError(
            f"the alignment file holds {len(alignments)} tilt series ({', '.join(list(alignments)[:4])}"
            f"{', ...' if len(alignments) > 4 else ''}) and the particles name none: choose one (--tomo-name)",
            source,
        )
    try:
        return alignments[str(name)]
    except KeyError:
        known = ", ".join(list(alignments)[:6])
        raise InputError(
            f"no tilt series {name!r} in this alignment file (it has {known}{', ...' if len(alignments) > 6 else ''}): "
            "an alignment of another tomogram?",
            source,
        ) from None


def project_particles(
    particles: Any,
    alignments: TiltSeriesAlignment | Mapping[str, TiltSeriesAlignment],
    tomogram_shape: Sequence[int] | None = None,
    tilt_image_shape: Sequence[int] | None = None,
    margin: float = 0.0,
    tomo_name: str | None = None,
    progress: ProgressCallback | None = None,
    chunk: int = 20000,
) -> pd.DataFrame:
    """Every particle in every tilt image: a table of :data:`PROJECTION_COLUMNS`.

    Parameters
    ----------
    particles : ParticleList
        Positions (+ shifts) in voxels of ``particles.pixel_size`` Å, in a
        tomogram of ``particles.tomogram_shape`` (or `tomogram_shape`).
    alignments : TiltSeriesAlignment or mapping of name to it
        One alignment, or several by tomogram name (a RELION 5 tomograms
        star file); each particle is projected with its tomogram's.
    tomogram_shape : (nz, ny, nx), optional
        The particles' tomogram in their voxels (overrides the list's).
    tilt_image_shape : (ny, nx), optional
        Overrides the alignment's.
    margin : float
        Pixels from the image border within which a point counts as outside.
    tomo_name : str, optional
        The tomogram of every particle (overrides the list's names).
    progress : callable, optional
        ``progress(done, total)`` after each chunk of particles.

    Returns
    -------
    pandas.DataFrame
        One row per particle and tilt, particles in list order, tilts in file order.

    Raises
    ------
    InputError
        An alignment of another tomogram, a shape mismatch, or a size the
        alignment does not state and that is not given.
    """
    shape = tuple(tomogram_shape) if tomogram_shape is not None else particles.tomogram_shape
    n = len(particles)
    if tomo_name is not None:
        names = np.full(n, str(tomo_name), dtype=object)
    else:
        names = _named(particles)
    frames = []
    groups = [(None, np.arange(n))] if names is None else [
        (name, np.flatnonzero(names == name)) for name in dict.fromkeys(names.tolist())
    ]
    positions = particles.positions + particles.shifts
    ids = particles.data["subtomo_id"].to_numpy()
    done = 0
    for name, rows in groups:
        alignment = alignment_for(name, alignments)
        scale, ts_shape = particle_scale(particles.pixel_size, shape, alignment)
        if ts_shape is None:
            raise InputError(
                "neither the particles nor the alignment state the tomogram's size: give --tomogram-shape Z Y X "
                "(tomogram_shape=)",
                alignment.source or None,
            )
        image_shape = tuple(tilt_image_shape) if tilt_image_shape is not None else alignment.tilt_image_shape
        if image_shape is None:
            alignment._tilt_image_shape(None)  # raises the one-line error
        centre_p = None if shape is None else np.asarray(shape[::-1], float) / 2
        centre_t = np.asarray(ts_shape[::-1], float) / 2
        angles = alignment.angles
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            xyz = positions[part]
            xyz_ts = (xyz - centre_p) * scale + centre_t if centre_p is not None else xyz * scale
            xy = project_points(xyz_ts, alignment, ts_shape, image_shape)
            inside = inside_image(xy, image_shape, margin)
            n_tilts = xy.shape[1]
            frames.append(
                pd.DataFrame(
                    {
                        "particle": np.repeat(ids[part], n_tilts),
                        "tomo_name": np.repeat(np.asarray([name or alignment.name] * len(part), dtype=object), n_tilts),
                        "tilt_index": np.tile(np.arange(n_tilts), len(part)),
                        "tilt_angle": np.tile(angles, len(part)),
                        "x": xy[..., 0].reshape(-1),
                        "y": xy[..., 1].reshape(-1),
                        "inside": inside.reshape(-1),
                        "_row": np.repeat(part, n_tilts),
                    }
                )
            )
            done += len(part)
            if progress is not None:
                progress(done, n)
    if not frames:
        kinds = (int, object, int, float, float, float, bool)
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(PROJECTION_COLUMNS, kinds)})
    table = pd.concat(frames, ignore_index=True)
    if len(groups) > 1:  # back to list order (tilts stay in file order within a particle)
        table = table.sort_values("_row", kind="stable").reset_index(drop=True)
    return table[list(PROJECTION_COLUMNS)]
