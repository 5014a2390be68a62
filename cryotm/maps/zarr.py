"""OME-Zarr maps (``.zarr``): what the CZ cryoET Data Portal and copick store.

Reading takes the full-resolution level of an OME-NGFF image (the first
dataset of its first ``multiscales`` entry; a plain Zarr array is read as it
is). Its axes must end in ``z, y, x`` (leading ``t``/``c`` axes of size one
are dropped), so the voxels are indexed ``data[z, y, x]`` as mrcfile returns
MRC data. The pixel size is the ``scale`` of the dataset's
``coordinateTransformations`` (times the multiscale's own, if any) on the
spatial axes, converted from the axes' ``unit`` to Å (no unit: Å, as copick
writes). Anisotropic voxels are refused.

Memory: with ``mmap=True`` (how cryotm reads maps for picking) the compressed
chunks are decompressed one row of chunks at a time into a scratch file in the
temporary folder (``TMPDIR``), which is then memory-mapped read-only - the
picker touches what it needs, exactly as with a memory-mapped MRC file, and
the whole map is never held in memory. The scratch file is removed when the
map is no longer used (or when Python exits). ``mmap=False`` reads the
level into memory.

Writing makes a single-level OME-NGFF 0.4 image (axes ``z, y, x`` in
Ångström, chunks of 64 voxels), written to a temporary folder and renamed into
place. ``zarr`` is an optional dependency (``pip install cryotm[zarr]``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .formats import MapFormat

__all__ = ["ZarrFormat", "read_zarr", "write_zarr", "ome_pixel_size", "UNIT_TO_ANGSTROM"]

#: OME-NGFF space units -> Å.
UNIT_TO_ANGSTROM: dict[str, float] = {
    "angstrom": 1.0,
    "picometer": 0.01,
    "nanometer": 10.0,
    "micrometer": 1e4,
    "millimeter": 1e7,
    "centimeter": 1e8,
    "meter": 1e10,
}
_SPATIAL = ("z", "y", "x")
_CHUNK = 64


def _import_zarr(path: str | os.PathLike | None = None):
    try:
        import zarr
    except ImportError:
        raise InputError(
            "reading OME-Zarr maps needs the zarr package: pip install 'cryotm[zarr]'", path
        ) from None
    return zarr


def _multiscales(attributes: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The ``multiscales`` list of OME-NGFF 0.4 (top level) or 0.5 (under ``ome``)."""
    if "multiscales" in attributes:
        return list(attributes["multiscales"])
    ome = attributes.get("ome")
    if isinstance(ome, Mapping) and "multiscales" in ome:
        return list(ome["multiscales"])
    return None


def _axes(entry: Mapping[str, Any], ndim: int) -> list[dict[str, Any]]:
    axes = entry.get("axes")
    if axes is None:  # OME-NGFF <= 0.3 has no axes: the last three are z, y, x
        return [{"name": n} for n in ("t", "c", "z", "y", "x")[-ndim:]]
    return [a if isinstance(a, Mapping) else {"name": str(a)} for a in axes]


def _scale(transformations: Sequence[Mapping[str, Any]] | None, ndim: int) -> np.ndarray:
    scale = np.ones(ndim)
    for item in transformations or ():
        if item.get("type") == "scale" and "scale" in item:
            scale = scale * np.asarray(item["scale"], dtype=float)
    return scale


