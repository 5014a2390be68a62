"""The particle list (a motive list): positions, shifts, orientations, scores and ids."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd
from cryotypes.poseset import PoseSet
from scipy.spatial.transform import Rotation

from ..angles import euler_to_rotation, rotation_to_euler
from ..errors import InputError

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


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
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
        defaults) plus any extra columns, which are kept.
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

    data: pd.DataFrame = attrs.field(converter=_normalise)
    pixel_size: float | None = attrs.field(default=None, kw_only=True)
    experiment_id: str = attrs.field(default="", kw_only=True)
    tomogram_shape: tuple[int, int, int] | None = attrs.field(default=None, kw_only=True)
    binning: float | None = attrs.field(default=None, kw_only=True)
    optics: pd.DataFrame | None = attrs.field(default=None, kw_only=True)
    blocks: dict[str, Any] = attrs.field(factory=dict, kw_only=True)

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
        frame = pd.DataFrame(positions, columns=["x", "y", "z"])
        if shifts is not None:
            frame[["shift_x", "shift_y", "shift_z"]] = np.asarray(shifts, float).reshape(n, 3)
        if orientations is not None:
            if isinstance(orientations, Rotation):
                euler = rotation_to_euler(orientations).reshape(n, 3)
            else:
                euler = np.asarray(orientations, float).reshape(n, 3)
            frame[["phi", "theta", "psi"]] = euler
        if scores is not None:
            frame["score"] = np.asarray(scores, float).reshape(n)
        frame["subtomo_id"] = np.arange(1, n + 1)
        frame["tomo_id"] = tomo_id
        frame["object_id"] = object_id
        return cls(frame, **metadata)

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
        return len(self.data)

    @property
    def positions(self) -> np.ndarray:
        """(N, 3) x, y, z in voxels, 0-based (without shifts)."""
        return self.data[["x", "y", "z"]].to_numpy(dtype=np.float64)

    @property
    def shifts(self) -> np.ndarray:
        """(N, 3) shifts in voxels."""
        return self.data[["shift_x", "shift_y", "shift_z"]].to_numpy(dtype=np.float64)

    @property
    def euler_angles(self) -> np.ndarray:
        """(N, 3) phi, theta, psi in degrees (extrinsic zxz)."""
        return self.data[["phi", "theta", "psi"]].to_numpy(dtype=np.float64)

    @property
    def scores(self) -> np.ndarray:
        """(N,) scores."""
        return self.data["score"].to_numpy(dtype=np.float64)

    @property
    def orientations(self) -> Rotation:
        """The rotations that turn the reference into each particle's orientation."""
        if len(self) == 0:
            return Rotation.identity(0)
        return euler_to_rotation(self.euler_angles)

    def pixel_sizes(self) -> np.ndarray | None:
        """(N,) pixel size in Å of each particle's positions: the ``pixel_size`` column, else :attr:`pixel_size`.

        None when neither is known.
        """
        if "pixel_size" in self.data.columns:
            return pd.to_numeric(self.data["pixel_size"], errors="coerce").to_numpy(dtype=np.float64)
        if self.pixel_size:
            return np.full(len(self), float(self.pixel_size))
        return None

    def check_finite(self, source: str | Path | None = None) -> None:
        """Raise :class:`InputError` naming the first particle whose position, shift or angle is NaN or inf."""
        values = self.data[list(FINITE_COLUMNS)].to_numpy(dtype=np.float64)
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
        if "tomo_name" in self.data.columns:
            return self.data["tomo_name"].astype(str).to_numpy()
        if self.experiment_id:
            return np.full(len(self), self.experiment_id, dtype=object)
        return self.data["tomo_id"].astype(str).to_numpy()

    def to_poseset(self) -> PoseSet:
        """Convert to a cryotypes PoseSet (positions x, y, z; shifts; orientations)."""
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
        missing = [c for c in columns if c not in self.data.columns]
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
        elif isinstance(model, pd.DataFrame):
            model = TiltSeriesAlignment(model, tilt_image_shape=tilt_image_shape)
        return project_particles(self, model, tomogram_shape=tomogram_shape, tilt_image_shape=tilt_image_shape,
                                 margin=margin)
