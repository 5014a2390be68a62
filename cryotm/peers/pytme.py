"""pyTME's template-matching results (``match_template -o RESULT``) as cryotm inputs.

pyTME (``match_template``/``pytme match``, CPU or GPU) writes one file,
``.pickle``, ``.pickle.gz`` or ``.hdf5``/``.h5``, holding a sequence of
items; with its default analyzer (``MaxScoreOverRotations``)::

    0  scores           best score per voxel, float
    1  offset           where the maps start in the target (voxels)
    2  rotation index   per voxel, the key of the best rotation (int; -1 never searched)
    3  rotation table   {key: 3 x 3 rotation matrix}
    4  background       mean squared score (not used)
    5  metadata         (target origin, template origin, sampling rate, the run's arguments)

A pickle file is these items pickled one after another; an HDF5 file holds
``item_<i>`` datasets (arrays), groups of a sparse array or of a memory-map
reference, and pickles (the table, the metadata) as opaque bytes. A map
larger than memory may be stored as a reference to a ``.mm`` file beside the
result (``("np.memmap", shape, dtype, file)``); cryotm maps it read-only.

Every pickle, in either format, is read by :class:`RestrictedUnpickler`:
numpy arrays, numpy scalars and dtypes, ``argparse.Namespace`` (pyTME's
record of its arguments; an attribute container) and Python's plain types
and containers only; any other class or function is refused, naming the
file, before anything of it runs. ``pickle.load`` is never called.

Conventions, decided by experiment (``benchmarks/pytme_conventions.py``:
pyTME's own search of a simulated tomogram with planted copies of an
asymmetric template, read back by cryotm):

* axes: pyTME's arrays are indexed ``[x, y, z]`` (its MRC reader returns the
  transpose of mrcfile's array); cryotm transposes them to ``[z, y, x]``
  (a C-ordered copy);
* rotations: a table matrix ``M`` acts on pyTME's ``(x, y, z)`` coordinates
  and maps the tomogram onto the template; cryotm's rotation (reference into
  tomogram, extrinsic zxz) is ``M.T``;
* position: the score maximum is where the template's voxel ``size // 2``
  (its centre) lies only for an odd-sized template. pyTME rotates about the
  box's geometric centre ``(size - 1) / 2``, so for an even size the centre
  voxel of the template rotated by ``R`` (cryotm's matrix, acting on x, y, z)
  lies ``(R - I) h`` from the maximum, ``h`` half a voxel for each even axis
  (up to 1.7 voxels): cryotm adds ``(R - I) h`` to each pick, ``R`` the
  rotation searched at the pick's voxel (before any C_n turn). Sign and order
  were decided by pyTME's own search of templates of 12, 14, 16 and 24
  voxels (``benchmarks/pytme_conventions.py``: score maxima up to 1.73
  voxels from the planted centres, 2.2 with sub-voxel positions; corrected
  within 0.67 and 0.79; ``- (R - I) h`` up to 3.9; 13 and 25 voxels: 0). The box is the template's MRC header: the run's arguments
  (the result's last item) name the template file, looked for there and
  beside the result; else the ``template_shape`` given to
  :func:`read_pytme_result` (``--template-size`` of ``extract-job`` and ``batch``); else a
  warning says positions may be up to 1.7 voxels off.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import pickletools
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..angles import AngleList
from ..errors import CryotmError, CryotmWarning, InputError
from ..pipeline.inputs import TomogramInputs
from .base import PeerJob
from .pytme_centre import as_template_shape, centre_correction, template_shape_of

__all__ = [
    "RestrictedUnpickler",
    "PytmeResult",
    "load_pytme_result",
    "read_pytme_result",
    "sniff_pytme_result",
    "PYTME_EXTENSIONS",
    "centre_correction",
    "template_shape_of",
]

PROGRAM = "pytme"

#: File names pyTME gives its results.
PYTME_EXTENSIONS: tuple[str, ...] = (".pickle", ".pickle.gz", ".hdf5", ".h5")

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_GZIP_MAGIC = b"\x1f\x8b"

#: The globals a pyTME pickle may name: numpy's array and scalar reconstruction, dtypes, and plain types.
_ALLOWED: dict[str, frozenset[str]] = {
    "numpy": frozenset({"ndarray", "dtype"}),
    "numpy.core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "numpy._core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "numpy.core.numeric": frozenset({"_frombuffer"}),
    "numpy._core.numeric": frozenset({"_frombuffer"}),
    "builtins": frozenset({"set", "frozenset", "complex", "bytearray", "slice", "range"}),
    "_codecs": frozenset({"encode"}),
    "collections": frozenset({"OrderedDict"}),
    "argparse": frozenset({"Namespace"}),
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds numpy arrays, dtypes and plain containers only.

    ``find_class`` admits the names in its allowlist (numpy's array and
    scalar reconstruction, ``numpy.dtype`` and ``numpy.dtypes.*DType``,
    ``argparse.Namespace``, ``set``/``frozenset``/``complex``/``bytearray``/
    ``slice``/``range``, ``collections.OrderedDict``); any other global - the
    only way a pickle can run code - raises :class:`InputError` naming the
    file and the global, before it is called.

    Parameters
    ----------
    file : binary file
        The pickle stream.
    source : path, optional
        The file, for messages.
    """

    def __init__(self, file: Any, source: str | os.PathLike | None = None) -> None:
        super().__init__(file)
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        allowed = _ALLOWED.get(module, frozenset())
        is_dtype = module == "numpy.dtypes" and name.endswith("DType")
        if name not in allowed and not is_dtype:
            raise InputError(
                f"refused to unpickle {module}.{name}: a pyTME result holds numpy arrays and plain "
                "containers only, and loading anything else could run code",
                self._source,
            )
        return super().find_class(module, name)