def ome_pixel_size(entry: Mapping[str, Any], dataset: Mapping[str, Any], source: str | None = None) -> float | None:
    """The voxel size in Å of `dataset` of the multiscales `entry` (None if no scale is given).

    Raises
    ------
    InputError
        For an unknown unit or anisotropic voxels.

    Examples
    --------
    >>> scale = {"type": "scale", "scale": [1.1, 1.1, 1.1]}
    >>> entry = {"axes": [{"name": a, "type": "space", "unit": "nanometer"} for a in "zyx"],
    ...          "datasets": [{"path": "0", "coordinateTransformations": [scale]}]}
    >>> ome_pixel_size(entry, entry["datasets"][0])
    11.0
    """
    transforms = list(dataset.get("coordinateTransformations") or [])
    scales = [t for t in transforms if t.get("type") == "scale" and "scale" in t]
    if not scales:
        return None
    axes = _axes(entry, len(scales[0]["scale"]))
    scale = _scale(transforms, len(axes)) * _scale(entry.get("coordinateTransformations"), len(axes))
    sizes = []
    for axis, value in zip(axes, scale):
        if axis.get("name") not in _SPATIAL:
            continue
        unit = str(axis.get("unit") or "angstrom").lower()
        if unit not in UNIT_TO_ANGSTROM:
            known = ", ".join(UNIT_TO_ANGSTROM)
            raise InputError(f"unknown unit {unit!r} of axis {axis.get('name')} (known: {known})", source)
        sizes.append(float(value) * UNIT_TO_ANGSTROM[unit])
    if not sizes:
        return None
    if max(sizes) - min(sizes) > 1e-3 * max(sizes):
        listed = ", ".join(f"{s:g}" for s in sizes)
        raise InputError(f"anisotropic voxels ({listed} Å): cryotm needs one pixel size", source)
    return sizes[0] if sizes[0] > 0 else None


def _full_resolution(path: Path) -> tuple[Any, float | None]:
    """The full-resolution zarr array of the image at `path` (not read) and its pixel size."""
    zarr = _import_zarr(path)
    source = os.fspath(path)
    try:
        node = zarr.open(source, mode="r")
    except Exception as exc:  # zarr raises its own errors for a folder that is not a store
        raise InputError(f"not a Zarr store: {exc}", path) from None
    if hasattr(node, "shape") and hasattr(node, "dtype"):  # a plain array
        return node, None
    multiscales = _multiscales(dict(node.attrs))
    if not multiscales:
        raise InputError("a Zarr group without OME-NGFF 'multiscales' metadata (not an OME-Zarr image)", path)
    entry = multiscales[0]
    datasets = entry.get("datasets") or []
    if not datasets or "path" not in datasets[0]:
        raise InputError("OME-Zarr 'multiscales' lists no dataset", path)
    dataset = datasets[0]
    try:
        array = node[dataset["path"]]
    except KeyError:
        raise InputError(f"OME-Zarr dataset {dataset['path']!r} (full resolution) is missing", path) from None
    axes = [a.get("name") for a in _axes(entry, array.ndim)]
    if len(axes) != array.ndim or tuple(axes[-3:]) != _SPATIAL:
        raise InputError(f"OME-Zarr axes {axes} do not end in z, y, x", path)
    extra = [(name, size) for name, size in zip(axes[:-3], array.shape[:-3]) if size != 1]
    if extra:
        raise InputError(f"OME-Zarr image has more than one {extra[0][0]} ({extra[0][1]}); cryotm reads 3D maps", path)
    return array, ome_pixel_size(entry, dataset, source)


def _leading(array: Any) -> tuple[int, ...]:
    """The index that drops the leading singleton axes of a (t, c,) z, y, x array."""
    return (0,) * (array.ndim - 3)


