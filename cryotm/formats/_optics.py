"""RELION optics groups: each particle's pixel size, and the optics block a writer writes.

RELION keeps pixel sizes per optics group (``data_optics``, one row per
group; each particle names its ``rlnOpticsGroup``). Readers take each
particle's pixel size from its own group; writers write the list's own
groups back (every label kept), with their pixel sizes set from the
particles', or one new group per distinct pixel size for a list without
optics.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .._lazy import lazy_module
from ..errors import InputError
from ..particles import ParticleList

pd = lazy_module("pandas")

__all__ = [
    "particle_pixel_sizes",
    "optics_table",
    "group_pixel_sizes",
    "optics_block",
    "optics_value",
    "optics_of",
    "pixel_sizes_by_group",
]


def _numeric(table: pd.DataFrame, label: str, path: str | os.PathLike | None) -> np.ndarray:
    values = pd.to_numeric(table[label], errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        row = int(np.flatnonzero(~np.isfinite(values))[0]) + 1
        raise InputError(f"{label} of particle {row} is not a finite number", path)
    return values


def particle_pixel_sizes(particles: ParticleList) -> np.ndarray:
    """(N,) pixel size in Å of each particle (per optics group), or an error naming the option."""
    sizes = particles.pixel_sizes()
    if sizes is None or not (np.isfinite(sizes).all() and (sizes > 0).all()):
        raise InputError("no pixel size (give --pixel-size / pixel_size=)")
    return sizes


def optics_table(
    particles: ParticleList, tomo: bool, binning: float | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """The optics block to write and each particle's ``rlnOpticsGroup``.

    The list's own optics groups (read from a RELION file) are kept with all
    their labels; their pixel sizes are set from the particles' (kept as
    they were where they agree). A list without optics gets one group per
    distinct pixel size. For RELION 4/5 (`tomo`), ``rlnTomoTiltSeriesPixelSize``
    is the pixel size over the binning and ``rlnTomoSubtomogramBinning`` the
    binning.
    """
    sizes = particle_pixel_sizes(particles)
    own = particles.optics
    data = particles.data
    if isinstance(own, pd.DataFrame) and "rlnOpticsGroup" in own.columns and "rlnOpticsGroup" in data.columns:
        optics = own.reset_index(drop=True).copy()
        groups = pd.to_numeric(data["rlnOpticsGroup"], errors="coerce").to_numpy()
        known = pd.to_numeric(optics["rlnOpticsGroup"], errors="coerce").to_numpy()
        if np.isnan(groups).any() or not np.isin(groups, known).all():
            own = None
    else:
        own = None
    if own is None:
        unique = list(dict.fromkeys(sizes.tolist())) or [float(particles.pixel_size or 1.0)]
        optics = pd.DataFrame(
            {
                "rlnOpticsGroup": np.arange(1, len(unique) + 1),
                "rlnOpticsGroupName": [f"opticsGroup{i}" for i in range(1, len(unique) + 1)],
            }
        )
        known = optics["rlnOpticsGroup"].to_numpy()
        groups = np.array([unique.index(s) + 1 for s in sizes.tolist()], dtype=np.int64)
    group_size = []
    for group in known:
        members = sizes[groups == group]
        if len(members) and not np.allclose(members, members[0], rtol=1e-9, atol=0):
            raise InputError(f"particles of optics group {group:g} have different pixel sizes")
        group_size.append(float(members[0]) if len(members) else np.nan)
    group_size = np.array(group_size)
    unused = np.isnan(group_size)
    if unused.any():  # groups without particles keep their own pixel size
        own_sizes = group_pixel_sizes(optics, binning)
        group_size[unused] = own_sizes[unused] if own_sizes is not None else (particles.pixel_size or np.nan)

    def put(label: str, values: np.ndarray) -> None:
        if label in optics.columns:
            raw = pd.to_numeric(optics[label], errors="coerce").to_numpy(dtype=np.float64)
            with np.errstate(invalid="ignore"):
                same = np.abs(raw - values) <= 1e-9 * np.abs(values)
            optics[label] = optics[label].to_numpy() if same.all() else np.where(
                same, optics[label].to_numpy(), values.astype(object)
            )
        else:
            optics[label] = values

    if tomo:
        if binning is None:
            binning = particles.binning or 1.0
        put("rlnTomoTiltSeriesPixelSize", group_size / float(binning))
        put("rlnTomoSubtomogramBinning", np.full(len(optics), float(binning)))
    put("rlnImagePixelSize", group_size)
    if "rlnImageDimensionality" not in optics.columns:
        optics["rlnImageDimensionality"] = 3
    return optics, groups.astype(np.int64)


def group_pixel_sizes(optics: pd.DataFrame, binning: float | None = None) -> np.ndarray | None:
    """Pixel size in Å of each optics group's positions.

    ``rlnTomoTiltSeriesPixelSize`` times the binning (`binning`, else the
    group's ``rlnTomoSubtomogramBinning``, else 1) for RELION 4/5, else
    ``rlnImagePixelSize``; for RELION 3.1 ``rlnMicrographPixelSize`` (the
    pixels of ``rlnCoordinate``), else ``rlnImagePixelSize``. None if none is there.
    """
    def column(label: str) -> np.ndarray | None:
        if label not in optics.columns:
            return None
        return pd.to_numeric(optics[label], errors="coerce").to_numpy(dtype=np.float64)

    tilt_series = column("rlnTomoTiltSeriesPixelSize")
    if tilt_series is not None:
        if binning is not None:
            factor = np.full(len(optics), float(binning))
        else:
            factor = column("rlnTomoSubtomogramBinning")
            factor = np.ones(len(optics)) if factor is None else np.where(np.isfinite(factor), factor, 1.0)
        return tilt_series * factor
    for label in ("rlnImagePixelSize", "rlnMicrographPixelSize"):
        values = column(label)
        if values is not None:
            return values
    return None


def optics_block(pixel_size: float, binning: float | None = None, tomo: bool = False) -> pd.DataFrame:
    """A single optics group: 3D images of `pixel_size` Å (RELION 3.1) or tomography optics (4, 5)."""
    optics: dict[str, list[Any]] = {
        "rlnOpticsGroup": [1],
        "rlnOpticsGroupName": ["opticsGroup1"],
    }
    if tomo:
        binning = 1.0 if binning is None else float(binning)
        optics["rlnTomoTiltSeriesPixelSize"] = [pixel_size / binning]
        optics["rlnTomoSubtomogramBinning"] = [binning]
    optics["rlnImagePixelSize"] = [float(pixel_size)]
    optics["rlnImageDimensionality"] = [3]
    return pd.DataFrame(optics)


def optics_value(blocks: dict, label: str) -> float | None:
    """`label` of the first optics group, or None."""
    optics = blocks.get("optics")
    if isinstance(optics, pd.DataFrame) and label in optics.columns and len(optics):
        value = pd.to_numeric(optics[label], errors="coerce").iloc[0]
        return None if pd.isna(value) else float(value)
    return None


def optics_of(blocks: dict) -> pd.DataFrame | None:
    """The optics block as a table (a one-row block is read as a dict), or None."""
    optics = blocks.get("optics")
    if isinstance(optics, dict):
        optics = pd.DataFrame({k: [v] for k, v in optics.items()})
    return optics.reset_index(drop=True) if isinstance(optics, pd.DataFrame) else None


def pixel_sizes_by_group(
    table: pd.DataFrame, optics: pd.DataFrame | None, path: str | os.PathLike, binning: float | None = None
) -> np.ndarray | None:
    """Each particle's pixel size from its optics group (None if the optics give none).

    Raises
    ------
    InputError
        A particle names an optics group the optics block lacks.
    """
    if optics is None:
        return None
    sizes = group_pixel_sizes(optics, binning)
    if sizes is None:
        return None
    if "rlnOpticsGroup" not in table.columns or len(optics) == 1:
        return np.full(len(table), sizes[0]) if len(sizes) else None
    groups = _numeric(table, "rlnOpticsGroup", path)
    known = pd.to_numeric(optics["rlnOpticsGroup"], errors="coerce").to_numpy(dtype=np.float64)
    index = {g: i for i, g in enumerate(known.tolist())}
    missing = sorted({g for g in groups.tolist() if g not in index})
    if missing:
        raise InputError(f"particles of optics group {missing[0]:g}, which the optics block lacks", path)
    return sizes[[index[g] for g in groups.tolist()]]
