"""What peers' jobs say about picking: the picker parameters of one job, or of several that agree.

``cryotm extract-job`` and ``cryotm batch`` both turn the jobs they read into
picker parameters here, so the two commands pick a peer's tomogram the same way:

- ``particle_diameter`` (voxels): the job's, when it states one
  (pytom-match-pick: ``particle_diameter / voxel_size``);
- ``symmetry``: the template's cyclic symmetry ``cN`` (pytom-match-pick's
  ``rotational_symmetry``, STOPGAP's template list, GAPSTOP's ``symmetry``):
  each pick's phi gets a random turn by a multiple of ``360 / N``, as
  cryoCAT does; with N > 1 the random choice is seeded (``seed = 0``) so that
  the run record repeats exactly.

Parameters the user sets (on the command line or in a config's ``[picker]``)
are not taken from the jobs.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from ..errors import CryotmError, InputError
from .base import PeerJob

__all__ = ["picker_parameters", "SYMMETRY_SEED"]

#: Seed of the in-plane turns of a symmetric job (so that its run record repeats exactly).
SYMMETRY_SEED = 0


def _cyclic(job: PeerJob) -> str:
    """The job's symmetry as ``cN``, or an error naming the job file when it is not cyclic."""
    from ..angles import parse_symmetry

    try:
        order = parse_symmetry(job.symmetry)
    except CryotmError:
        raise InputError(
            f"the template's symmetry {job.symmetry!r} is not cyclic; cryotm applies only Cn symmetry "
            "(a random in-plane turn by k*360/N): give the symmetry yourself (--symmetry c1 to pick without one)",
            job.source or None,
        ) from None
    return f"c{order}"


def _agreed(values: dict[str, list[str]], what: str, option: str) -> str | None:
    """The one value of `values` (value -> tomogram names), None if empty; an error if several."""
    if len(values) > 1:
        listed = "; ".join(f"{value} for {', '.join(dict.fromkeys(names))}" for value, names in values.items())
        raise CryotmError(f"the job files give different {what} ({listed}): give one with {option}")
    return next(iter(values)) if values else None


def picker_parameters(jobs: Sequence[PeerJob], given: Collection[str] = ()) -> dict[str, Any]:
    """The picker parameters that `jobs` state (all of them, where they agree).

    Parameters
    ----------
    jobs : sequence of PeerJob
        The jobs one pipeline will run on.
    given : collection of str
        Picker parameters the user sets: they are neither taken from the jobs
        nor checked (the jobs may disagree on them, or name a symmetry cryotm
        cannot apply).

    Returns
    -------
    dict
        Some of ``particle_diameter`` (jobs that state none are not counted),
        ``symmetry`` (``"cN"``) and, for N > 1, ``seed``.

    Raises
    ------
    CryotmError
        If the jobs disagree on a parameter not in `given`, or a job's
        symmetry is not cyclic.

    Examples
    --------
    >>> from cryotm.pipeline import TomogramInputs
    >>> inputs = TomogramInputs("t1", "s.mrc", "a.mrc", "l.csv")
    >>> picker_parameters([PeerJob("pytom-match-pick", inputs, particle_diameter=12.0, symmetry="c6")])
    {'particle_diameter': 12.0, 'symmetry': 'c6', 'seed': 0}
    >>> picker_parameters([PeerJob("stopgap", inputs, symmetry="C1")], given={"particle_diameter"})
    {'symmetry': 'c1'}
    """
    parameters: dict[str, Any] = {}
    if "particle_diameter" not in given:
        diameters: dict[float, list[str]] = {}
        for job in jobs:
            if job.particle_diameter:
                diameters.setdefault(float(job.particle_diameter), []).append(job.inputs.name)
        diameter = _agreed(
            {f"{d:g} voxels": s for d, s in diameters.items()}, "particle diameters", "--diameter"
        )
        if diameter is not None:
            parameters["particle_diameter"] = next(iter(diameters))
    if "symmetry" not in given and jobs:
        symmetries: dict[str, list[str]] = {}
        for job in jobs:
            symmetries.setdefault(_cyclic(job), []).append(job.inputs.name)
        symmetry = _agreed(symmetries, "symmetries", "--symmetry")
        parameters["symmetry"] = symmetry
        if symmetry != "c1" and "seed" not in given:
            parameters["seed"] = SYMMETRY_SEED
    return parameters