def _restricted_loads(data: bytes, source: str | os.PathLike) -> Any:
    try:
        return RestrictedUnpickler(io.BytesIO(data), source).load()
    except InputError:
        raise
    except Exception as exc:  # a corrupt or truncated stream: any unpickling error
        raise InputError(f"not a readable pyTME pickle: {type(exc).__name__}: {exc}", source) from None


def _pickle_items(path: Path) -> list[Any]:
    """Every item of a pickle file (pickles one after another), each through the restricted unpickler."""
    try:
        with path.open("rb") as handle:
            head = handle.read(2)
        opener = gzip.open if head == _GZIP_MAGIC else open
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read: {exc}", path) from None
    items = []
    stream = io.BytesIO(data)
    while stream.tell() < len(data):
        start = stream.tell()
        try:
            for opcode, _, _ in pickletools.genops(stream):  # finds the item's end without running it
                if opcode.name == "STOP":
                    break
        except Exception as exc:
            raise InputError(f"not a pickle (item {len(items)}): {exc}", path) from None
        items.append(_restricted_loads(data[start : stream.tell()], path))
    return items


def _hdf5_items(path: Path) -> list[Any]:
    try:
        import h5py
    except ImportError:
        raise CryotmError(
            "reading pyTME's HDF5 results needs the h5py package: pip install 'cryotm[pytme]'", path
        ) from None
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"not a readable HDF5 file: {exc}", path) from None
    with handle:
        count = int(handle.attrs.get("num_items", 0))
        items = []
        for index in range(count):
            key = f"item_{index}"
            if key not in handle:
                raise InputError(f"not a pyTME result: {key} is missing", path)
            item = handle[key]
            if isinstance(item, h5py.Dataset):
                items.append(item[()])
                continue
            kind = item.attrs.get("type", "")
            kind = kind.decode() if isinstance(kind, bytes) else str(kind)
            if kind == "sparse_coordinate":
                array = np.zeros(tuple(int(v) for v in item.attrs["shape"]), dtype=np.dtype(str(item.attrs["dtype"])))
                array[tuple(item["indices"][()].astype(np.intp))] = item["values"][()]
                items.append(array)
            elif kind == "pickle":
                items.append(_restricted_loads(item["data"][()].tobytes(), path))
            elif kind == "memmap":
                shape, dtype = tuple(item.attrs["shape"]), str(item.attrs["dtype"])
                items.append(("np.memmap", shape, dtype, str(item.attrs["filename"])))
            else:
                raise InputError(f"not a pyTME result: {key} is a group of unknown type {kind!r}", path)
    return items


def _resolve_memmap(item: Any, path: Path) -> Any:
    """pyTME's reference to a memory-mapped array, mapped read-only (the file, or one of its name beside `path`)."""
    if not (isinstance(item, tuple) and len(item) == 4 and isinstance(item[0], str) and item[0] == "np.memmap"):
        return item
    _, shape, dtype, filename = item
    candidates = [Path(str(filename)), path.parent / Path(str(filename)).name]
    for candidate in candidates:
        if candidate.is_file():
            return np.memmap(candidate, dtype=np.dtype(dtype), shape=tuple(int(v) for v in shape), mode="r")
    raise InputError(f"the result refers to a memory-mapped array in {filename}, which is not there", path)


