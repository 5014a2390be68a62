"""Batch runs: one pipeline over many tomograms, locally or on a Dask cluster, resumable.

- :mod:`cryotm.batch.table`: the tomograms, from a CSV/TSV/STAR table or a glob pattern;
- :mod:`cryotm.batch.runner`: :func:`run_batch` (workers, resume, failures, merged list);
- :mod:`cryotm.batch.dask_backend`: the Dask distributed backend (optional extra);
- :mod:`cryotm.batch.progress`: the progress report on stderr.
"""

from .progress import Progress
from .runner import BatchSummary, TaskOutcome, read_back, run_batch, run_task
from .table import read_table, tasks_from_glob, tasks_from_jobs

__all__ = [
    "run_batch",
    "run_task",
    "read_back",
    "BatchSummary",
    "TaskOutcome",
    "Progress",
    "read_table",
    "tasks_from_glob",
    "tasks_from_jobs",
]
