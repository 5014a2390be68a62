"""Read the rows of STOPGAP/GAPSTOP parameter star files (names kept as strings)."""

from __future__ import annotations

import os
from typing import Any

from .._lazy import lazy_module
from ..errors import InputError
from ..formats._star import read_star, scan_star

pd = lazy_module("pandas")

__all__ = ["read_param_rows", "star_block_names"]

#: Parameter fields that are names or paths, never numbers (``001`` stays ``001``).
_STRING_FIELDS = [
    "rootdir", "tempdir", "commdir", "listdir", "tmpldir", "maskdir", "mapdir", "metadir",
    "outputdir", "vol_ext", "tomo_name", "tomo_mask_name", "wedgelist_name", "tlist_name",
    "tilelist_name", "tomolist_name", "smap_name", "omap_name", "tmap_name", "tmpl_name",
    "mask_name", "symmetry", "anglist_order", "anglist_name", "tiling",
]


def star_block_names(path: str | os.PathLike) -> list[str]:
    """Names of the ``data_`` blocks at the head of a STAR file (empty if it is not one)."""
    return list(scan_star(path))


def read_param_rows(path: str | os.PathLike) -> tuple[str, list[dict[str, Any]]]:
    """The first data block of a parameter star file: its name and its rows as dicts.

    Raises
    ------
    InputError
        If the file is missing, not a STAR file, or holds no rows.
    """
    blocks = read_star(path, string_labels=_STRING_FIELDS)
    name, block = next(iter(blocks.items()))
    if isinstance(block, pd.DataFrame):
        rows = block.to_dict(orient="records")
    else:  # a one-row block is read as a dict
        rows = [dict(block)]
    if not rows:
        raise InputError(f"data block {name!r} has no rows", path)
    cleaned = [{str(k): (v.strip() if isinstance(v, str) else v) for k, v in row.items()} for row in rows]
    return str(name), cleaned