@attrs.frozen(eq=False)
class PytmeResult:
    """A pyTME result in cryotm's conventions.

    Attributes
    ----------
    scores : ndarray, shape (nz, ny, nx)
        Best score per voxel, indexed ``[z, y, x]``.
    rotation_index : ndarray, shape (nz, ny, nx)
        Row of :attr:`angles` per voxel (0-based).
    angles : ndarray, shape (n, 3)
        Extrinsic zxz Euler angles in degrees (reference into tomogram), one
        row per rotation-table key.
    offset : (x, y, z)
        Where the maps start in the searched tomogram.
    pixel_size : float or None
        Å per voxel, from the run's sampling rate.
    template : str or None
        The template file the run searched with (its recorded arguments).
    """

    scores: np.ndarray
    rotation_index: np.ndarray
    angles: np.ndarray
    offset: tuple[float, float, float]
    pixel_size: float | None
    template: str | None = None


def _as_result(items: list[Any], path: Path) -> PytmeResult:
    from scipy.spatial.transform import Rotation

    if len(items) < 4:
        raise InputError(f"not a pyTME template-matching result: {len(items)} items, expected at least 4", path)
    scores, offset, rotation_index, table = (_resolve_memmap(items[i], path) for i in range(4))
    if not (isinstance(scores, np.ndarray) and isinstance(rotation_index, np.ndarray) and isinstance(table, dict)):
        raise InputError(
            "not a result of pyTME's MaxScoreOverRotations analyzer (scores, offset, rotations, rotation table)", path
        )
    if scores.ndim != 3 or rotation_index.shape != scores.shape:
        raise InputError(
            f"scores {scores.shape} and rotation indices {rotation_index.shape} are not two 3D maps of one shape", path
        )
    if not table:
        raise InputError("the rotation table is empty", path)
    try:
        keys = sorted(int(k) for k in table)
        matrices = np.array([np.asarray(table[k], dtype=np.float64) for k in sorted(table, key=int)])
    except (TypeError, ValueError) as exc:
        raise InputError(f"the rotation table is not {{index: 3 x 3 matrix}}: {exc}", path) from None
    if keys != list(range(len(keys))) or matrices.shape[1:] != (3, 3):
        raise InputError("the rotation table's keys are not 0..n-1 or its matrices not 3 x 3", path)
    with warnings.catch_warnings():  # gimbal lock (theta 0 or 180): scipy's equivalent angles are as good
        warnings.simplefilter("ignore", UserWarning)
        angles = Rotation.from_matrix(matrices.transpose(0, 2, 1)).as_euler("zxz", degrees=True)
    # pyTME's arrays are [x, y, z]: cryotm's [z, y, x] is their transpose, made C-ordered (the picker reads
    # C-ordered slabs; a map that pyTME memory-mapped is read into memory here)
    scores = np.ascontiguousarray(scores.transpose(2, 1, 0))
    rotation_index = np.ascontiguousarray(rotation_index.transpose(2, 1, 0))
    finite = np.isfinite(scores)
    if not finite.all():
        if not finite.any():
            raise InputError("the scores map holds no finite score", path)
        unsearched = int(np.count_nonzero(~finite))
        warnings.warn(
            f"{path}: {unsearched} voxels were never searched (score -inf); cryotm gives them the lowest score",
            stacklevel=3,
        )
        scores = np.where(finite, scores, scores[finite].min())
        rotation_index = np.where(finite, rotation_index, 0)
    try:
        start = tuple(float(v) for v in np.asarray(offset, dtype=float).ravel())
    except (TypeError, ValueError):
        start = (0.0, 0.0, 0.0)
    if len(start) != 3:
        start = (0.0, 0.0, 0.0)
    pixel_size = None
    if len(items) >= 6 and isinstance(items[-1], tuple) and len(items[-1]) >= 3:
        try:
            sampling = np.asarray(items[-1][2], dtype=float).ravel()
            if sampling.size and np.all(sampling > 0) and np.all(np.isfinite(sampling)):
                pixel_size = float(sampling.mean())
        except (TypeError, ValueError):
            pixel_size = None
    template = None
    if len(items) >= 6 and isinstance(items[-1], tuple) and len(items[-1]) >= 4:
        named = getattr(items[-1][3], "template", None)  # the run's argparse.Namespace
        template = named if isinstance(named, str) and named else None
    return PytmeResult(
        scores=scores,
        rotation_index=rotation_index,
        angles=angles,
        offset=start,  # type: ignore[arg-type]
        pixel_size=pixel_size,
        template=template,
    )


_CACHE: dict[str, Any] = {}


