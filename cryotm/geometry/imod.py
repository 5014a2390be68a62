"""IMOD tilt-series alignments (``.xf``, ``.tlt``, ``tilt.com``) and fiducial models.

IMOD aligns a tilt series with one 2D transform per raw tilt image (the
``.xf`` file, six numbers ``A11 A12 A21 A22 DX DY``), which maps raw-image
coordinates onto the aligned stack about the image centre::

    aligned - c = A @ (raw - c) + d

and reconstructs the aligned stack with ``tilt`` from the tilt angles of the
``.tlt`` file and the parameters of ``tilt.com``. In the aligned stack the
tilt axis is the y axis; the tomogram's centre projects onto the aligned
image's centre (shifted by ``tilt``'s ``SHIFT``). cryotm turns this into the
cryotypes model the way RELION 5's own IMOD import does
(``tomography_python_programs``: ``rotation_y`` = tilt angle,
``rotation_z`` from ``A``, shifts ``-A^-1 @ d``), with these differences,
each written down in the docs' conventions page:

* ``rotation_z = -atan2(A21, A11)`` (the rotation of ``A^-1``); RELION's import
  takes ``arccos(A11)``, which is the same for the usual tilt axes (``A21 <= 0``)
  and loses the sign otherwise.
* IMOD rotates about ``(n - 1) / 2`` (0-based pixel centres), cryotypes and
  RELION about ``n // 2``; cryotm puts the exact difference into ``dx, dy``
  for the tomogram and image sizes it reads (RELION's import adds 0.5).
* ``tilt.com``: ``OFFSET`` is added to the tilt angles, ``XAXISTILT`` is
  ``rotation_x``, ``SHIFT x z`` (pixels of the binned input, times
  ``IMAGEBINNED``) moves the tomogram's centre off the tilt axis, ``THICKNESS``
  and ``FULLIMAGE`` give the tomogram's size (``FULLIMAGE`` also the tilt
  images'). Local alignments (``LOCALFILE``) are not applied.

Without an ``.xf`` the alignment maps into the aligned stack itself
(``A`` = identity, ``d`` = 0). Tomogram positions refer to the tomogram with
z along the beam (after ``trimvol -rx``).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from .._lazy import lazy_module
from ..errors import InputError
from .alignment import TiltSeriesAlignment, make_projection_model
from .readers import AlignmentReader

pd = lazy_module("pandas")

__all__ = [
    "ImodAlignmentReader",
    "read_xf",
    "read_tlt",
    "read_tilt_com",
    "imod_to_model",
    "read_fiducial_model",
    "apply_xf",
]


def read_xf(path: str | os.PathLike) -> np.ndarray:
    """An IMOD ``.xf`` (or ``.prexg``) file as an (n, 6) array ``A11 A12 A21 A22 DX DY``."""
    try:
        values = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read as an IMOD transform file: {exc}", path) from None
    if values.size == 0 or values.shape[1] != 6:
        raise InputError(f"an IMOD .xf file has 6 numbers per line, found {values.shape[1] if values.size else 0}",
                         path)
    return values


def read_tlt(path: str | os.PathLike) -> np.ndarray:
    """The tilt angles (degrees) of an IMOD ``.tlt`` / ``.rawtlt`` file."""
    try:
        values = np.loadtxt(path, dtype=np.float64, ndmin=1)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read as an IMOD tilt-angle file: {exc}", path) from None
    if values.ndim != 1 or values.size == 0:
        raise InputError("an IMOD .tlt file has one tilt angle per line", path)
    return values


def read_tilt_com(path: str | os.PathLike) -> dict[str, list[str]]:
    """The parameters of an IMOD ``tilt.com`` (upper-case keys, their words), comments and ``$`` lines skipped."""
    params: dict[str, list[str]] = {}
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read: {exc}", path) from None
    for line in lines:
        text = line.strip()
        if not text or text.startswith(("#", "$")):
            continue
        key, *words = text.split()
        params[key.upper()] = words
    return params


def _numbers(params: dict[str, list[str]], key: str, count: int, default: list[float], source: Path) -> list[float]:
    if key not in params:
        return default
    try:
        values = [float(v) for v in params[key][:count]]
    except ValueError:
        raise InputError(f"{key} needs numbers, got {' '.join(params[key])!r}", source) from None
    return values + default[len(values):]


def imod_to_model(
    tilt_angles: np.ndarray,
    xf: np.ndarray | None,
    tilt_image_shape: tuple[int, int] | None,
    tomogram_shape: tuple[int, int, int] | None,
    x_axis_tilt: float = 0.0,
    shift_xz: tuple[float, float] = (0.0, 0.0),
    name: str = "",
    pixel_size: float = 1.0,
    source: str = "",
) -> pd.DataFrame:
    """The cryotypes ProjectionModel of an IMOD alignment (see the module docstring).

    Parameters
    ----------
    tilt_angles : (n,) array
        Tilt angles in degrees, ``OFFSET`` already added.
    xf : (n, 6) array or None
        The ``.xf`` transforms (None: identity).
    tilt_image_shape, tomogram_shape : optional
        ``(ny, nx)`` and ``(nz, ny, nx)``; used only for the half-pixel
        difference of rotation centres (even sizes are assumed when unknown).
    x_axis_tilt : float
        ``XAXISTILT`` in degrees.
    shift_xz : (float, float)
        ``tilt``'s ``SHIFT`` in tilt-series pixels.
    """
    n = len(tilt_angles)
    if xf is None:
        xf = np.tile([1.0, 0.0, 0.0, 1.0, 0.0, 0.0], (n, 1))
    matrices = xf[:, :4].reshape(-1, 2, 2)
    determinants = np.linalg.det(matrices)
    if np.any(np.abs(determinants) < 1e-6):
        raise InputError("an .xf transform is singular", source or None)
    if np.any(np.abs(np.abs(determinants) - 1) > 0.01):
        warnings.warn(
            f"{source}: the .xf transforms include a magnification or stretch; the projection model keeps only "
            "their rotation",
            stacklevel=3,
        )
    inverse = np.linalg.inv(matrices)
    rotation_z = -np.degrees(np.arctan2(matrices[:, 1, 0], matrices[:, 0, 0]))
    shifts = -np.einsum("nij,nj->ni", inverse, xf[:, 4:6])
    # IMOD's centres (n - 1) / 2 against cryotypes' n // 2, in the image and the tomogram
    height, width = tilt_image_shape if tilt_image_shape is not None else (2, 2)
    nz, ny, nx = tomogram_shape if tomogram_shape is not None else (2, 2, 2)
    image_delta = np.array([(width - 1) / 2 - width // 2, (height - 1) / 2 - height // 2])
    tomo_delta = np.array([nx // 2 - (nx - 1) / 2, ny // 2 - (ny - 1) / 2, nz // 2 - (nz - 1) / 2])
    from scipy.spatial.transform import Rotation  # scipy.spatial: only where an alignment is read

    rotations = Rotation.from_euler(
        "xyz", np.column_stack([np.full(n, x_axis_tilt), tilt_angles, rotation_z]), degrees=True
    ).as_matrix()
    offset = np.array([shift_xz[0], 0.0, shift_xz[1]])
    shifts = shifts + image_delta + (rotations @ tomo_delta)[:, :2] - (rotations @ offset)[:, :2]
    return make_projection_model(
        rotation_y=tilt_angles,
        rotation_z=rotation_z,
        rotation_x=x_axis_tilt,
        dx=shifts[:, 0],
        dy=shifts[:, 1],
        experiment_id=name,
        pixel_spacing=pixel_size,
        source=source,
    )


def _find(folder: Path, stem: str | None, suffix: str) -> Path | None:
    if stem is not None and (folder / f"{stem}{suffix}").is_file():
        return folder / f"{stem}{suffix}"
    found = sorted(folder.glob(f"*{suffix}"))
    return found[0] if len(found) == 1 else None


@attrs.define
class ImodAlignmentReader(AlignmentReader):
    """IMOD: ``.xf`` + ``.tlt`` (+ ``tilt.com``), found next to whichever of them (or the folder) is given.

    Parameters
    ----------
    tilt_image_shape : (ny, nx), optional
        Size of the tilt images (default: ``tilt.com``'s ``FULLIMAGE``).
    tomogram_shape : (nz, ny, nx), optional
        In tilt-series pixels (default: ``THICKNESS`` x ``FULLIMAGE``).
    pixel_size : float, optional
        Å per tilt-series pixel (IMOD's files do not state it).
    xf, tlt, tilt_com : path, optional
        The files, when they are not next to each other or named alike.

    The tilt series' name is ``tilt.com``'s ``OutputFile`` stem, else the ``.tlt`` file's.
    """

    tilt_image_shape: tuple[int, int] | None = None
    tomogram_shape: tuple[int, int, int] | None = None
    pixel_size: float | None = None
    xf: str | None = None
    tlt: str | None = None
    tilt_com: str | None = None

    name = "imod"
    extensions = (".xf", ".tlt", ".com")
    description = "IMOD .xf + .tlt (+ tilt.com: XAXISTILT, OFFSET, SHIFT, THICKNESS, FULLIMAGE, IMAGEBINNED)"

    @classmethod
    def sniff(cls, path: Path) -> bool:
        path = Path(path)
        if path.is_dir():
            return any(path.glob("*.tlt")) or (path / "tilt.com").is_file()
        if path.suffix.lower() == ".com":
            return path.name.lower().startswith("tilt")
        return path.suffix.lower() in (".xf", ".tlt")

    def _files(self, path: Path) -> tuple[Path | None, Path, Path | None]:
        folder = path if path.is_dir() else path.parent
        given = {path.suffix.lower(): path} if path.is_file() else {}
        com = Path(self.tilt_com) if self.tilt_com else given.get(".com") or (
            folder / "tilt.com" if (folder / "tilt.com").is_file() else None
        )
        params = read_tilt_com(com) if com is not None else {}
        stem = path.stem if path.suffix.lower() in (".xf", ".tlt") else None
        if stem is None and "INPUTPROJECTIONS" in params:
            stem = Path(params["INPUTPROJECTIONS"][0]).stem
        tlt = Path(self.tlt) if self.tlt else given.get(".tlt")
        if tlt is None and "TILTFILE" in params:
            tlt = folder / params["TILTFILE"][0]
        tlt = tlt or _find(folder, stem, ".tlt")
        if tlt is None or not tlt.is_file():
            raise InputError(f"no tilt-angle file (.tlt) {'at ' + str(tlt) if tlt else 'found'}: give tlt=", path)
        xf = Path(self.xf) if self.xf else given.get(".xf") or _find(folder, stem or tlt.stem, ".xf")
        return com, tlt, xf

    def read(self, path: str | os.PathLike) -> dict[str, TiltSeriesAlignment]:
        path = Path(path)
        com, tlt_path, xf_path = self._files(path)
        params = read_tilt_com(com) if com is not None else {}
        source = com or tlt_path
        angles = read_tlt(tlt_path)
        xf = None if xf_path is None else read_xf(xf_path)
        if xf is not None and len(xf) != len(angles):
            raise InputError(
                f"{xf_path.name} has {len(xf)} transforms but {tlt_path.name} {len(angles)} tilt angles "
                "(missing tilts? excluded views must be removed from both)",
                xf_path,
            )
        binned = _numbers(params, "IMAGEBINNED", 1, [1.0], source)[0]
        offset = _numbers(params, "OFFSET", 1, [0.0], source)[0]
        x_axis_tilt = _numbers(params, "XAXISTILT", 1, [0.0], source)[0]
        shift = _numbers(params, "SHIFT", 2, [0.0, 0.0], source)
        notes: list[str] = []
        image_shape: Any = self.tilt_image_shape
        if image_shape is None and "FULLIMAGE" in params:
            nx, ny = _numbers(params, "FULLIMAGE", 2, [0.0, 0.0], source)
            image_shape = (int(ny), int(nx))
        tomo_shape: Any = self.tomogram_shape
        if tomo_shape is None and image_shape is not None and "THICKNESS" in params:
            thickness = _numbers(params, "THICKNESS", 1, [0.0], source)[0] * binned
            tomo_shape = (int(round(thickness)), image_shape[0], image_shape[1])
        if "LOCALFILE" in params:
            notes.append("local alignments (LOCALFILE) are not applied")
        if xf is None:
            notes.append("no .xf found: the tilt images are the aligned stack")
        name = Path(params["OUTPUTFILE"][0]).stem if "OUTPUTFILE" in params else tlt_path.stem
        model = imod_to_model(
            angles + offset,
            xf,
            image_shape,
            tomo_shape,
            x_axis_tilt=x_axis_tilt,
            shift_xz=(shift[0] * binned, shift[1] * binned),
            name=name,
            pixel_size=self.pixel_size or 1.0,
            source=os.fspath(source),
        )
        if not self.pixel_size:
            notes.append("IMOD files state no pixel size: 1 Å assumed (give pixel_size / --alignment-pixel-size)")
        alignment = TiltSeriesAlignment(
            model,
            tilt_image_shape=image_shape,
            tomogram_shape=tomo_shape,
            tilt_angles=angles,
            name=name,
            source=os.fspath(source),
            program="imod",
            notes=tuple(notes),
        )
        return {name: alignment}


def apply_xf(xy: np.ndarray, xf: np.ndarray, tilt_index: np.ndarray, image_shape: tuple[int, int],
             inverse: bool = False) -> np.ndarray:
    """Apply (or undo) per-tilt ``.xf``/``.prexg`` transforms to 2D points about IMOD's image centre.

    Examples
    --------
    The centre of a 10 x 10 image is (4.5, 4.5); a point 1 pixel right of it turns
    by 90 degrees to 1 pixel further in y, then moves 2 pixels in x:

    >>> xf = np.array([[0.0, -1.0, 1.0, 0.0, 2.0, 0.0]])
    >>> apply_xf(np.array([[5.5, 4.5]]), xf, np.array([0]), (10, 10)).tolist()
    [[6.5, 5.5]]
    """
    height, width = image_shape
    centre = np.array([(width - 1) / 2, (height - 1) / 2])
    matrices = xf[tilt_index, :4].reshape(-1, 2, 2)
    shifts = xf[tilt_index, 4:6]
    if inverse:
        return np.einsum("nij,nj->ni", np.linalg.inv(matrices), xy - centre - shifts) + centre
    return np.einsum("nij,nj->ni", matrices, xy - centre) + centre + shifts


def _model_points(path: Path) -> pd.DataFrame:
    """(x, y, z, contour) of every point of an IMOD model, read with `imodmodel` or the cryotm-imod plugin."""
    try:
        import imodmodel
    except ImportError:
        imodmodel = None
    if imodmodel is not None:
        try:
            frame = imodmodel.read(path)
        except Exception as exc:  # imodmodel raises assorted errors on bad files
            raise InputError(f"cannot read as an IMOD model: {type(exc).__name__}: {exc}", path) from None
        contour = frame["object_id"].astype(int) * 100000 + frame["contour_id"].astype(int)
        return pd.DataFrame({"x": frame["x"], "y": frame["y"], "z": frame["z"], "contour": contour}).reset_index(
            drop=True
        )
    try:
        from cryotm_imod.model import read_model
    except ImportError:
        raise InputError("reading IMOD models needs the `imodmodel` package (pip install imodmodel) or the "
                         "cryotm-imod plugin", path) from None
    try:
        model = read_model(path)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    frames = [pd.DataFrame(obj.points, columns=["x", "y", "z"]).assign(contour=i) for i, obj in
              enumerate(model.objects)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["x", "y", "z", "contour"])


def read_fiducial_model(
    path: str | os.PathLike,
    transform: str | os.PathLike | None = None,
    image_shape: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """2D fiducial positions per tilt from an IMOD fiducial model (``.fid``, ``.mod``).

    In such a model each point is ``x, y`` in a tilt image and ``z`` its
    section (the tilt index, from 0). etomo tracks beads on the prealigned
    stack: give its ``.prexg`` as `transform` to bring the points back into
    the raw tilt images that an ``.xf`` alignment projects into.

    Returns
    -------
    pandas.DataFrame
        Columns ``tilt_index`` (int), ``x``, ``y``, ``contour`` (one bead's track).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    points = _model_points(path)
    tilt = np.rint(points["z"].to_numpy(float)).astype(np.int64)
    if len(points) and np.any(np.abs(points["z"].to_numpy(float) - tilt) > 0.01):
        raise InputError("the model's z values are not whole section numbers: not a 2D fiducial model "
                         "(3D bead positions? use fiducials_3d)", path)
    xy = points[["x", "y"]].to_numpy(float)
    if transform is not None:
        if image_shape is None:
            raise InputError("undoing a .prexg needs the tilt images' size", transform)
        xf = read_xf(transform)
        if len(tilt) and tilt.max() >= len(xf):
            raise InputError(f"the fiducial model has section {tilt.max()} but the transform file only {len(xf)}",
                             transform)
        xy = apply_xf(xy, xf, tilt, image_shape, inverse=True)
    return pd.DataFrame({"tilt_index": tilt, "x": xy[:, 0], "y": xy[:, 1], "contour": points["contour"].to_numpy()})

