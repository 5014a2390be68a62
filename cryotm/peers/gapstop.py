"""GAPSTOP(TM) parameter files (``tm_params.star``) as cryotm inputs.

GAPSTOP(TM) (``gapstop run_tm tm_params.star``) reads one star block whose
rows are tomograms, with the fields ``rootdir``, ``outputdir``, ``vol_ext``,
``tomo_name``, ``tomo_num``, ``wedgelist_name``, ``tmpl_name``,
``mask_name``, ``symmetry``, ``anglist_order``, ``anglist_name``,
``smap_name``, ``omap_name``, ``lp_rad``, ``hp_rad``, ``binning``,
``tiling`` (and optionally ``tomo_mask_name``). It writes
``<rootdir>/<outputdir>/<smap_name>_<row>_<tomo_num><vol_ext>`` (``row``
counting the parameter rows from 0), e.g. ``results/scores_0_1.em``; cryotm
also accepts ``<smap_name>_<tomo_num><vol_ext>``.

Conventions: the angle map counts from 0 and the angle list is a CSV in
``anglist_order`` (``zxz`` by default), relative to ``rootdir``.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError
from ..pipeline.inputs import TomogramInputs
from ._paramstar import read_param_rows, star_block_names
from .base import PeerJob, first_existing, resolve_against
from .stopgap import STOPGAP_BLOCK, _roots, _text, _tomo_num

__all__ = ["read_gapstop_params", "sniff_gapstop_params"]

PROGRAM = "gapstop"


def sniff_gapstop_params(path: str | os.PathLike) -> bool:
    """True if `path` is a STAR file with GAPSTOP's ``anglist_name`` and ``smap_name`` fields."""
    path = Path(path)
    if path.suffix.lower() != ".star" or STOPGAP_BLOCK in star_block_names(path):
        return False
    try:
        text = path.read_text(errors="replace")[:20000]
    except OSError:
        return False
    return "_anglist_name" in text and "_smap_name" in text


def read_gapstop_params(path: str | os.PathLike) -> list[PeerJob]:
    """Read every tomogram of a GAPSTOP(TM) ``tm_params.star``.

    Returns
    -------
    list of PeerJob
        One per row, with 0-based angle indices and the row's ``anglist_order``.

    Raises
    ------
    InputError
        Missing fields, or a map or angle list not found.
    """
    path = Path(path)
    _, rows = read_param_rows(path)
    jobs = []
    for index, row in enumerate(rows):
        tomo_num = _tomo_num(row, index + 1, path)
        if _text(row, "anglist_name") is None:
            raise InputError(f"parameter row {index + 1} has no anglist_name", path)
        roots = _roots(row, path)
        outputdir = _text(row, "outputdir", ".")
        ext = _text(row, "vol_ext", ".em")
        ext = ext if ext.startswith(".") else f".{ext}"

        def find_map(base: str, what: str) -> Path:
            names = [f"{base}_{index}_{tomo_num}{ext}", f"{base}_{tomo_num}{ext}"]  # noqa: B023
            return first_existing([root / outputdir / n for root in roots for n in names], what, path)  # noqa: B023

        scores = find_map(_text(row, "smap_name", "scores"), "scores map")
        angles = find_map(_text(row, "omap_name", "angles"), "angle map")
        anglist = _text(row, "anglist_name")
        list_path = first_existing(
            [c for root in roots for c in resolve_against(anglist, [root])], f"angle list {anglist}", path
        )
        order = (_text(row, "anglist_order", "zxz") or "zxz").lower()
        if order not in ("zxz", "zzx"):
            raise InputError(f"anglist_order must be zxz or zzx, got {order!r}", path)
        mask_name = _text(row, "tomo_mask_name")
        mask = None
        if mask_name is not None and mask_name.lower() != "none":
            mask = first_existing(
                [c for root in roots for c in resolve_against(mask_name, [root])], f"tomogram mask {mask_name}", path
            )
        name = _text(row, "tomo_name")
        inputs = TomogramInputs(
            name=Path(name).stem if name else str(tomo_num),
            scores=scores,
            angles=angles,
            angle_list=list_path,
            mask=mask,
            tomo_id=tomo_num,
            angles_order=order,
            index_base=0,
            source=os.fspath(path),
        )
        symmetry = (_text(row, "symmetry", "c1") or "c1").lower()
        jobs.append(PeerJob(program=PROGRAM, inputs=inputs, symmetry=symmetry, source=os.fspath(path)))
    return jobs