def _spool(array: Any) -> np.ndarray:
    """Decompress `array` one row of chunks at a time into a scratch file; memory-map it read-only.

    A row of chunks (``chunk_z x chunk_y x nx`` voxels) is read, and each of its
    z planes - contiguous in the C-ordered file - is written where it belongs,
    so no more than one such row is ever held in memory.
    """
    lead = _leading(array)
    nz, ny, nx = (int(s) for s in array.shape[-3:])
    dtype = np.dtype(array.dtype).newbyteorder("=")
    chunks = getattr(array, "chunks", None) or (nz, ny, nx)
    step_z, step_y = max(1, int(chunks[-3])), max(1, int(chunks[-2]))
    row_bytes = nx * dtype.itemsize
    handle = tempfile.NamedTemporaryFile(prefix="cryotm-zarr-", suffix=".raw", delete=False)
    scratch = handle.name
    try:
        with handle:
            handle.truncate(nz * ny * row_bytes)
            fd = handle.fileno()
            for z0 in range(0, nz, step_z):
                for y0 in range(0, ny, step_y):
                    region = (slice(z0, min(z0 + step_z, nz)), slice(y0, min(y0 + step_y, ny)))
                    block = np.ascontiguousarray(array[lead + region], dtype=dtype)
                    for k, plane in enumerate(block):
                        os.pwrite(fd, memoryview(plane).cast("B"), ((z0 + k) * ny + y0) * row_bytes)
                    del block
        if nz * ny * nx == 0:
            os.unlink(scratch)
            return np.zeros((nz, ny, nx), dtype=dtype)
        data = np.memmap(scratch, dtype=dtype, mode="r", shape=(nz, ny, nx))
    except BaseException:
        os.unlink(scratch)
        raise
    weakref.finalize(data, _remove, scratch)
    return data


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def read_zarr(path: str | os.PathLike, mmap: bool = False) -> tuple[np.ndarray, float | None]:
    """Read the full-resolution level of an OME-Zarr image (or a plain Zarr array).

    Parameters
    ----------
    path : str or path-like
        The ``.zarr`` folder.
    mmap : bool
        Decompress into a memory-mapped scratch file (see the module notes)
        instead of into memory.

    Returns
    -------
    data : ndarray, shape (nz, ny, nx)
        Indexed ``data[z, y, x]``.
    pixel_size : float or None
        Voxel size in Å from the coordinate transformations.
    """
    path = Path(path)
    array, pixel_size = _full_resolution(path)
    if array.ndim < 3:
        raise InputError(f"expected a 3D map, got {array.ndim}D of shape {array.shape}", path)
    if mmap:
        return _spool(array), pixel_size
    return np.asarray(array[_leading(array)]), pixel_size


def write_zarr(
    path: str | os.PathLike,
    data: np.ndarray,
    pixel_size: float | None = None,
    overwrite: bool = False,
    chunks: int = _CHUNK,
) -> None:
    """Write `data` (indexed ``[z, y, x]``) as a single-level OME-NGFF 0.4 image.

    Parameters
    ----------
    path : str or path-like
        The ``.zarr`` folder to make; written beside it and renamed into place.
    data : ndarray
        The voxels.
    pixel_size : float, optional
        Voxel size in Å (the scale of the coordinate transformation; 1 if not given).
    overwrite : bool
        Replace an existing map.
    chunks : int
        Chunk edge in voxels.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "scores.zarr"
    >>> write_zarr(out, np.arange(24, dtype=np.float32).reshape(2, 3, 4), pixel_size=7.5)
    >>> data, pixel = read_zarr(out)
    >>> data.shape, float(data[1, 2, 3]), pixel
    ((2, 3, 4), 23.0, 7.5)
    """
    zarr = _import_zarr(path)
    target = Path(path)
    if target.exists() and not overwrite:
        raise InputError("output exists; pass overwrite=True (--overwrite) to replace it", target)
    if not target.parent.is_dir():
        raise InputError(f"output folder {target.parent} does not exist", target)
    data = np.asarray(data)
    if data.dtype == bool:
        data = data.astype(np.int8)
    scale = float(pixel_size) if pixel_size else 1.0
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    try:
        size = tuple(min(chunks, max(1, n)) for n in data.shape)
        if int(zarr.__version__.split(".")[0]) >= 3:  # OME-NGFF 0.4 is a Zarr v2 layout
            group = zarr.open_group(os.fspath(tmp), mode="w", zarr_format=2)
            group.create_array("0", data=data, chunks=size)
        else:
            group = zarr.open_group(os.fspath(tmp), mode="w")
            group.create_dataset("0", data=data, chunks=size)
        group.attrs["multiscales"] = [
            {
                "version": "0.4",
                "name": target.stem,
                "axes": [{"name": n, "type": "space", "unit": "angstrom"} for n in _SPATIAL],
                "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [scale] * 3}]}],
            }
        ]
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


class ZarrFormat(MapFormat):
    """OME-Zarr images (``.zarr`` folders): the full-resolution level, see :mod:`cryotm.maps.zarr`."""

    name = "zarr"
    extensions = (".zarr",)

    @classmethod
    def read(cls, path: Path, mmap: bool = False) -> tuple[np.ndarray, float | None]:
        return read_zarr(path, mmap=mmap)

    @classmethod
    def write(
        cls, path: Path, data: np.ndarray, pixel_size: float | None = None, overwrite: bool = False
    ) -> None:
        write_zarr(path, data, pixel_size=pixel_size, overwrite=overwrite)
