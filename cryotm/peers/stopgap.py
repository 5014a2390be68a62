"""STOPGAP template-matching parameter files (``tm_param.star``) as cryotm inputs.

STOPGAP's ``stopgap_tm_parser.sh`` writes ``params/tm_param.star`` (block
``data_stopgap_tm_parameters``), one row per tomogram. cryotm reads:

``rootdir``, ``mapdir`` (default ``maps``), ``listdir`` (default ``lists``), ``maskdir`` (default ``masks``)
    Folders; when ``rootdir`` has moved, the parameter file's folder and its
    parent are searched too.
``tomo_num``, ``tomo_name``
    Tomogram number (written into the particle list) and name.
``smap_name``, ``omap_name``
    Map base names: STOPGAP writes ``<mapdir>/<smap_name>_<tomo_num>.em``
    (``.mrc`` is accepted too).
``tlist_name``
    The template list (``<listdir>/<tlist_name>``, block
    ``data_sg_tm_template_list``) whose ``anglist_name`` is the angle list
    CSV (in ``listdir``) and ``symmetry`` the template's symmetry.
``tomo_mask_name``
    Optional tomogram mask.

Conventions: STOPGAP's angle map counts from 1 and its angle list has the
columns phi, psi, theta (``zzx``); positions follow MATLAB's 1-based voxels
in STOPGAP's own motive lists, but the maps themselves are plain volumes, so
cryotm's 0-based positions need no conversion here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..pipeline.inputs import TomogramInputs
from ._paramstar import read_param_rows, star_block_names
from .base import PeerJob, first_existing, resolve_against

__all__ = ["read_stopgap_params", "sniff_stopgap_params", "STOPGAP_BLOCK"]

PROGRAM = "stopgap"
STOPGAP_BLOCK = "stopgap_tm_parameters"
_MAP_EXTENSIONS = (".em", ".mrc")


def sniff_stopgap_params(path: str | os.PathLike) -> bool:
    """True if `path` is a STAR file with a ``data_stopgap_tm_parameters`` block."""
    return Path(path).suffix.lower() == ".star" and STOPGAP_BLOCK in star_block_names(path)


def _roots(row: dict[str, Any], path: Path) -> list[Path]:
    roots = []
    rootdir = str(row.get("rootdir") or "").strip()
    if rootdir:
        roots += resolve_against(rootdir, [path.parent])
    roots += [path.parent.parent, path.parent]
    return list(dict.fromkeys(roots))


def _text(row: dict[str, Any], key: str, default: str | None = None) -> str | None:
    value = row.get(key)
    if value is None or (isinstance(value, float) and value != value) or str(value).strip() == "":
        return default
    return str(value).strip()


def _tomo_num(row: dict[str, Any], number: int, path: Path) -> int:
    """The row's ``tomo_num`` as an integer (`number` counts rows from 1, for the message)."""
    text = _text(row, "tomo_num")
    if text is None:
        raise InputError(f"parameter row {number} has no tomo_num", path)
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value.is_integer():
        raise InputError(f"parameter row {number}: tomo_num must be a whole number, got {text!r}", path)
    return int(value)


def _angle_list(row: dict[str, Any], roots: list[Path], listdir: str, path: Path) -> tuple[Path, str]:
    tlist_name = _text(row, "tlist_name")
    if tlist_name is None:
        raise InputError("the parameter row has no tlist_name (template list)", path)
    tlist_path = first_existing(
        [c for root in roots for c in resolve_against(tlist_name, [root / listdir, root])],
        f"template list {tlist_name}",
        path,
    )
    _, templates = read_param_rows(tlist_path)
    names = {str(t.get("anglist_name", "")).strip() for t in templates}
    if len(names) != 1 or names == {""}:
        raise InputError(
            "cryotm reads template lists with one angle list; this one names "
            f"{', '.join(sorted(names)) or 'none'}",
            tlist_path,
        )
    anglist = names.pop()
    list_path = first_existing(
        resolve_against(anglist, [tlist_path.parent] + [root / listdir for root in roots]),
        f"angle list {anglist}",
        tlist_path,
    )
    symmetry = str(templates[0].get("symmetry") or "c1").strip().lower()
    return list_path, symmetry


def read_stopgap_params(path: str | os.PathLike) -> list[PeerJob]:
    """Read every tomogram of a STOPGAP ``tm_param.star``.

    Returns
    -------
    list of PeerJob
        One per parameter row, with 1-based angle indices and ``zzx`` order.

    Raises
    ------
    InputError
        Not a STOPGAP parameter file, or a map, template list or angle list not found.
    """
    path = Path(path)
    block, rows = read_param_rows(path)
    if block != STOPGAP_BLOCK:
        raise InputError(f"not a STOPGAP template-matching parameter file (block data_{block})", path)
    jobs = []
    for number, row in enumerate(rows, start=1):
        tomo_num = _tomo_num(row, number, path)
        roots = _roots(row, path)
        mapdir = _text(row, "mapdir", "maps")
        listdir = _text(row, "listdir", "lists")
        maskdir = _text(row, "maskdir", "masks")
        smap = _text(row, "smap_name", "smap")
        omap = _text(row, "omap_name", "omap")

        def find_map(base: str, what: str) -> Path:
            candidates = [
                root / mapdir / f"{base}_{tomo_num}{ext}" for root in roots for ext in _MAP_EXTENSIONS  # noqa: B023
            ]
            return first_existing(candidates, what, path)

        scores = find_map(smap, "scores map")
        angles = find_map(omap, "angle map")
        list_path, symmetry = _angle_list(row, roots, listdir, path)
        mask_name = _text(row, "tomo_mask_name")
        mask = None
        if mask_name is not None and mask_name.lower() != "none":
            mask = first_existing(
                [c for root in roots for c in resolve_against(mask_name, [root / maskdir, root])],
                f"tomogram mask {mask_name}",
                path,
            )
        name = _text(row, "tomo_name")
        name = Path(name).stem if name else f"{tomo_num}"
        inputs = TomogramInputs(
            name=name,
            scores=scores,
            angles=angles,
            angle_list=list_path,
            mask=mask,
            tomo_id=tomo_num,
            angles_order="zzx",
            index_base=1,
            source=os.fspath(path),
        )
        jobs.append(PeerJob(program=PROGRAM, inputs=inputs, symmetry=symmetry, source=os.fspath(path)))
    return jobs
