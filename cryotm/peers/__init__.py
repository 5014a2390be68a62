"""Other template-matching programs' outputs as cryotm inputs, read without conversion.

- pytom-match-pick: its job file ``<tomo_id>_job.json``
  (:func:`read_pytom_job`); the job's search statistics feed the ``far``
  threshold.
- STOPGAP: ``tm_param.star`` (:func:`read_stopgap_params`; 1-based angle
  indices, ``zzx`` angle lists).
- GAPSTOP(TM): ``tm_params.star`` (:func:`read_gapstop_params`; 0-based,
  ``zxz`` by default).
- pyTME: its result file ``.pickle``, ``.pickle.gz`` or ``.hdf5``
  (:func:`read_pytme_result`), read without running any code of it.

:func:`read_jobs` tells them apart by content. Each gives
:class:`PeerJob` objects whose ``inputs`` a :class:`~cryotm.pipeline.Pipeline`
runs directly; :func:`picker_parameters` gives the picker parameters a job
states (particle diameter, symmetry), so that ``cryotm extract-job`` and
``cryotm batch`` pick a peer's tomogram the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError
from .base import PeerJob
from .gapstop import read_gapstop_params, sniff_gapstop_params
from .parameters import picker_parameters
from .pytme import read_pytme_result, read_result_part, sniff_pytme_result
from .pytom_match_pick import read_pytom_angle_list, read_pytom_job, sniff_pytom_job
from .stopgap import read_stopgap_params, sniff_stopgap_params

__all__ = [
    "PeerJob",
    "read_jobs",
    "read_pytom_job",
    "read_pytom_angle_list",
    "read_stopgap_params",
    "read_gapstop_params",
    "read_pytme_result",
    "read_result_part",
    "job_program",
    "picker_parameters",
]


def job_program(path: str | os.PathLike) -> str | None:
    """``pytom-match-pick``, ``stopgap``, ``gapstop``, ``pytme`` or None, from the file's name and content."""
    if sniff_pytme_result(path):
        return "pytme"
    if sniff_pytom_job(path):
        return "pytom-match-pick"
    if sniff_stopgap_params(path):
        return "stopgap"
    if sniff_gapstop_params(path):
        return "gapstop"
    return None


def read_jobs(
    path: str | os.PathLike,
    angle_list: str | os.PathLike | None = None,
    template_shape: int | tuple[int, int, int] | None = None,
) -> list[PeerJob]:
    """Read a peer's job or parameter file, whichever program wrote it.

    Parameters
    ----------
    path : path
        A pytom-match-pick ``*_job.json``, a STOPGAP ``tm_param.star``, a
        GAPSTOP ``tm_params.star`` or a pyTME result (``.pickle``,
        ``.pickle.gz``, ``.hdf5``).
    angle_list : path, optional
        Angle list for pytom-match-pick jobs whose list cannot be found.
    template_shape : int or (nz, ny, nx), optional
        pyTME results only: the template's box, when the template file the
        result names is not there (see :func:`read_pytme_result`).

    Raises
    ------
    InputError
        If the file is missing or none of the readers recognises it.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such job file", path)
    program = job_program(path)
    if program == "pytom-match-pick":
        return [read_pytom_job(path, angle_list=angle_list)]
    if angle_list is not None:
        raise InputError(
            "--angle-list applies to pytom-match-pick jobs only (STOPGAP/GAPSTOP name theirs, pyTME holds its own)",
            path,
        )
    if program == "pytme":
        return [read_pytme_result(path, template_shape=template_shape)]
    if template_shape is not None:
        raise InputError("--template-size applies to pyTME results only", path)
    if program == "stopgap":
        return read_stopgap_params(path)
    if program == "gapstop":
        return read_gapstop_params(path)
    raise InputError(
        "not a job file cryotm knows (pytom-match-pick *_job.json, STOPGAP tm_param.star, "
        "GAPSTOP tm_params.star, pyTME .pickle/.pickle.gz/.hdf5 result)",
        path,
    )
