"""What the peer readers share: the job description and path resolution."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..errors import InputError
from ..pipeline.inputs import TomogramInputs

__all__ = ["PeerJob", "first_existing", "resolve_against"]


@attrs.frozen
class PeerJob:
    """One tomogram's template-matching result as another program described it.

    Attributes
    ----------
    program : str
        ``pytom-match-pick``, ``stopgap`` or ``gapstop``.
    inputs : TomogramInputs
        The files and reading options cryotm needs (index base, angle order,
        search statistics, offset of a sub-region search, ...).
    particle_diameter : float, optional
        Particle diameter in voxels, when the job file states one.
    symmetry : str
        Rotational symmetry of the template (``c1``, ``c6``, ...).
    source : str
        The job or parameter file.
    """

    program: str
    inputs: TomogramInputs
    particle_diameter: float | None = None
    symmetry: str = "c1"
    source: str = ""

    def picker_parameters(self) -> dict[str, Any]:
        """The picker parameters this job states (see :func:`cryotm.peers.picker_parameters`)."""
        from .parameters import picker_parameters

        return picker_parameters([self])


def resolve_against(path: str | os.PathLike, bases: Iterable[Path]) -> list[Path]:
    """`path` itself if absolute, else `path` under each of `bases` (in order)."""
    path = Path(path)
    if path.is_absolute():
        return [path]
    return [Path(base) / path for base in bases]


def first_existing(candidates: Sequence[Path], what: str, source: str | os.PathLike) -> Path:
    """The first candidate file that exists.

    Raises
    ------
    InputError
        Naming `what` and every place looked at, with `source` as the file at fault.
    """
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(os.fspath(c) for c in dict.fromkeys(candidates))
    raise InputError(f"{what} not found (looked for {tried})", source)
