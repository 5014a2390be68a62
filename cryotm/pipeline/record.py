"""Run records: what a pipeline did, written next to its output.

A record is a small JSON file ``<output>.cryotm.json``::

    {
      "cryotm_version": "0.1.0",
      "created": "2025-01-01T12:00:00+00:00",
      "pipeline": {...},            # Pipeline.describe(): every parameter the run used
      "fingerprint": "...",         # hash of pipeline + inputs (changes when either does)
      "inputs": {...},              # TomogramInputs.describe(): files, sizes, options
      "threshold": {"value": ..., "strategy": ..., "details": {...}},
      "result": {"n_particles": ..., "seconds": ..., "pixel_size": ..., "tomogram_shape": [nz, ny, nx]},
      "output": {"path": "tomo1.star", "format": "relion5", "size": ..., "sha256": "..."}
    }

It is written (atomically) only after the output is complete, so it doubles
as the done-marker of batch runs: an output is complete and valid when its
record exists and the file's size and SHA-256 match (:func:`output_is_valid`).
:func:`repeat_run` runs a record's pipeline on its inputs again.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._atomic import atomic_path
from .._version import __version__
from ..errors import InputError
from .inputs import TomogramInputs
from .serialize import jsonable

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline import PickResult, Pipeline, RunResult

__all__ = [
    "RECORD_SUFFIX",
    "record_path_for",
    "build_record",
    "claim_record",
    "expected_fingerprint",
    "write_record",
    "read_record",
    "sha256_of",
    "output_is_valid",
    "repeat_run",
]

#: Appended to an output's file name to name its record.
RECORD_SUFFIX = ".cryotm.json"


def record_path_for(output: str | os.PathLike) -> Path:
    """The record file of `output` (``tomo1.star`` -> ``tomo1.star.cryotm.json``)."""
    output = Path(output)
    return output.with_name(output.name + RECORD_SUFFIX)


def sha256_of(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _fingerprint(pipeline: dict[str, Any], inputs: dict[str, Any]) -> str:
    text = json.dumps({"pipeline": pipeline, "inputs": inputs}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def expected_fingerprint(pipeline: Pipeline, inputs: TomogramInputs) -> str:
    """The fingerprint a run of `pipeline` on `inputs` records (parameters + input files)."""
    return _fingerprint(jsonable(pipeline.describe()), inputs.describe())


def build_record(
    pipeline: Pipeline,
    inputs: TomogramInputs,
    result: PickResult,
    output: Path | None,
    seconds: float,
) -> dict[str, Any]:
    """The record of one run (see the module docstring for its fields)."""
    described_pipeline = jsonable(pipeline.describe())
    described_inputs = inputs.describe()
    record: dict[str, Any] = {
        "cryotm_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "pipeline": described_pipeline,
        "fingerprint": _fingerprint(described_pipeline, described_inputs),
        "inputs": described_inputs,
        "threshold": jsonable(
            {
                "value": result.threshold.value,
                "strategy": result.threshold.strategy,
                "details": result.threshold.details,
            }
        ),
        "result": jsonable(
            {
                "n_particles": len(result.particles),
                "seconds": round(float(seconds), 3),
                "pixel_size": result.particles.pixel_size,
                "tomogram_shape": result.particles.tomogram_shape,
            }
        ),
        "output": None,
    }
    if output is not None:
        record["output"] = {
            "path": output.name,
            "format": type(pipeline.writer).name if pipeline.writer is not None else None,
            "size": output.stat().st_size,
            "sha256": sha256_of(output),
        }
    return record


def claim_record(pipeline: Pipeline, inputs: TomogramInputs) -> dict[str, Any]:
    """The record written just before an output: it marks the output as cryotm's but vouches for nothing.

    Its ``output`` is null, so :func:`output_is_valid` is False until the
    full record replaces it; a run killed in between is redone on resume.
    """
    return {
        "cryotm_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "pipeline": jsonable(pipeline.describe()),
        "inputs": inputs.describe(),
        "output": None,
        "claim": "writing",
    }


def write_record(record: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write `record` as indented JSON, atomically (replacing an older record)."""
    path = Path(path)
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(jsonable(record), indent=2, sort_keys=False) + "\n")
    return path


def read_record(path: str | os.PathLike) -> dict[str, Any]:
    """Read a record.

    Raises
    ------
    InputError
        If the file is missing or not a cryotm record.
    """
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError("no such record", path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a readable cryotm record: {exc}", path) from None
    if not isinstance(record, dict) or "pipeline" not in record or "cryotm_version" not in record:
        raise InputError("not a cryotm record (no 'pipeline' or 'cryotm_version')", path)
    return record


def output_is_valid(output: str | os.PathLike, fingerprint: str | None = None) -> bool:
    """True if `output` and its record exist and agree (size, SHA-256 and, if given, fingerprint).

    A missing, partial or changed output, a missing or unreadable record, or
    a record made by other parameters or inputs (`fingerprint`) all give False.
    """
    output = Path(output)
    rec_path = record_path_for(output)
    if not output.is_file() or not rec_path.is_file():
        return False
    try:
        record = read_record(rec_path)
    except InputError:
        return False
    facts = record.get("output") or {}
    if fingerprint is not None and record.get("fingerprint") != fingerprint:
        return False
    if facts.get("size") != output.stat().st_size:
        return False
    return facts.get("sha256") == sha256_of(output)


def repeat_run(
    record: str | os.PathLike | dict[str, Any],
    output: str | os.PathLike | None = None,
    overwrite: bool = False,
    allow_import: bool | None = None,
) -> RunResult:
    """Run a recorded pipeline on its recorded inputs again.

    Parameters
    ----------
    record : path or dict
        A record file (or its contents).
    output : path, optional
        Where to write the particles (default: nothing is written).
    overwrite : bool
        Replace `output` if it exists.
    allow_import : bool, optional
        Let the record name classes outside cryotm and its plugins (see
        :func:`~cryotm.pipeline.config.pipeline_from_config`).
    """
    from .config import pipeline_from_config

    if not isinstance(record, dict):
        record = read_record(record)
    pipeline = pipeline_from_config(record["pipeline"], allow_import=allow_import)
    inputs = TomogramInputs.from_description(record["inputs"])
    return pipeline.run(inputs, output=output, overwrite=overwrite)
