"""STAR-file plumbing shared by the STOPGAP and RELION formats (through :mod:`starfile`)."""

from __future__ import annotations

import os
from pathlib import Path

from .._lazy import lazy_module
from ..errors import InputError

pd = lazy_module("pandas")
starfile = lazy_module("starfile")

__all__ = ["scan_star", "read_star", "write_star", "STRING_LABELS"]

#: Labels that are names, never numbers (``001`` must stay ``001``).
STRING_LABELS: list[str] = [
    "rlnTomoName",
    "rlnTomoParticleName",
    "rlnMicrographName",
    "rlnImageName",
    "rlnOpticsGroupName",
    "rlnCtfImage",
    "rlnTomoImportParticleFile",
    "halfset",
]


def scan_star(path: str | os.PathLike, max_lines: int = 2000) -> dict[str, list[str]]:
    """Block names and their labels, from the head of a STAR file (no data parsed).

    Reading stops at the first data row of a block other than ``optics``
    (so a large particle list costs only its header), or after `max_lines`.

    Returns
    -------
    dict
        ``{block name without 'data_': [label, ...]}``; empty if the file is
        not text or has no ``data_`` block.
    """
    blocks: dict[str, list[str]] = {}
    current: str | None = None
    try:
        with open(path, encoding="utf-8", errors="strict") as handle:
            for number, line in enumerate(handle):
                if number >= max_lines:
                    break
                text = line.strip()
                if not text or text.startswith("#"):
                    continue
                if text.startswith("data_"):
                    current = text[5:].split()[0] if len(text) > 5 else ""
                    blocks[current] = []
                elif current is None:
                    continue
                elif text.startswith("_"):
                    blocks[current].append(text[1:].split()[0])
                elif text.startswith("loop_"):
                    continue
                elif blocks[current] and current != "optics":
                    break
    except (OSError, UnicodeDecodeError):
        return {}
    return blocks


def read_star(
    path: str | os.PathLike, string_labels: list[str] | None = None, as_text: bool = False
) -> dict[str, pd.DataFrame | dict]:
    """Every block of a STAR file, names and ``halfset`` kept as strings.

    `string_labels` replaces :data:`STRING_LABELS` (labels read as text);
    `as_text` reads every value as its text in the file (the RELION readers
    keep it, to write back unchanged values byte for byte, and convert
    numbers with ``pandas.to_numeric`` where they use them).

    Raises
    ------
    InputError
        If the file is missing or not a STAR file starfile can parse.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    _refuse_repeated_blocks(path)
    try:
        labels = STRING_LABELS if string_labels is None else string_labels
        if as_text:
            labels = sorted(set(labels) | set(_all_labels(path)))
        blocks = starfile.read(path, always_dict=True, parse_as_string=labels)
    except Exception as exc:  # starfile raises assorted errors on malformed input
        raise InputError(f"cannot read as a STAR file: {type(exc).__name__}: {exc}", path) from None
    if not blocks:
        raise InputError("no data block in this STAR file", path)
    return dict(blocks)


def block_names(path: str | os.PathLike) -> list[str]:
    """Every ``data_`` block name of a STAR file, in order, repeats included (a scan of the text)."""
    names: list[str] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("data_"):
                    names.append(line[5:].split()[0] if line[5:].strip() else "")
    except OSError:
        return []
    return names


def _all_labels(path: Path) -> list[str]:
    """Every ``_label`` named in a STAR file (a scan of the text)."""
    labels: set[str] = set()
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith("_"):
                labels.add(line[1:].split()[0] if line[1:].strip() else "")
    return sorted(labels - {""})


def _refuse_repeated_blocks(path: Path) -> None:
    """starfile keeps only the last of two blocks of the same name: refuse such a file instead."""
    names = block_names(path)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        name = repeated[0]
        raise InputError(
            f"block data_{name} appears {names.count(name)} times; it would be read as its last copy only "
            "(join the blocks into one, or split the file)",
            path,
        )


def particle_block(
    blocks: dict[str, pd.DataFrame | dict], names: tuple[str, ...], path: str | os.PathLike
) -> pd.DataFrame:
    """The first loop block among `names` (``""`` is RELION 3.0's ``data_``), as a DataFrame."""
    for name in names:
        block = blocks.get(name)
        if isinstance(block, pd.DataFrame):
            return block.reset_index(drop=True)
        if isinstance(block, dict):  # a one-row block is read as a dict
            return pd.DataFrame({k: [v] for k, v in block.items()})
    raise InputError(
        f"no particle block (data_{' / data_'.join(n for n in names)}) in this STAR file; "
        f"found: {', '.join('data_' + b for b in blocks)}",
        path,
    )


def write_star(blocks: dict[str, pd.DataFrame], path: str | os.PathLike) -> None:
    """Write `blocks` (``{name: frame}``) as a STAR file, floats at full precision."""
    starfile.write(blocks, path, float_format=None, sep="\t")