def load_pytme_result(path: str | os.PathLike) -> PytmeResult:
    """Read a pyTME result file (``.pickle``, ``.pickle.gz``, ``.hdf5``/``.h5``) in cryotm's conventions.

    The last file read is kept (keyed by path, size and modification time),
    so that the scores, the rotation indices and the angles of one result are
    read once.

    Raises
    ------
    InputError
        Missing, not a pyTME result, or a pickle naming anything but arrays
        and plain containers.
    CryotmError
        An HDF5 result without the h5py package.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        raise InputError("no such pyTME result", path) from None
    key = f"{os.path.abspath(path)}:{stat.st_size}:{stat.st_mtime_ns}"
    if _CACHE.get("key") == key:
        return _CACHE["result"]
    with path.open("rb") as handle:
        head = handle.read(8)
    items = _hdf5_items(path) if head == _HDF5_MAGIC else _pickle_items(path)
    result = _as_result(items, path)
    _CACHE.clear()
    _CACHE.update(key=key, result=result)
    return result


def sniff_pytme_result(path: str | os.PathLike) -> bool:
    """True if `path` is named like a pyTME result and starts like a pickle, gzip or HDF5 file."""
    path = Path(path)
    if not path.name.lower().endswith(PYTME_EXTENSIONS):
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError:
        return False
    if head == _HDF5_MAGIC:
        try:
            import h5py
        except ImportError:
            return True  # reading it will say what to install
        try:
            with h5py.File(path, "r") as handle:
                return "num_items" in handle.attrs and "item_0" in handle
        except OSError:
            return False
    return head[:2] == _GZIP_MAGIC or head[:1] == b"\x80"


def _result_name(path: Path) -> str:
    name = path.name
    for ext in PYTME_EXTENSIONS:
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return path.stem


def read_pytme_result(
    path: str | os.PathLike, tomo_id: int = 1, template_shape: int | Sequence[int] | None = None
) -> PeerJob:
    """A pyTME result as a :class:`PeerJob` whose inputs a pipeline runs.

    Parameters
    ----------
    path : path
        ``RESULT.pickle``, ``RESULT.pickle.gz`` or ``RESULT.hdf5``.
    tomo_id : int
        Tomogram number for the particle list.
    template_shape : int or (nz, ny, nx), optional
        The template's box, when its file (named in the result) is not
        there; an even box needs a correction of the positions (see
        :func:`centre_correction`). Without either, a warning.

    Raises
    ------
    InputError
        See :func:`load_pytme_result` (the file is read here, so that a bad
        one fails before any run); a `template_shape` that is not one or
        three positive numbers.
    """
    path = Path(path)
    result = load_pytme_result(path)
    box = template_shape_of(path, result)
    if template_shape is not None:
        given = as_template_shape(template_shape, path)
        if box is not None and box != given:
            warnings.warn(
                f"{path}: the template {result.template} is {box[2]} x {box[1]} x {box[0]} (x y z) but "
                f"{given[2]} x {given[1]} x {given[0]} was given; using the given box",
                CryotmWarning,
                stacklevel=2,
            )
        box = given
    if box is None:
        why = f"its file {result.template} is not there" if result.template else "the result names no template"
        warnings.warn(
            f"{path}: cannot tell the template's box ({why}): if it is even, positions are up to 1.7 voxels "
            "off; give its size (--template-size of extract-job and batch)",
            CryotmWarning,
            stacklevel=2,
        )
    inputs = TomogramInputs(
        name=_result_name(path),
        scores=path,
        angles=path,
        angle_list=path,
        pixel_size=result.pixel_size,
        tomo_id=tomo_id,
        index_base=0,
        result_format=PROGRAM,
        offset=result.offset,
        template_shape=box,
        source=os.fspath(path),
    )
    return PeerJob(program=PROGRAM, inputs=inputs, source=os.fspath(path))


def read_result_part(inputs: TomogramInputs, role: str) -> Any:
    """The ``scores`` map, ``angles`` map or ``angle_list`` of a pyTME result (for :class:`TomogramInputs`)."""
    from ..maps import AngleMap, ScoresMap

    result = load_pytme_result(inputs.scores)
    facts = {"pixel_size": inputs.pixel_size, "experiment_id": inputs.name}
    if role == "scores":
        return ScoresMap(result.scores, source=os.fspath(inputs.scores), **facts)
    if role == "angles":
        return AngleMap(result.rotation_index, source=os.fspath(inputs.angles), **facts)
    if role == "angle_list":
        return AngleList(result.angles, index_base=inputs.index_base, source=os.fspath(inputs.angle_list))
    raise ValueError(f"unknown role {role!r}")
