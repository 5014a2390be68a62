"""Batch runs: one pipeline over many tomograms, locally or on a Dask cluster, resumable.

- :mod:`cryotm.batch.table`: the tomograms, from a CSV/TSV/STAR table, a glob pattern or
  peers' job files (:func:`read_tasks` tells them apart);
- :mod:`cryotm.batch.runner`: :func:`run_batch` (workers, resume, failures, merged list);
- :mod:`cryotm.batch.dask_backend`: the Dask distributed backend (optional extra);
- :mod:`cryotm.batch.progress`: the progress report on stderr;
- :mod:`cryotm.batch.sources`: inputs that plugins read (``copick://`` projects), through a hook.
"""

from .progress import Progress
from .sources import BatchSource, batch_sources
from .runner import BatchSummary, TaskOutcome, read_back, run_batch, run_task
from .table import BatchInputs, read_table, read_tasks, tasks_from_glob, tasks_from_jobs

__all__ = [
    "run_batch",
    "run_task",
    "read_back",
    "BatchSummary",
    "TaskOutcome",
    "Progress",
    "read_tasks",
    "BatchInputs",
    "read_table",
    "tasks_from_glob",
    "tasks_from_jobs",
    "BatchSource",
    "batch_sources",
]
