"""``cryotm batch copick://...``: every run of a copick project that holds the maps becomes a tomogram.

The template-matching maps of a run are tomograms of the run (OME-Zarr, as
copick stores every tomogram): the scores map of type ``scores=`` (default
``tm-scores``) and the angle-index map of type ``angles=`` (default
``tm-angles``), and optionally a mask of type ``mask=``, all at one voxel
spacing (``voxel_spacing=``, else the one at which the run has the scores
map). Each is read at full resolution through cryotm's ``zarr`` map format;
the pixel size is the map's. A run without both maps is not part of the
batch (the runs left out are named on stderr); a run whose maps are there but
cannot be used fails in the batch like any tomogram, with its reason.

The tomogram's name is the run's name, so a ``copick`` writer given the
project (``-O config=...``) stores each run's picks in that run. Only
projects on this machine's file system can be read (the maps are read from
their folders).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryotm.batch import BatchSource
from cryotm.batch.table import BatchInputs, check_unique_names
from cryotm.errors import CryotmError, InputError
from cryotm.pipeline import TomogramInputs

from .target import SCHEME, open_project, parse_target

__all__ = ["CopickSource", "DEFAULT_SCORES", "DEFAULT_ANGLES"]

DEFAULT_SCORES = "tm-scores"
DEFAULT_ANGLES = "tm-angles"
_BATCH_KEYS = ("scores", "angles", "mask", "voxel_spacing", "angle_list", "runs")


def _local_zarr(tomogram, source: str) -> Path:
    """The local folder of a copick tomogram's OME-Zarr store."""
    path = tomogram.static_path if getattr(tomogram, "read_only", False) else getattr(tomogram, "overlay_path", None)
    if path is None or not os.path.isdir(path):
        raise InputError(
            f"tomogram {tomogram.tomo_type!r} of run {tomogram.voxel_spacing.run.name!r} is not in a folder on this "
            "machine; cryotm reads copick projects on the local file system",
            source,
        )
    return Path(path)


def _tomogram(spacing, tomo_type: str):
    """The spacing's (first) tomogram of `tomo_type`, or None."""
    found = spacing.get_tomograms(tomo_type)
    return found[0] if found else None


def _spacing(run, scores: str, wanted: float | None, source: str):
    """The voxel spacing of `run` holding the scores tomogram (None if it has none)."""
    if wanted is not None:
        spacing = run.get_voxel_spacing(wanted)
        return spacing if spacing is not None and _tomogram(spacing, scores) is not None else None
    holding = [vs for vs in run.voxel_spacings if _tomogram(vs, scores) is not None]
    if len(holding) > 1:
        sizes = ", ".join(f"{vs.voxel_size:g}" for vs in holding)
        raise InputError(f"run {run.name!r} has {scores!r} maps at voxel spacings {sizes}: give voxel_spacing=", source)
    return holding[0] if holding else None


class CopickSource(BatchSource):
    """The runs of a copick project as the tomograms of a batch (``copick://CONFIG?scores=...&angles=...``)."""

    name = "copick"
    schemes = (SCHEME,)
    description = "the runs of a copick project holding tm-scores/tm-angles maps (plugin cryotm-copick)"

    @classmethod
    def read(
        cls,
        source: str,
        angle_list: str | os.PathLike | None = None,
        defaults: Mapping[str, Any] | None = None,
    ) -> BatchInputs:
        target = parse_target(source, allowed=_BATCH_KEYS)
        root = open_project(target.config, source)
        scores = target.get("scores", DEFAULT_SCORES)
        angles = target.get("angles", DEFAULT_ANGLES)
        mask = target.get("mask")
        spacing_text = target.get("voxel_spacing")
        try:
            wanted = float(spacing_text) if spacing_text else None
        except ValueError:
            raise InputError(f"voxel_spacing must be a number, got {spacing_text!r}", source) from None
        listed = target.get("angle_list")
        if listed:
            listed_path = Path(listed)
            angle_list = listed_path if listed_path.is_absolute() else target.config.parent / listed_path
        if angle_list is None:
            raise CryotmError(f"{source}: give the angle list (--angle-list CSV, or angle_list= in the copick source)")
        runs = sorted(root.runs, key=lambda r: r.name)
        if target.get("runs"):
            chosen = [name.strip() for name in target.get("runs", "").split(",") if name.strip()]
            unknown = sorted(set(chosen) - {r.name for r in runs})
            if unknown:
                raise InputError(f"no run {', '.join(map(repr, unknown))} in the copick project", source)
            runs = [r for r in runs if r.name in chosen]
        options = {k: v for k, v in dict(defaults or {}).items() if v is not None}
        tasks: list[TomogramInputs] = []
        left_out: list[str] = []
        for number, run in enumerate(runs, start=1):
            spacing = _spacing(run, scores, wanted, source)
            if spacing is None or _tomogram(spacing, angles) is None:
                left_out.append(run.name)
                continue
            mask_tomogram = _tomogram(spacing, mask) if mask else None
            if mask and mask_tomogram is None:
                left_out.append(run.name)
                continue
            tasks.append(
                TomogramInputs(
                    name=run.name,
                    scores=_local_zarr(_tomogram(spacing, scores), source),
                    angles=_local_zarr(_tomogram(spacing, angles), source),
                    angle_list=angle_list,
                    mask=_local_zarr(mask_tomogram, source) if mask_tomogram is not None else None,
                    tomo_id=number,
                    source=source,
                    **options,
                )
            )
        wanted_maps = " and ".join(repr(t) for t in (scores, angles, mask) if t)
        if not tasks:
            raise InputError(f"no run of the copick project holds {wanted_maps} maps", source)
        if left_out:
            names = ", ".join(left_out)
            print(f"copick: {len(left_out)} run(s) without {wanted_maps} maps left out: {names}", file=sys.stderr)
        check_unique_names(tasks, source=source)
        return BatchInputs(tasks=tasks, jobs=[])
