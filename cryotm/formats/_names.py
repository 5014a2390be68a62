"""Tomogram and particle names <-> numeric ids (for formats that store one or the other)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

__all__ = ["first_integer", "ids_from_names", "subtomo_ids_from_names"]

_INTEGER = re.compile(r"\d+")
#: Warp's subtomogram file names: ``{tomogram}_{index:07d}_{pixel size:.2f}A.mrc`` (the index counts from 0).
_WARP = re.compile(r"_(\d{7})_\d+(?:\.\d+)?A$")


def first_integer(text: str) -> int | None:
    """The first run of digits in the last path component of `text`, or None.

    Examples
    --------
    >>> first_integer("/data/TS_017.mrc"), first_integer("001"), first_integer("tomo")
    (17, 1, None)
    """
    match = _INTEGER.search(str(text).replace("\\", "/").rsplit("/", 1)[-1])
    return int(match.group()) if match else None


def ids_from_names(names: Sequence[str]) -> np.ndarray:
    """Numeric tomogram ids for tomogram names (cryoCAT's rule, made safe).

    Each name gives the first integer of its last path component
    (``TS_017`` -> 17, ``001`` -> 1). If a name has no digits, or two
    different names would get the same id, the names are numbered 1, 2, ...
    in order of first appearance instead.

    Examples
    --------
    >>> ids_from_names(["TS_03", "TS_01", "TS_03"]).tolist()
    [3, 1, 3]
    >>> ids_from_names(["lamella_a", "lamella_b"]).tolist()
    [1, 2]
    """
    names = [str(n) for n in names]
    unique = list(dict.fromkeys(names))
    parsed = {name: first_integer(name) for name in unique}
    values = list(parsed.values())
    if None in values or len(set(values)) != len(values):
        parsed = {name: i for i, name in enumerate(unique, start=1)}
    return np.array([parsed[n] for n in names], dtype=np.int64)


def subtomo_ids_from_names(names: Sequence[str]) -> np.ndarray:
    """Particle ids from RELION particle/image names, or 1..N if they do not give unique ids.

    ``TS_01/17`` gives 17 (RELION 4/5 ``rlnTomoParticleName``); an image file
    name such as ``Subtomograms/TS_01_000017.mrc`` gives its last integer
    (the extension is ignored); a Warp subtomogram name
    ``0002_0000065_2.45A.mrc`` gives its particle index 65 (not the pixel
    size that ends the name).

    Examples
    --------
    >>> subtomo_ids_from_names(["TS_01/5", "TS_01/9"]).tolist()
    [5, 9]
    >>> subtomo_ids_from_names(["a/x_0002.mrc", "a/x_0007.mrc"]).tolist()
    [2, 7]
    >>> subtomo_ids_from_names(["0002/0002_0000065_2.45A.mrc", "0002/0002_0000066_2.45A.mrc"]).tolist()
    [65, 66]
    """
    ids: list[int] = []
    for name in names:
        last = str(name).replace("\\", "/").rsplit("/", 1)[-1]
        stem = last[: -len(".mrc")] if last.lower().endswith(".mrc") else last.rsplit(".", 1)[0] if "." in last else last
        warp = _WARP.search(stem)
        if warp:
            ids.append(int(warp.group(1)))
            continue
        digits = _INTEGER.findall(stem)
        if not digits:
            return np.arange(1, len(names) + 1, dtype=np.int64)
        ids.append(int(digits[-1]))
    if len(set(ids)) != len(ids):
        return np.arange(1, len(names) + 1, dtype=np.int64)
    return np.array(ids, dtype=np.int64)
