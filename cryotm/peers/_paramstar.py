"""Read the rows of STOPGAP/GAPSTOP parameter star files (names kept as strings)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import starfile

from ..errors import InputError

__all__ = ["read_param_rows", "star_block_names"]

#: Parameter fields that are names or paths, never numbers (``001`` stays ``001``).
_STRING_FIELDS = [
    "rootdir", "tempdir", "commdir", "listdir", "tmpldir", "maskdir", "mapdir", "metadir",
    "outputdir", "vol_ext", "tomo_name", "tomo_mask_name", "wedgelist_name", "tlist_name",
    "tilelist_name", "tomolist_name", "smap_name", "omap_name", "tmap_name", "tmpl_name",
    "mask_name", "symmetry", "anglist_order", "anglist_name", "tiling",
]


def star_block_names(path: str | os.PathLike) -> list[str]:
    """Names of the ``data_`` blocks of a STAR file (empty if it cannot be read as text)."""
    names = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                text = line.strip()
                if text.startswith("data_"):
                    names.append(text[5:].split()[0] if len(text) > 5 else "")
    except (OSError, UnicodeDecodeError):
        return []
    return names


def read_param_rows(path: str | os.PathLike) -> tuple[str, list[dict[str, Any]]]:
    """The first data block of a parameter star file: its name and its rows as dicts.

    Raises
    ------
    InputError
        If the file is missing, not a STAR file, or holds no rows.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such parameter file", path)
    try:
        blocks = starfile.read(path, always_dict=True, parse_as_string=_STRING_FIELDS)
    except Exception as exc:  # starfile raises many kinds on malformed input
        raise InputError(f"not a readable STAR file: {exc}", path) from None
    if not blocks:
        raise InputError("the STAR file has no data block", path)
    name, block = next(iter(blocks.items()))
    if isinstance(block, pd.DataFrame):
        rows = block.to_dict(orient="records")
    elif isinstance(block, dict):
        rows = [dict(block)]
    else:  # pragma: no cover - starfile returns one of the two
        raise InputError(f"unexpected STAR block {name!r}", path)
    if not rows:
        raise InputError(f"data block {name!r} has no rows", path)
    cleaned = [{str(k): (v.strip() if isinstance(v, str) else v) for k, v in row.items()} for row in rows]
    return str(name), cleaned
