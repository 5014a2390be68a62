"""Maps as small attrs classes: scores, angle indices and masks.

Each map holds its voxels exactly as mrcfile returns them, ``data[z, y, x]``
(never transposed), its pixel size in Å, an experiment id and the file it
came from. They satisfy the cryotypes ``Tomogram`` protocol (``data``,
``experiment_id``, ``pixel_spacing``), so they can be handed to any tool that
speaks cryotypes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import attrs
import numpy as np

from ..errors import InputError, format_source
from ._access import check_finite, values_at, whole_indices
from .formats import read_map, write_map

__all__ = ["Volume", "ScoresMap", "AngleMap", "MaskMap"]

V = TypeVar("V", bound="Volume")


def _as_3d(data: Any, source: str | None) -> np.ndarray:
    if not isinstance(data, np.ndarray):
        data = np.asarray(data)
    if data.ndim != 3:
        raise InputError(f"expected a 3D map, got {data.ndim}D of shape {data.shape}", source)
    return data


def _experiment_id_from(source: str | os.PathLike | None) -> str:
    if source is None:
        return ""
    return Path(source).name.split(".")[0]


@attrs.define(eq=False, repr=False)
class Volume:
    """A 3D map with its metadata (base of :class:`ScoresMap`, :class:`AngleMap`, :class:`MaskMap`).

    Parameters
    ----------
    data : ndarray, shape (nz, ny, nx)
        The voxels, indexed ``data[z, y, x]`` (possibly a read-only memmap).
    pixel_size : float, optional
        Voxel size in Å, or None when unknown.
    experiment_id : str
        Identifier of the tomogram (defaults to the file name without extension).
    source : str, optional
        The file the data were read from, used in error messages.
    """

    data: np.ndarray
    pixel_size: float | None = attrs.field(default=None, kw_only=True)
    experiment_id: str = attrs.field(default="", kw_only=True)
    source: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        self.data = _as_3d(self.data, self.source)
        if self.pixel_size is not None:
            self.pixel_size = float(self.pixel_size)
            if not np.isfinite(self.pixel_size) or self.pixel_size <= 0:
                raise InputError(f"pixel size must be positive, got {self.pixel_size}", self.source)
        self.validate()

    def validate(self) -> None:
        """Check the voxels (subclasses add their rules); raise :class:`InputError`."""

    # -- cryotypes Tomogram protocol -------------------------------------------------
    @property
    def pixel_spacing(self) -> float | None:
        """Isotropic voxel spacing in Å (the cryotypes name of :attr:`pixel_size`)."""
        return self.pixel_size

    @property
    def stack(self) -> bool:
        """Always False: a map is one 3D image, not a stack (cryotypes ``Image`` field)."""
        return False

    # -- conveniences ------------------------------------------------------------------
    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(shape={self.shape}, dtype={self.data.dtype}, "
            f"pixel_size={self.pixel_size}, experiment_id={self.experiment_id!r}, source={self.source!r})"
        )

    @property
    def shape(self) -> tuple[int, int, int]:
        """The map's shape, ``(nz, ny, nx)``."""
        return tuple(self.data.shape)  # type: ignore[return-value]

    @property
    def label(self) -> str:
        """Where the map came from, for messages (file path or ``<array>``)."""
        return format_source(self.source)

    @classmethod
    def read(
        cls: type[V],
        path: str | os.PathLike,
        mmap: bool = False,
        pixel_size: float | None = None,
        experiment_id: str | None = None,
    ) -> V:
        """Read a map from an MRC (``.mrc``, ``.rec``, ``.map``, ...) or EM file.

        Parameters
        ----------
        path : str or path-like
            The file.
        mmap : bool
            Memory-map instead of reading (read-only; large maps are not copied).
        pixel_size : float, optional
            Override the header's voxel size (Å).
        experiment_id : str, optional
            Tomogram identifier; defaults to the file name without extension.
        """
        data, header_pixel = read_map(path, mmap=mmap)
        return cls(
            data,
            pixel_size=pixel_size if pixel_size is not None else header_pixel,
            experiment_id=experiment_id if experiment_id is not None else _experiment_id_from(path),
            source=os.fspath(path),
        )

    @classmethod
    def from_array(
        cls: type[V],
        data: Any,
        pixel_size: float | None = None,
        experiment_id: str = "",
    ) -> V:
        """Wrap an array indexed ``[z, y, x]`` (not copied)."""
        return cls(np.asarray(data), pixel_size=pixel_size, experiment_id=experiment_id)

    @classmethod
    def coerce(cls: type[V], value: Any, mmap: bool = False) -> V:
        """Return `value` as this map type: a map of this type, a path, or an array."""
        if isinstance(value, cls):
            return value
        if isinstance(value, Volume):
            return cls(
                value.data,
                pixel_size=value.pixel_size,
                experiment_id=value.experiment_id,
                source=value.source,
            )
        if isinstance(value, (str, os.PathLike)):
            return cls.read(value, mmap=mmap)
        return cls.from_array(value)

    def write(self, path: str | os.PathLike, overwrite: bool = False) -> None:
        """Write the map with its pixel size (format from the extension), atomically."""
        write_map(path, self.data, pixel_size=self.pixel_size, overwrite=overwrite)

    def check_same_shape(self, other: Volume, what: str = "map") -> None:
        """Raise :class:`InputError` if `other` does not have this map's shape."""
        if other.shape != self.shape:
            raise InputError(
                f"{what} has shape {other.shape} (z, y, x) but {self.label} has {self.shape}",
                other.source,
            )


@attrs.define(eq=False, repr=False)
class ScoresMap(Volume):
    """The best cross-correlation score per voxel, from template matching.

    Non-finite scores (NaN, inf) are rejected on construction.
    """

    def validate(self) -> None:
        if self.data.dtype.kind not in "fiub":
            raise InputError(f"scores map has non-numeric dtype {self.data.dtype}", self.source)
        check_finite(self.data, self.source, "scores map")


@attrs.define(eq=False, repr=False)
class AngleMap(Volume):
    """Per voxel, the index of the best angle in the angle list.

    The index base (0 for GAPSTOP(TM) and pytom, 1 for STOPGAP) is a property
    of the :class:`~cryotm.angles.AngleList`'s use, given as ``index_base``
    where the map is read. Values are checked where they are used (only the
    picked voxels are ever read from a memory-mapped angle map).
    """

    def validate(self) -> None:
        if self.data.dtype.kind not in "fiu":
            raise InputError(f"angle map has non-numeric dtype {self.data.dtype}", self.source)

    def indices_at(self, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Return the integer angle indices stored at voxels ``(z, y, x)``.

        Only those voxels are read from a memory-mapped file (see
        :func:`cryotm.maps._access.values_at`).

        Raises
        ------
        InputError
            If a value there is not a whole number (an angle map must hold indices).
        """
        return whole_indices(values_at(self.data, z, y, x), self.source, (z, y, x))


@attrs.define(eq=False, repr=False)
class MaskMap(Volume):
    """A binary or soft mask (tomogram mask, template mask); nonzero means 'inside'."""

    def validate(self) -> None:
        if self.data.dtype.kind not in "fiub":
            raise InputError(f"mask has non-numeric dtype {self.data.dtype}", self.source)
        check_finite(self.data, self.source, "mask")

    def is_binary(self) -> bool:
        """True if every voxel is 0 or 1."""
        return bool(np.isin(np.unique(self.data), (0, 1)).all())

    def as_bool(self) -> np.ndarray:
        """The mask as a boolean array (nonzero voxels are inside)."""
        return np.asarray(self.data) != 0
