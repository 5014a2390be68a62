"""Default names of tomograms, as every command gives them (light: no numerical imports)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["tomogram_name"]


def tomogram_name(scores: Path) -> str:
    """A tomogram's default name from its scores map's path (``tomo1_scores.mrc``, ``tomo1/scores.mrc`` -> tomo1).

    Examples
    --------
    >>> tomogram_name(Path("run3/tomo1_scores.mrc")), tomogram_name(Path("TS_01/scores.mrc"))
    ('tomo1', 'TS_01')
    """
    stem = scores.name.split(".")[0]
    name = stem.replace("scores", "").strip("_-. ")
    return name or scores.parent.name or stem
