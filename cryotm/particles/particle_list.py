"""The particle list (a motive list): positions, shifts, orientations, scores and ids."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from .._lazy import lazy_module
from ..angles import euler_to_rotation, rotation_to_euler
from ..errors import InputError

if TYPE_CHECKING:
    from cryotypes.poseset import PoseSet
    from scipy.spatial.transform import Rotation

# pandas is loaded when a list's DataFrame is first asked for: a list made from arrays
# (a pick) and written to a format that needs no DataFrame never loads it
pd = lazy_module("pandas")

__all__ = ["ParticleList", "CORE_COLUMNS", "FINITE_COLUMNS"]

#: The motive-list fields every particle list has, in this order; other columns are kept after them.
CORE_COLUMNS: tuple[str, ...] = (
    "score",
    "subtomo_id",
    "tomo_id",
    "object_id",
    "x",
    "y",
    "z",
    "shift_x",
    "shift_y",
    "shift_z",
    "phi",
    "theta",
    "psi",
    "class",
)
_INT_COLUMNS = ("subtomo_id", "tomo_id", "object_id", "class")
_DEFAULTS = {"score": 0.0, "subtomo_id": 0, "tomo_id": 0, "object_id": 1, "class": 1}
_INT64_LIMIT = 2.0**63
#: Columns that must hold finite numbers in a list read from a file.
FINITE_COLUMNS: tuple[str, ...] = ("x", "y", "z", "shift_x", "shift_y", "shift_z", "phi", "theta", "psi")


class _Columns:
    """The columns of a particle list as numpy arrays, in :data:`CORE_COLUMNS` order and normalised.

    What :meth:`ParticleList.from_arrays` builds: the list's DataFrame is
    made from it (with the same dtypes as :func:`_normalise` gives) the
    first time :attr:`ParticleList.data` is read.
    """

    __slots__ = ("arrays",)

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays

    def __len__(self) -> int:
        return len(self.arrays["score"])

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({name: values.copy() for name, values in self.arrays.items()})


def _is_rotation(value: Any) -> bool:
    """True if `value` is a scipy Rotation (whoever made one has loaded scipy.spatial already)."""
    module = sys.modules.get("scipy.spatial.transform")
    return module is not None and isinstance(value, module.Rotation)


def _normalise(frame: pd.DataFrame | _Columns) -> pd.DataFrame | _Columns:
    if isinstance(frame, _Columns):  # built normalised by from_arrays
        return frame
    frame = frame.copy()
    for column in CORE_COLUMNS:
        if column not in frame.columns:
            frame[column] = _DEFAULTS.get(column, 0.0)
    extras = [c for c in frame.columns if c not in CORE_COLUMNS]
    frame = frame[list(CORE_COLUMNS) + extras].reset_index(drop=True)
    for column in CORE_COLUMNS:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            raise InputError(f"particle column {column!r} holds a non-number: {frame[column][bad].iloc[0]!r}")
        if column in _INT_COLUMNS:
            as_float = values.to_numpy(dtype=np.float64)
            if not np.isfinite(as_float).all():
                raise InputError(f"particle column {column!r} must hold whole numbers, found NaN or inf")
            if len(as_float) and np.abs(as_float).max() >= _INT64_LIMIT:
                raise InputError(
                    f"particle column {column!r} holds {as_float[np.abs(as_float).argmax()]:.0f}, "
                    "beyond the 64-bit integer range"
                )
            frame[column] = np.rint(as_float).astype(np.int64)
        else:
            frame[column] = values.astype(np.float64)
    return frame


def _columns(given: dict[str, Any], n: int) -> _Columns | pd.DataFrame:
    """Normalised columns from float arrays of length `n` and numbers: what :func:`_normalise` makes of them.

    Anything else (a whole-number column given as text, NaN or beyond the
    64-bit range) goes through the DataFrame and :func:`_normalise`, with its messages.
    """
    arrays = {}
    for column in CORE_COLUMNS:
        value = np.asarray(given.get(column, _DEFAULTS.get(column, 0.0)))
        if column in _INT_COLUMNS:  # as _normalise: through float64, rounded
            if value.dtype.kind not in "iufb":
                return pd.DataFrame(given)
            as_float = value.astype(np.float64)
            if not np.isfinite(as_float).all() or (as_float.size and np.abs(as_float).max() >= _INT64_LIMIT):
                return pd.DataFrame(given)
            value = np.rint(as_float).astype(np.int64)
        else:
            value = value.astype(np.float64)
        arrays[column] = np.broadcast_to(value, (n,)).copy()
    return _Columns(arrays)


@attrs.define(eq=False)
class ParticleList:
    """A list of particles in one or more tomograms (cryoCAT's motive list).

    Positions ``x, y, z`` are in voxels, 0-based, with the origin at the centre
    of the first voxel (the cryotypes convention); ``shift_x..z`` are added to
    them. ``phi, theta, psi`` are extrinsic ``zxz`` Euler angles in degrees
    that rotate the reference into the tomogram. Writers convert to each
    format's own conventions.

    Parameters
    ----------
    data : pandas.DataFrame
        The columns of :data:`CORE_COLUMNS` (missing ones are filled with
        defaults) plus any extra columns, which are kept. A list made by
        :meth:`from_arrays` keeps its columns as numpy arrays and makes this
        DataFrame when :attr:`data` is first read (pandas is imported then);
        :meth:`column` and :attr:`column_names` read either without it.
    pixel_size : float, optional
        Voxel size in Å of the tomogram the positions refer to.
    experiment_id : str
        Tomogram name (RELION's ``rlnTomoName``) when all particles come from
        one tomogram; a ``tomo_name`` column overrides it per particle.
    tomogram_shape : tuple of int, optional
        ``(nz, ny, nx)`` of that tomogram (needed for centred coordinates).
    binning : float, optional
        Binning of that tomogram relative to the tilt series (RELION 4/5's
        ``rlnTomoSubtomogramBinning``), kept from the file the list was read from.
    optics : pandas.DataFrame, optional
        RELION optics groups (``data_optics``) as read, so that a RELION list
        is written back with its own groups, voltage, Cs and image size.
    blocks : dict, optional
        Other STAR blocks of the file the list was read from (RELION 5's
        ``data_general``), ``{name: table or dict}``, written back by the
        RELION writers.

    Notes
    -----
    Particles of RELION optics groups with different pixel sizes carry a
    ``pixel_size`` column (Å per voxel of each particle's own positions);
    :attr:`pixel_size` is then None and :meth:`pixel_sizes` gives the
    per-particle values. Other extra columns (the file's own RELION labels,
    ``tomo_name``, ``halfset``, ...) travel with the rows.
    """

    _data: pd.DataFrame | _Columns = attrs.field(converter=_normalise, alias="data")
    pixel_size: float | None = attrs.field(default=None, kw_only=True)
    experiment_id: str = attrs.field(default="", kw_only=True)
    tomogram_shape: tuple[int, int, int] | None = attrs.field(default=None, kw_only=True)
    binning: float | None = attrs.field(default=None, kw_only=True)
    optics: pd.DataFrame | None = attrs.field(default=None, kw_only=True)
    blocks: dict[str, Any] = attrs.field(factory=dict, kw_only=True)

    @property
    def data(self) -> pd.DataFrame:
        """The particles as a DataFrame: :data:`CORE_COLUMNS`, then the extra columns."""
        if isinstance(self._data, _Columns):
            object.__setattr__(self, "_data", self._data.frame())  # normalised already
        return self._data

    @data.setter
    def data(self, frame: pd.DataFrame) -> None:
        self._data = _normalise(frame)

    @property
    def column_names(self) -> list[str]:
        """The names of the list's columns (:data:`CORE_COLUMNS` first), without making its DataFrame."""
        if isinstance(self._data, _Columns):
            return list(self._data.arrays)
        return list(self._data.columns)

    def column(self, name: str) -> np.ndarray:
        """The values of column `name` as a numpy array (without making the list's DataFrame).

        Raises
        ------
        KeyError
            If the list has no such column.

        Examples
        --------
        >>> ParticleList.from_arrays([[1.0, 2.0, 3.0]], scores=[0.5]).column("score")
        array([0.5])
        """
        if isinstance(self._data, _Columns):
            return self._data.arrays[name]
        return self._data[name].to_numpy()

    def _floats(self, names: Iterable[str]) -> np.ndarray:
        """(N, k) float64 values of the columns `names`."""
        names = list(names)
        if isinstance(self._data, _Columns):
            return np.column_stack([self._data.arrays[n] for n in names]).astype(np.float64, copy=False).reshape(
                len(self), len(names))
        return self._data[names].to_numpy(dtype=np.float64)

    # -- construction ------------------------------------------------------------------
    @classmethod
    def empty(cls, **metadata: Any) -> ParticleList:
        """An empty, valid particle list."""
        return cls(pd.DataFrame({c: [] for c in CORE_COLUMNS}), **metadata)

    @classmethod
    def from_arrays(
        cls,
        positions: Any,
        orientations: Rotation | Any | None = None,
        scores: Any = None,
        shifts: Any = None,
        tomo_id: int = 0,
        object_id: int = 1,
        **metadata: Any,
    ) -> ParticleList:
        """Build a list from positions (N, 3; x, y, z, 0-based voxels) and the rest.

        Parameters
        ----------
        positions : array_like, shape (N, 3)
            x, y, z in voxels, 0-based.
        orientations : Rotation or array_like (N, 3), optional
            Rotations, or (phi, theta, psi) extrinsic zxz in degrees.
        scores, shifts : array_like, optional
            Per-particle score; (N, 3) shifts in voxels.
        tomo_id, object_id : int
            Written into every row. ``subtomo_id`` counts from 1.
        """
        positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
        n = len(positions)
        columns: dict[str, Any] = {"x": positions[:, 0], "y": positions[:, 1], "z": positions[:, 2]}
        if shifts is not None:
            shifts = np.asarray(shifts, float).reshape(n, 3)
            columns.update(shift_x=shifts[:, 0], shift_y=shifts[:, 1], shift_z=shifts[:, 2])
        if orientations is not None:
            if _is_rotation(orientations):
                euler = rotation_to_euler(orientations).reshape(n, 3)
            else:
                euler = np.asarray(orientations, float).reshape(n, 3)
            columns.update(phi=euler[:, 0], theta=euler[:, 1], psi=euler[:, 2])
        if scores is not None:
            columns["score"] = np.asarray(scores, float).reshape(n)
        columns.update(subtomo_id=np.arange(1, n + 1), tomo_id=tomo_id, object_id=object_id)
        return cls(_columns(columns, n), **metadata)

    @classmethod
    def from_poseset(cls, poses: PoseSet, tomo_id: int = 0) -> ParticleList:
        """Convert a cryotypes :class:`~cryotypes.poseset.PoseSet`."""
        positions = np.asarray(poses.position, dtype=float).reshape(-1, 3)
        return cls.from_arrays(
            positions,
            orientations=poses.orientation,
            shifts=poses.shift,
            tomo_id=tomo_id,
            pixel_size=poses.pixel_spacing,
            experiment_id=str(poses.experiment_id or ""),
        )

    @classmethod
    def concat(cls, lists: Iterable[ParticleList], renumber: bool = True) -> ParticleList:
        """Join particle lists (for example of many tomograms) into one.

        Each row keeps its tomogram name in a ``tomo_name`` column; with
        `renumber`, ``subtomo_id`` counts from 1 over the joined list.
        """
        lists = list(lists)
        if not lists:
            return cls.empty()
        frames = []
        for plist in lists:
            frame = plist.data.copy()
            if "tomo_name" not in frame.columns:
                frame["tomo_name"] = plist.experiment_id
            frames.append(frame)
        joined = pd.concat(frames, ignore_index=True)
        if renumber:
            joined["subtomo_id"] = np.arange(1, len(joined) + 1)
        sizes = {p.pixel_size for p in lists}
        return cls(joined, pixel_size=sizes.pop() if len(sizes) == 1 else None)

    # -- views -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._data)

    @property
    def positions(self) -> np.ndarray:
        """(N, 3) x, y, z in voxels, 0-based (without shifts)."""
        return self._floats(("x", "y", "z"))

    @property
    def shifts(self) -> np.ndarray:
        """(N, 3) shifts in voxels."""
        return self._floats(("shift_x", "shift_y", "shift_z"))

    @property
    def euler_angles(self) -> np.ndarray:
        """(N, 3) phi, theta, psi in degrees (extrinsic zxz)."""
        return self._floats(("phi", "theta", "psi"))

    @property
    def scores(self) -> np.ndarray:
        """(N,) scores."""
        return self._floats(("score",)).reshape(-1)

    @property
    def orientations(self) -> Rotation:
        """The rotations that turn the reference into each particle's orientation."""
        if len(self) == 0:
            from scipy.spatial.transform import Rotation

            return Rotation.identity(0)
        return euler_to_rotation(self.euler_angles)

    def pixel_sizes(self) -> np.ndarray | None:
        """(N,) pixel size in Å of each particle's positions: the ``pixel_size`` column, else :attr:`pixel_size`.

        None when neither is known.
        """
        if "pixel_size" in self.column_names:
            return pd.to_numeric(self.data["pixel_size"], errors="coerce").to_numpy(dtype=np.float64)
        if self.pixel_size:
            return np.full(len(self), float(self.pixel_size))
        return None

    def check_finite(self, source: str | Path | None = None) -> None:
        """Raise :class:`InputError` naming the first particle whose position, shift or angle is NaN or inf."""
        values = self._floats(FINITE_COLUMNS)
        bad = ~np.isfinite(values)
        if bad.any():
            row, col = (int(v[0]) for v in np.nonzero(bad))
            raise InputError(
                f"particle {row + 1} has {FINITE_COLUMNS[col]} = {values[row, col]}: positions, shifts and "
                "angles must be finite numbers",
                source,
            )

    def tomogram_names(self) -> np.ndarray:
        """Per-particle tomogram name: the ``tomo_name`` column, else the experiment id, else tomo_id."""
        if "tomo_name" in self.column_names:
            return self.data["tomo_name"].astype(str).to_numpy()
        if self.experiment_id:
            return np.full(len(self), self.experiment_id, dtype=object)
        return self.column("tomo_id").astype(str).astype(object)

    def to_poseset(self) -> PoseSet:
        """Convert to a cryotypes PoseSet (positions x, y, z; shifts; orientations)."""
        from cryotypes.poseset import PoseSet

        return PoseSet(
            position=self.positions,
            shift=self.shifts,
            orientation=self.orientations,
            experiment_id=self.experiment_id,
            pixel_spacing=self.pixel_size if self.pixel_size is not None else 1.0,
            source="cryotm",
        )

    # -- changes -----------------------------------------------------------------------
    def copy(self) -> ParticleList:
        """A deep copy."""
        return attrs.evolve(self, data=self.data.copy())

    def with_data(self, data: pd.DataFrame) -> ParticleList:
        """The same metadata with other rows."""
        return attrs.evolve(self, data=data)

    def rescaled(self, pixel_size: float) -> ParticleList:
        """The list with positions and shifts in voxels of `pixel_size` Å (each particle from its own pixel size).

        Raises
        ------
        InputError
            If the list has no pixel size to scale from.

        Examples
        --------
        >>> plist = ParticleList.from_arrays([[10.0, 20.0, 30.0]], pixel_size=10.0)
        >>> plist.rescaled(5.0).positions.tolist(), plist.rescaled(5.0).pixel_size
        ([[20.0, 40.0, 60.0]], 5.0)
        """
        own = self.pixel_sizes()
        if own is None:
            raise InputError("the particle list has no pixel size to rescale from")
        scale = own / float(pixel_size)
        data = self.data.drop(columns="pixel_size") if "pixel_size" in self.data.columns else self.data.copy()
        for column in ("x", "y", "z", "shift_x", "shift_y", "shift_z"):
            data[column] = data[column].to_numpy(dtype=np.float64) * scale
        shape = self.tomogram_shape
        if shape is not None and len(set(scale.tolist())) == 1:
            shape = tuple(int(round(n * float(scale[0]))) for n in shape)
        elif shape is not None:
            shape = None
        return attrs.evolve(self, data=data, pixel_size=float(pixel_size), tomogram_shape=shape)

    def renumber(self, start: int = 1) -> ParticleList:
        """Set ``subtomo_id`` to start, start + 1, ... in row order."""
        data = self.data.copy()
        data["subtomo_id"] = np.arange(start, start + len(data))
        return self.with_data(data)

    def check_columns(self, columns: Iterable[str], source: str | Path | None = None) -> None:
        """Raise :class:`InputError` if any of `columns` is missing."""
        present = set(self.column_names)
        missing = [c for c in columns if c not in present]
        if missing:
            raise InputError(f"particle list lacks column(s) {', '.join(missing)}", source)

    def __repr__(self) -> str:
        return (
            f"ParticleList({len(self)} particles, experiment_id={self.experiment_id!r}, "
            f"pixel_size={self.pixel_size})"
        )

    # -- tilt-series geometry ----------------------------------------------------------
    def project(
        self,
        model: Any,
        tomogram_shape: tuple[int, int, int] | None = None,
        tilt_image_shape: tuple[int, int] | None = None,
        margin: float = 0.0,
    ) -> pd.DataFrame:
        """Each particle's position in each tilt image (see :func:`cryotm.geometry.project_particles`).

        Parameters
        ----------
        model : TiltSeriesAlignment, mapping of name to it, or a path
            The tilt-series alignment (a file is read with :func:`cryotm.geometry.read_alignments`).
        tomogram_shape : (nz, ny, nx), optional
            The particles' tomogram in their voxels (default: the list's).
        tilt_image_shape : (ny, nx), optional
            Default: the alignment's.
        margin : float
            Pixels from the border within which a point counts as outside.

        Returns
        -------
        pandas.DataFrame
            ``particle, tomo_name, tilt_index, tilt_angle, x, y, inside``.
        """
        from ..geometry import TiltSeriesAlignment, project_particles, read_alignments

        if isinstance(model, (str, Path)):
            model = read_alignments(model)
        elif "pandas" in sys.modules and isinstance(model, pd.DataFrame):
            model = TiltSeriesAlignment(model, tilt_image_shape=tilt_image_shape)
        return project_particles(self, model, tomogram_shape=tomogram_shape, tilt_image_shape=tilt_image_shape,
                                 margin=margin)
