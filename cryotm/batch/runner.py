"""Run a pipeline over many tomograms: in this process, in worker processes, or on a Dask cluster.

Each tomogram is one task: the pipeline writes ``<output_dir>/<name><ext>``
and then its record ``<name><ext>.cryotm.json`` (both atomically). The
record is the done-marker: on a second run, a tomogram whose output exists
and matches its record (size, SHA-256) and whose record was made by the same
pipeline parameters and the same input files is skipped; any other is run
again (a missing, partial or stale output is replaced). A tomogram that fails
is reported with its reason and does not stop the others. At the end the
outputs are read back and joined into one merged particle list
(``<output_dir>/merged<ext>``), in the order of the tomograms, so the result
does not depend on which worker finished first.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import socket
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from .._atomic import check_file_name, make_output_folder
from ..errors import CryotmError, warnings_shown_as_lines
from ..particles import ParticleList
from ..pipeline import Pipeline, TomogramInputs
from ..pipeline.record import (
    expected_fingerprint,
    output_is_valid,
    read_record,
    record_path_for,
)
from .progress import Progress

__all__ = ["TaskOutcome", "BatchSummary", "run_task", "run_batch", "read_back"]


@attrs.frozen
class TaskOutcome:
    """What happened to one tomogram.

    Attributes
    ----------
    name : str
        Tomogram name.
    status : {'done', 'skipped', 'failed'}
        ``skipped``: a complete, valid output of the same run was already there.
    output : str or None
        The particle-list file.
    n_particles : int or None
        Particles written.
    seconds : float
        Time spent on it.
    error : str or None
        Why it failed (one line).
    """

    name: str
    status: str
    output: str | None = None
    n_particles: int | None = None
    seconds: float = 0.0
    error: str | None = None


@attrs.frozen
class BatchSummary:
    """The outcome of a batch: one :class:`TaskOutcome` per tomogram (in input order) and the merged list."""

    outcomes: tuple[TaskOutcome, ...]
    merged: Path | None = None
    merged_count: int = 0
    merge_error: str | None = None
    seconds: float = 0.0

    def by_status(self, status: str) -> list[TaskOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def failed(self) -> list[TaskOutcome]:
        return self.by_status("failed")

    @property
    def ok(self) -> bool:
        """True when every tomogram succeeded and the merged list was written."""
        return not self.failed and self.merge_error is None

    def format(self) -> str:
        """The summary for people: counts, merged list, then each failure and why."""
        done, skipped, failed = (len(self.by_status(s)) for s in ("done", "skipped", "failed"))
        lines = [
            f"{len(self.outcomes)} tomograms in {self.seconds:.1f} s: {done} done, "
            f"{skipped} skipped (complete from an earlier run), {failed} failed"
        ]
        if self.merged is not None:
            lines.append(f"merged list: {self.merged} ({self.merged_count} particles)")
        if self.merge_error is not None:
            lines.append(f"merged list not written: {self.merge_error}")
        for outcome in self.failed:
            lines.append(f"FAILED {outcome.name}: {outcome.error}")
        return "\n".join(lines)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, CryotmError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory"
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" (at {Path(frame.filename).name}:{frame.lineno})" if frame else ""
    return f"{type(exc).__name__}: {exc}{where}"


def run_task(pipeline: Pipeline, inputs: TomogramInputs, output_dir: str | os.PathLike) -> TaskOutcome:
    """Run `pipeline` on one tomogram and write its output and record into `output_dir`.

    Never raises for a failure of the tomogram (bad input, a bug in a
    plugin, out of memory): the outcome says ``failed`` and why. An earlier
    output of the same name is replaced.
    """
    start = time.perf_counter()
    output = Path(output_dir) / pipeline.output_name(inputs.name)
    try:
        result = pipeline.run(inputs, output=output, overwrite=True)
    except Exception as exc:  # one tomogram's failure must not stop the batch
        return TaskOutcome(
            name=inputs.name,
            status="failed",
            output=os.fspath(output),
            seconds=time.perf_counter() - start,
            error=_error_text(exc),
        )
    return TaskOutcome(
        name=inputs.name,
        status="done",
        output=os.fspath(output),
        n_particles=len(result.particles),
        seconds=time.perf_counter() - start,
    )


# -- backends ---------------------------------------------------------------------------
Job = tuple[int, TomogramInputs]


def _in_process(pipeline: Pipeline, jobs: Sequence[Job], output_dir: Path) -> Iterator[tuple[int, TaskOutcome]]:
    for index, inputs in jobs:
        yield index, run_task(pipeline, inputs, output_dir)


def _stop_with(main_pid: int, interval: float = 1.0) -> None:
    """Worker initializer: end this worker soon after the batch's main process is gone (killed, crashed).

    A thread checks every `interval` seconds whether the main process still
    runs, and whether this worker was given a new parent; then the worker
    exits at once, so no worker keeps writing after its batch was killed.
    """
    import threading

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent or not _running(main_pid):
                os._exit(1)

    threading.Thread(target=watch, name="cryotm-watch-main", daemon=True).start()


def _start_worker(main_pid: int, warning_lines: bool) -> None:
    """Worker initializer: :func:`_stop_with` the main process, and show warnings as it does.

    A worker started by ``spawn`` or ``forkserver`` (macOS, Windows, Python
    3.14 on Linux) begins with Python's own two-line warnings; with
    `warning_lines` it prints each :class:`~cryotm.errors.CryotmWarning` as
    the command line's one ``cryotm: warning: ...`` line.
    """
    if warning_lines:
        from ..errors import show_warnings_as_lines

        show_warnings_as_lines()
    _stop_with(main_pid)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - exists, another user's
        return True
    return True


def _process_pool(
    pipeline: Pipeline, jobs: Sequence[Job], output_dir: Path, workers: int
) -> Iterator[tuple[int, TaskOutcome]]:
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, initializer=_start_worker, initargs=(os.getpid(), warnings_shown_as_lines())
    ) as pool:
        futures = {pool.submit(run_task, pipeline, inputs, output_dir): (index, inputs) for index, inputs in jobs}
        for future in concurrent.futures.as_completed(futures):
            index, inputs = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # the worker died (killed, out of memory) or could not unpickle
                reason = "a worker process died (killed or out of memory)" if isinstance(
                    exc, concurrent.futures.process.BrokenProcessPool
                ) else _error_text(exc)
                outcome = TaskOutcome(name=inputs.name, status="failed", error=reason)
            yield index, outcome


def _backend(
    workers: int, scheduler: Any
) -> Callable[[Pipeline, Sequence[Job], Path], Iterator[tuple[int, TaskOutcome]]]:
    if scheduler is not None:
        from .dask_backend import dask_runner

        return dask_runner(scheduler)
    if workers < 1:
        raise CryotmError(f"--workers must be at least 1, got {workers}")
    if workers == 1:
        return _in_process
    return lambda pipeline, jobs, output_dir: _process_pool(pipeline, jobs, output_dir, workers)


# -- merging ----------------------------------------------------------------------------
def read_back(pipeline: Pipeline | None, output: str | os.PathLike) -> ParticleList:
    """Read a tomogram's output again, with what its record knows (pixel size, tomogram shape).

    The writer's format reader is used; its options that the writer shares
    (binning, centre, ...) and the run's pixel size and tomogram shape are
    passed when the reader has them. With `pipeline` None the format and the
    writer's options are taken from the record as plain data: nothing named
    in the record is imported (what ``cryotm report`` does).
    """
    from ..formats import motl_readers

    output = Path(output)
    record = read_record(record_path_for(output))
    if pipeline is not None:
        writer = pipeline.writer
        assert writer is not None
        name = type(writer).name
        written = attrs.asdict(writer, recurse=False) if attrs.has(type(writer)) else {}
    else:
        name = str((record.get("output") or {}).get("format") or "")
        section = (record.get("pipeline") or {}).get("writer") or {}
        written = dict(section.get("parameters") or {}) if isinstance(section, dict) else {}
    readers = motl_readers()
    if name not in readers:
        raise CryotmError(f"format {name!r} has no reader, so the outputs cannot be read back")
    reader_cls = readers[name]
    fields = {f.name for f in attrs.fields(reader_cls)} if attrs.has(reader_cls) else set()
    options = {k: v for k, v in written.items() if k in fields}
    result = record.get("result", {})
    if "pixel_size" in fields and result.get("pixel_size"):
        options["pixel_size"] = float(result["pixel_size"])
    if "tomogram_shape" in fields and result.get("tomogram_shape"):
        options["tomogram_shape"] = tuple(int(v) for v in result["tomogram_shape"])
    particles = reader_cls(**options).read(output)
    inputs = record.get("inputs", {})
    data = particles.data.copy()
    data["tomo_id"] = int(inputs.get("tomo_id", 0))
    data["tomo_name"] = str(inputs.get("name", output.stem))
    return attrs.evolve(
        particles,
        data=data,
        experiment_id=str(inputs.get("name", "")),
        pixel_size=particles.pixel_size or result.get("pixel_size"),
        tomogram_shape=particles.tomogram_shape
        or (tuple(result["tomogram_shape"]) if result.get("tomogram_shape") else None),
    )


def _merge(pipeline: Pipeline, outcomes: Sequence[TaskOutcome], target: Path) -> int:
    from .._version import __version__
    from ..formats.merge import merge_lists
    from ..pipeline.record import sha256_of, write_record
    from ..pipeline.serialize import jsonable

    check_own(target)
    lists = [read_back(pipeline, o.output) for o in outcomes if o.status in ("done", "skipped") and o.output]
    merged = merge_lists(lists)
    assert pipeline.writer is not None
    pipeline.writer.write(merged, target, overwrite=True)
    write_record(
        {
            "cryotm_version": __version__,
            "pipeline": jsonable(pipeline.describe()),
            "merged_from": [o.name for o in outcomes if o.status in ("done", "skipped")],
            "output": {"path": target.name, "format": type(pipeline.writer).name,
                       "size": target.stat().st_size, "sha256": sha256_of(target)},
        },
        record_path_for(target),
    )
    return len(merged)


def check_own(output: Path) -> None:
    """Refuse to replace `output` unless cryotm wrote it (it is missing, or has a readable run record).

    Raises
    ------
    CryotmError
        If `output` exists without a record: a file that a batch did not
        write is never replaced by one.
    """
    record = record_path_for(output)
    if not output.exists() and not record.exists():
        return
    try:
        read_record(record)
    except CryotmError:
        raise CryotmError(
            f"{output} exists and was not written by cryotm (no readable run record {record.name}); "
            "a batch replaces only its own outputs: move it away, or choose another output folder"
        ) from None


@contextlib.contextmanager
def batch_lock(output_dir: Path) -> Iterator[None]:
    """Hold ``OUTDIR/.cryotm-batch.lock`` while a batch writes there; refuse a second batch into the same folder.

    The lock is an advisory ``flock`` (released by the system when the
    process ends, even when it is killed; the file is removed at the end of
    a batch that was not killed); where ``fcntl`` is missing (Windows) no
    lock is taken.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path = output_dir / LOCK_NAME
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise CryotmError(
                f"{output_dir}: another batch is writing into this folder ({holder}); wait for it to end, "
                "or give another --output-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                path.unlink()  # while still held: a batch that opens it now finds no lock file, or a locked one
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


#: The lock file of a batch in its output folder.
LOCK_NAME = ".cryotm-batch.lock"


# -- the batch --------------------------------------------------------------------------
def run_batch(
    pipeline: Pipeline,
    tasks: Sequence[TomogramInputs],
    output_dir: str | os.PathLike,
    workers: int = 1,
    scheduler: Any = None,
    resume: bool = True,
    merged: str | None = "merged",
    progress: Progress | str | None = "auto",
) -> BatchSummary:
    """Run `pipeline` on every tomogram of `tasks`.

    Parameters
    ----------
    pipeline : Pipeline
        With a writer (the output format).
    tasks : sequence of TomogramInputs
        The tomograms (see :mod:`cryotm.batch.table`); names must be unique.
    output_dir : path
        Folder for the outputs (created if missing).
    workers : int
        1 runs in this process; more runs that many worker processes.
    scheduler : str or distributed.Client, optional
        Run on a Dask distributed cluster instead (its scheduler address,
        e.g. ``tcp://host:8786``, or a connected client). Needs ``dask[distributed]``.
    resume : bool
        Skip tomograms whose output is complete and valid from an earlier run
        of the same pipeline on the same inputs.
    merged : str or None
        Base name of the merged list (the writer's extension is added); None: no merged list.
    progress : Progress, {'auto', 'bar', 'lines', 'off'} or None
        Progress report on stderr.

    Returns
    -------
    BatchSummary
        Check ``summary.ok``; ``summary.format()`` says what failed and why.
    """
    from .table import check_unique_names

    start = time.perf_counter()
    if pipeline.writer is None:
        raise CryotmError("a batch needs an output format (give the pipeline a writer, --format)")
    check_unique_names(tasks)
    for inputs in tasks:
        pipeline.output_name(inputs.name)  # every name stays inside the folder, checked before any work
    if merged:
        check_file_name(merged, "merged list name (--merged)")
    run = _backend(workers, scheduler)
    output_dir = make_output_folder(output_dir)
    with batch_lock(output_dir):
        return _run_locked(pipeline, tasks, output_dir, run, resume, merged, progress, start)


def _run_locked(
    pipeline: Pipeline,
    tasks: Sequence[TomogramInputs],
    output_dir: Path,
    run: Callable[[Pipeline, Sequence[Job], Path], Iterator[tuple[int, TaskOutcome]]],
    resume: bool,
    merged: str | None,
    progress: Progress | str | None,
    start: float,
) -> BatchSummary:
    if not isinstance(progress, Progress):
        progress = Progress(len(tasks), mode="off" if progress is None else progress)

    outcomes: list[TaskOutcome | None] = [None] * len(tasks)
    jobs: list[Job] = []
    for index, inputs in enumerate(tasks):
        output = output_dir / pipeline.output_name(inputs.name)
        if resume and output_is_valid(output, fingerprint=expected_fingerprint(pipeline, inputs)):
            record = read_record(record_path_for(output))
            outcome = TaskOutcome(
                name=inputs.name,
                status="skipped",
                output=os.fspath(output),
                n_particles=record.get("result", {}).get("n_particles"),
            )
            outcomes[index] = outcome
            progress.advance(inputs.name, "skipped", "complete from an earlier run")
            continue
        try:
            check_own(output)
        except CryotmError as exc:
            outcomes[index] = TaskOutcome(name=inputs.name, status="failed", output=None, error=str(exc))
            progress.advance(inputs.name, "failed", str(exc))
            continue
        jobs.append((index, inputs))
    try:
        for index, outcome in run(pipeline, jobs, output_dir):
            outcomes[index] = outcome
            detail = outcome.error if outcome.status == "failed" else f"{outcome.n_particles} particles, {outcome.seconds:.1f} s"
            progress.advance(outcome.name, outcome.status, detail or "")
    finally:
        progress.close()

    final = tuple(o for o in outcomes if o is not None)
    merged_path = None
    merged_count = 0
    merge_error = None
    if merged:
        merged_path = output_dir / pipeline.output_name(merged)
        if any(t.name == merged for t in tasks):
            merge_error = f"a tomogram is named {merged!r}; choose another name for the merged list"
            merged_path = None
        else:
            try:
                merged_count = _merge(pipeline, final, merged_path)
            except Exception as exc:
                merge_error = _error_text(exc)
                merged_path = None
    return BatchSummary(
        outcomes=final,
        merged=merged_path,
        merged_count=merged_count,
        merge_error=merge_error,
        seconds=time.perf_counter() - start,
    )

