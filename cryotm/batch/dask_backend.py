"""Run batch tasks on a Dask distributed cluster (optional: ``pip install "dask[distributed]"``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import CryotmError
from ..pipeline import Pipeline, TomogramInputs

__all__ = ["dask_runner", "connect"]


def connect(scheduler: Any):
    """A :class:`distributed.Client` for `scheduler` (an address, or a client, returned as is).

    Raises
    ------
    CryotmError
        If ``dask.distributed`` is not installed or the scheduler cannot be reached.
    """
    try:
        from distributed import Client
    except ImportError:
        raise CryotmError(
            'running on a Dask cluster needs dask.distributed: pip install "cryotm[distributed]"'
        ) from None
    if isinstance(scheduler, Client):
        return scheduler
    try:
        return Client(str(scheduler), timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise CryotmError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None


def dask_runner(
    scheduler: Any,
) -> Callable[[Pipeline, Sequence[tuple[int, TomogramInputs]], Path], Iterator[tuple[int, Any]]]:
    """A batch backend that submits each tomogram to the cluster at `scheduler`."""

    def run(pipeline: Pipeline, jobs: Sequence[tuple[int, TomogramInputs]], output_dir: Path):
        from distributed import as_completed

        from .runner import TaskOutcome, _error_text, run_task

        client = connect(scheduler)
        own_client = client is not scheduler
        try:
            if not jobs:
                return
            futures = {}
            for index, inputs in jobs:
                future = client.submit(run_task, pipeline, inputs, output_dir, pure=False)
                futures[future] = (index, inputs)
            for future in as_completed(list(futures)):
                index, inputs = futures[future]
                try:
                    outcome = future.result()
                except Exception as exc:  # the worker died, or the task could not be sent
                    outcome = TaskOutcome(name=inputs.name, status="failed", error=_error_text(exc))
                yield index, outcome
        finally:
            if own_client:
                client.close()

    return run
