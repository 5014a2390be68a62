"""A tilt-series alignment: a cryotypes ProjectionModel and the sizes it needs.

The projection model is the one of :mod:`cryotypes.projectionmodel` (one row
per tilt image, columns ``rotation_x``, ``rotation_y``, ``rotation_z``,
``dx``, ``dy``, ``experiment_id``, ``pixel_spacing``): a point ``p`` (x, y, z
in tilt-series pixels, 0-based, origin at the centre of the first voxel) of a
tomogram of size ``(nx, ny, nz)`` lands in the tilt image at::

    s2 @ s1 @ Rz(rotation_z) @ Ry(rotation_y) @ Rx(rotation_x) @ s0 @ p

with ``s0`` the shift by ``-(nx // 2, ny // 2, nz // 2)`` (the specimen's
centre of rotation), extrinsic rotations about x, then y, then z, projection
along z, ``s1`` the shift by ``(dx, dy)`` in tilt-image pixels and ``s2`` the
shift to the tilt image's centre ``(width // 2, height // 2)``. This is
:func:`cryotypes.projectionmodel.projection_model_to_projection_matrices`,
which cryotm calls; RELION 5 (``Tomogram::setProjectionMatrix``) builds the
very same matrices from ``rlnTomoXTilt``, ``rlnTomoYTilt``, ``rlnTomoZRot``
and ``rlnTomoX/YShiftAngst``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from .._lazy import lazy_module
from ..errors import InputError

pd = lazy_module("pandas")
# cryotypes.projectionmodel imports pandas: it is imported inside the functions that use it

__all__ = ["TiltSeriesAlignment", "make_projection_model"]


def make_projection_model(
    rotation_y: Sequence[float],
    rotation_z: Sequence[float] | float = 0.0,
    rotation_x: Sequence[float] | float = 0.0,
    dx: Sequence[float] | float = 0.0,
    dy: Sequence[float] | float = 0.0,
    experiment_id: str = "",
    pixel_spacing: float = 1.0,
    source: str = "",
) -> pd.DataFrame:
    """A cryotypes ProjectionModel DataFrame, one row per tilt image.

    Parameters
    ----------
    rotation_y : sequence of float
        Tilt angles in degrees (the rotation about the y axis).
    rotation_z, rotation_x : float or sequence of float
        In-plane rotation and x-axis tilt in degrees (one value for all tilts, or one per tilt).
    dx, dy : float or sequence of float
        Shifts in the camera plane, in tilt-image pixels.
    experiment_id : str
        Name of the tilt series / tomogram.
    pixel_spacing : float
        Å per tilt-image pixel.
    source : str
        The file the alignment came from.

    Examples
    --------
    >>> make_projection_model([-3, 0, 3], rotation_z=85.0)[["rotation_y", "rotation_z"]].to_numpy()
    array([[-3., 85.],
           [ 0., 85.],
           [ 3., 85.]])
    """
    from cryotypes.projectionmodel import ProjectionModelDataLabels as PMDL

    tilts = np.asarray(rotation_y, dtype=np.float64).reshape(-1)
    n = len(tilts)

    def column(value: Any, name: str) -> np.ndarray:
        array = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)) if np.ndim(value) == 0 else np.asarray(
            value, dtype=np.float64
        ).reshape(-1)
        if len(array) != n:
            raise InputError(f"{name} has {len(array)} values for {n} tilt images", source or None)
        return np.array(array, dtype=np.float64)

    frame = pd.DataFrame(
        {
            PMDL.ROTATION_X: column(rotation_x, "rotation_x"),
            PMDL.ROTATION_Y: tilts,
            PMDL.ROTATION_Z: column(rotation_z, "rotation_z"),
            PMDL.SHIFT_X: column(dx, "dx"),
            PMDL.SHIFT_Y: column(dy, "dy"),
        }
    )
    frame[PMDL.EXPERIMENT_ID] = str(experiment_id)
    frame[PMDL.PIXEL_SPACING] = float(pixel_spacing)
    frame[PMDL.SOURCE] = str(source)
    bad = ~np.isfinite(frame[PMDL.ROTATION + PMDL.SHIFT].to_numpy()).all(axis=1)
    if bad.any():
        raise InputError(f"tilt {int(np.flatnonzero(bad)[0])} of the alignment holds NaN or inf", source or None)
    return frame


def _shape(value: Any, size: int, what: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    shape = tuple(int(round(float(v))) for v in value)
    if len(shape) != size or min(shape) < 1:
        raise InputError(f"{what} must be {size} positive sizes, got {value}")
    return shape


@attrs.frozen
class TiltSeriesAlignment:
    """A tilt-series alignment read from a file: the projection model and the sizes it refers to.

    Parameters
    ----------
    model : pandas.DataFrame
        A cryotypes ProjectionModel (see :func:`make_projection_model`); the
        shifts ``dx, dy`` are in tilt-image pixels of ``pixel_spacing`` Å.
    tilt_image_shape : (ny, nx), optional
        Size of the tilt images in pixels (``None``: not stated by the file).
    tomogram_shape : (nz, ny, nx), optional
        Size of the tomogram in tilt-series pixels (unbinned), as the program
        reconstructed it (``None``: not stated).
    tilt_angles : array, optional
        The tilt angles as the file states them (default: ``rotation_y``).
    name : str
        The tilt series' name (RELION's ``rlnTomoName``).
    source : str
        The file it was read from.
    program : str
        Which reader made it (``relion5``, ``imod``, ``aretomo``, ``warp``).
    notes : tuple of str
        What the reader had to assume (shown by ``cryotm project``).
    """

    model: pd.DataFrame = attrs.field(eq=False)
    tilt_image_shape: tuple[int, int] | None = attrs.field(
        default=None, converter=lambda v: _shape(v, 2, "tilt_image_shape")
    )
    tomogram_shape: tuple[int, int, int] | None = attrs.field(
        default=None, converter=lambda v: _shape(v, 3, "tomogram_shape")
    )
    tilt_angles: np.ndarray | None = attrs.field(default=None, eq=False)
    name: str = ""
    source: str = ""
    program: str = ""
    notes: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        from cryotypes.projectionmodel import ProjectionModelDataLabels as PMDL

        missing = [c for c in (*PMDL.ROTATION, *PMDL.SHIFT) if c not in self.model.columns]
        if missing:
            raise InputError(f"projection model lacks column(s) {', '.join(missing)}", self.source or None)
        if len(self.model) == 0:
            raise InputError("the alignment has no tilt images", self.source or None)

    # -- views --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.model)

    @property
    def pixel_size(self) -> float:
        """Å per tilt-image pixel (the model's ``pixel_spacing``; 1 when it has none)."""
        from cryotypes.projectionmodel import ProjectionModelDataLabels as PMDL

        if PMDL.PIXEL_SPACING in self.model.columns:
            value = float(self.model[PMDL.PIXEL_SPACING].iloc[0])
            if value > 0:
                return value
        return 1.0

    @property
    def angles(self) -> np.ndarray:
        """The tilt angle of each tilt image in degrees (as written in the file)."""
        from cryotypes.projectionmodel import ProjectionModelDataLabels as PMDL

        if self.tilt_angles is not None:
            return np.asarray(self.tilt_angles, dtype=np.float64)
        return self.model[PMDL.ROTATION_Y].to_numpy(dtype=np.float64)

    def evolve(self, **changes: Any) -> TiltSeriesAlignment:
        """A copy with some attributes changed (``tilt_image_shape=``, ``tomogram_shape=``, ...)."""
        return attrs.evolve(self, **changes)

    def projection_matrices(
        self,
        tomogram_shape: Sequence[int] | None = None,
        tilt_image_shape: Sequence[int] | None = None,
    ) -> np.ndarray:
        """The (n_tilts, 4, 4) projection matrices of cryotypes for a tomogram of `tomogram_shape`.

        Parameters
        ----------
        tomogram_shape : (nz, ny, nx), optional
            In tilt-series pixels; default the alignment's own.
        tilt_image_shape : (ny, nx), optional
            Default the alignment's own.

        Raises
        ------
        InputError
            If a shape is neither given nor known from the file.
        """
        from cryotypes.projectionmodel import projection_model_to_projection_matrices

        nz, ny, nx = self._tomogram_shape(tomogram_shape)
        height, width = self._tilt_image_shape(tilt_image_shape)
        matrices = projection_model_to_projection_matrices(
            self.model, tilt_image_center=(width // 2, height // 2), tomogram_dimensions=(nx, ny, nz)
        )
        return np.asarray(matrices, dtype=np.float64).reshape(-1, 4, 4)

    def _tomogram_shape(self, shape: Sequence[int] | None) -> tuple[int, int, int]:
        result = _shape(shape, 3, "tomogram_shape") if shape is not None else self.tomogram_shape
        if result is None:
            raise InputError(
                "the alignment does not state the tomogram's size: give it (--tomogram-shape Z Y X / "
                "tomogram_shape=(nz, ny, nx))",
                self.source or None,
            )
        return result  # type: ignore[return-value]

    def _tilt_image_shape(self, shape: Sequence[int] | None) -> tuple[int, int]:
        result = _shape(shape, 2, "tilt_image_shape") if shape is not None else self.tilt_image_shape
        if result is None:
            raise InputError(
                "the alignment does not state the tilt images' size: give it (--tilt-image-shape NY NX / "
                "tilt_image_shape=(ny, nx))",
                self.source or None,
            )
        return result  # type: ignore[return-value]

    def __repr__(self) -> str:
        return (
            f"TiltSeriesAlignment({self.name!r}, {len(self)} tilts, {self.program or 'model'}, "
            f"pixel_size={self.pixel_size:g}, tilt_image_shape={self.tilt_image_shape}, "
            f"tomogram_shape={self.tomogram_shape})"
        )


def source_label(path: str | os.PathLike | None) -> str:
    """``str(path)`` or ``''``."""
    return "" if path is None else os.fspath(path)
