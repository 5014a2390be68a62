"""The tomograms of a batch: from a table (CSV, TSV, STAR) or a glob pattern.

A table has one row per tomogram and these columns (names are case-insensitive;
aliases in brackets)::

    name         tomogram name, used for output files   [tomo_name, tomogram, rlnTomoName]
    scores       scores map                               [scores_map]
    angles       angle-index map                          [angle_map, angles_map]
    angle_list   angle list (CSV, degrees)                [angles_list]
    mask         tomogram mask (optional)                 [tomo_mask]
    pixel_size   Å per voxel (optional; else the maps' header)
    tomo_id      tomogram number (optional; else the row number)
    angles_order zxz or zzx (optional)
    index_base   0 or 1 (optional)
    job          a peer's job file instead of the maps (pytom-match-pick JSON,
                 STOPGAP/GAPSTOP parameter star, pyTME result)

Relative paths are taken from the table's folder. In a STAR table the name
column must be ``_tomo_name`` or ``_rlnTomoName`` (``_name`` clashes with
the block name in :mod:`starfile`). A glob pattern matches
scores maps (their angle map is the same name with ``scores`` replaced by
``angles``; the angle list is given once, or ``angles.csv`` beside the map)
or peers' job files and results. A folder stands for the peers' job files and
results in it.
"""

from __future__ import annotations

import glob as _glob
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
from .._lazy import lazy_module

from ..errors import CryotmError, InputError
from ..naming import tomogram_name
from ..peers.base import PeerJob
from ..pipeline.inputs import TomogramInputs

pd = lazy_module("pandas")  # a plugin's batch source imports this module when it registers

#: A pyTME template's box: N (a cube) or (nz, ny, nx); None when not given.
TemplateShape = int | tuple[int, int, int] | None

__all__ = [
    "read_tasks",
    "BatchInputs",
    "EXPECTED_INPUT",
    "glob_suggestion",
    "read_table",
    "tasks_from_glob",
    "tasks_from_jobs",
    "check_unique_names",
    "COLUMN_ALIASES",
]

#: Accepted column names -> the field they fill.
COLUMN_ALIASES: dict[str, str] = {
    "name": "name",
    "tomo_name": "name",
    "tomogram": "name",
    "rlntomoname": "name",
    "scores": "scores",
    "scores_map": "scores",
    "angles": "angles",
    "angle_map": "angles",
    "angles_map": "angles",
    "angle_list": "angle_list",
    "angles_list": "angle_list",
    "mask": "mask",
    "tomo_mask": "mask",
    "pixel_size": "pixel_size",
    "tomo_id": "tomo_id",
    "angles_order": "angles_order",
    "index_base": "index_base",
    "angle_list_format": "angle_list_format",
    "job": "job",
}
_PATH_FIELDS = ("scores", "angles", "angle_list", "mask", "job")

#: What a batch's input may be (for error messages).
EXPECTED_INPUT = (
    "a tomogram table (CSV/TSV/STAR), a glob pattern in quotes matching scores maps, or peers' job files "
    "and results (or a folder of them)"
)


def _is_map_file(path: Path) -> bool:
    """True if `path`'s extension belongs to a registered map format (``.mrc``, ``.em``, ...)."""
    from ..maps import map_format_for

    try:
        map_format_for(path)
    except InputError:
        return False
    return True


def glob_suggestion(path: str | os.PathLike) -> str:
    """A glob pattern matching `path`'s siblings: the part of the name before ``scores`` made ``*``.

    Examples
    --------
    >>> glob_suggestion("maps/tomo1_scores.mrc")
    'maps/*_scores.mrc'
    >>> glob_suggestion("run1/scores.mrc")
    '*/scores.mrc'
    >>> glob_suggestion("maps/tomo1.mrc")
    'maps/*.mrc'
    """
    path = Path(path)
    name = path.name
    position = name.rfind("scores")
    if position > 0:
        prefix = name[:position]
        separator = prefix[len(prefix.rstrip("_-.")) :]
        return os.fspath(path.parent / ("*" + separator + name[position:]))
    if position == 0:  # one folder per tomogram: dir/tomo1/scores.mrc
        return os.fspath(path.parent.parent / "*" / name)
    return os.fspath(path.parent / ("*" + "".join(path.suffixes)))


def _read_frame(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError("no such table", path)
    suffix = path.suffix.lower()
    if suffix not in (".star", ".csv", ".tsv", ".tab", ".txt") and _is_map_file(path):
        raise InputError(
            f"a single map, not a tomogram table; a batch takes {EXPECTED_INPUT}: to run over the maps "
            f"of many tomograms give a pattern such as '{glob_suggestion(path)}' (in quotes, so that the "
            "shell does not expand it)",
            path,
        )
    try:
        if suffix == ".star":
            import starfile

            labels = list(COLUMN_ALIASES) + ["rlnTomoName"]
            blocks = starfile.read(path, always_dict=True, parse_as_string=labels)
            frames = [b for b in blocks.values() if isinstance(b, pd.DataFrame)]
            if not frames:
                single = [b for b in blocks.values() if isinstance(b, dict)]
                frames = [pd.DataFrame([single[0]])] if single else []
            if not frames:
                raise InputError("the STAR table has no data block", path)
            frame = frames[0].astype(str)
            if "name" in frame.columns:
                # starfile sets DataFrame.name to the block name, which overwrites a column called 'name'
                raise InputError("in a STAR table, call the name column _tomo_name (or _rlnTomoName)", path)
        else:
            sep = "\t" if suffix in (".tsv", ".tab") else None
            frame = pd.read_csv(path, sep=sep, engine="python", dtype=str, keep_default_na=False, comment="#")
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"cannot read it as a tomogram table (a batch takes {EXPECTED_INPUT}): {exc}", path) from None
    return frame


def _rename(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    renamed: dict[str, str] = {}
    for column in frame.columns:
        key = str(column).strip().lstrip("_").lower()
        field = COLUMN_ALIASES.get(key)
        if field is None:
            raise InputError(
                f"unknown column {column!r} (known: {', '.join(sorted(set(COLUMN_ALIASES)))})", path
            )
        if field in renamed.values():
            raise InputError(f"two columns give {field!r}", path)
        renamed[column] = field
    return frame.rename(columns=renamed)


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if text in ("", "nan", "None", "none", "-") else text


def read_table(
    path: str | os.PathLike,
    defaults: Mapping[str, Any] | None = None,
    angle_list: str | os.PathLike | None = None,
) -> list[TomogramInputs]:
    """Read a tomogram table (rows with a ``job`` column give that job's tomograms).

    Parameters
    ----------
    path : path
        CSV (comma or other delimiter, detected), TSV, or STAR.
    defaults : mapping, optional
        Values for columns a row leaves empty (``angles_order``, ``index_base``,
        ``pixel_size``, ``angle_list_format``).
    angle_list : path, optional
        Angle list for rows without one.

    Raises
    ------
    InputError
        Unreadable table, unknown columns, rows without scores/angles maps
        or angle list, or two rows with the same name.
    """
    return _read_table(Path(path), defaults, angle_list, found=[])


def _read_table(
    path: Path,
    defaults: Mapping[str, Any] | None,
    angle_list: str | os.PathLike | None,
    found: list[PeerJob],
    template_shape: TemplateShape = None,
) -> list[TomogramInputs]:
    frame = _rename(_read_frame(path), path)
    if frame.empty:
        raise InputError("the tomogram table has no rows", path)
    defaults = dict(defaults or {})
    tasks: list[TomogramInputs] = []
    for number, raw in enumerate(frame.to_dict(orient="records"), start=1):
        row = {k: _clean(v) for k, v in raw.items()}
        for field in _PATH_FIELDS:
            if row.get(field):
                row[field] = os.fspath(path.parent / row[field]) if not Path(row[field]).is_absolute() else row[field]
        if row.get("job"):
            tasks.extend(_tasks_from_jobs([row["job"]], None, number, {0: row.get("name")}, found, template_shape))
            continue
        if row.get("angle_list") is None and angle_list is not None:
            row["angle_list"] = os.fspath(angle_list)
        missing = [f for f in ("scores", "angles", "angle_list") if not row.get(f)]
        if missing:
            raise InputError(f"row {number} gives no {', '.join(missing)}", path)
        options = {k: v for k, v in defaults.items() if v is not None}
        options.update({k: row[k] for k in ("pixel_size", "angles_order", "index_base", "angle_list_format") if row.get(k)})
        try:
            tasks.append(
                TomogramInputs(
                    name=row.get("name") or Path(row["scores"]).name.split(".")[0],
                    scores=row["scores"],
                    angles=row["angles"],
                    angle_list=row["angle_list"],
                    mask=row.get("mask"),
                    tomo_id=int(float(row["tomo_id"])) if row.get("tomo_id") else number,
                    source=f"{path}:{number}",
                    **options,
                )
            )
        except (TypeError, ValueError) as exc:
            raise InputError(f"row {number}: {exc}", path) from None
    check_unique_names(tasks, source=path)
    return tasks


def tasks_from_jobs(
    paths: Sequence[str | os.PathLike],
    angle_list: str | os.PathLike | None = None,
    first_tomo_id: int = 1,
    names: Mapping[int, str | None] | None = None,
) -> list[TomogramInputs]:
    """Inputs from peers' job files (pytom-match-pick, STOPGAP, GAPSTOP, pyTME); see :mod:`cryotm.peers`.

    pytom-match-pick jobs and pyTME results carry no tomogram number: they
    are numbered from `first_tomo_id` in order; STOPGAP/GAPSTOP rows keep
    their ``tomo_num``.
    """
    return _tasks_from_jobs(paths, angle_list, first_tomo_id, names, found=[])


def _tasks_from_jobs(
    paths: Sequence[str | os.PathLike],
    angle_list: str | os.PathLike | None,
    first_tomo_id: int,
    names: Mapping[int, str | None] | None,
    found: list[PeerJob],
    template_shape: TemplateShape = None,
) -> list[TomogramInputs]:
    """:func:`tasks_from_jobs`, appending each job (with its numbered, renamed inputs) to `found`.

    `template_shape` goes to the pyTME results among `paths` (the other programs' jobs take none).
    """
    from ..peers import job_program, read_jobs

    tasks = []
    for index, job_path in enumerate(paths):
        shape = template_shape if template_shape is not None and job_program(Path(job_path)) == "pytme" else None
        for job in read_jobs(job_path, angle_list=angle_list, template_shape=shape):
            inputs = job.inputs
            if job.program in ("pytom-match-pick", "pytme"):
                inputs = attrs.evolve(inputs, tomo_id=first_tomo_id + index)
            if names and names.get(index):
                inputs = attrs.evolve(inputs, name=names[index])
            found.append(attrs.evolve(job, inputs=inputs))
            tasks.append(inputs)
    return tasks


def _derived_angle_map(scores: Path) -> Path:
    name = scores.name
    position = name.rfind("scores")
    if position < 0:
        return scores.with_name(f"angles_{name}")
    return scores.with_name(name[:position] + "angles" + name[position + len("scores") :])


def tasks_from_glob(
    pattern: str,
    angle_list: str | os.PathLike | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> list[TomogramInputs]:
    """Inputs for every file matching `pattern` (sorted), numbered from 1.

    Scores maps get the angle map with ``scores`` replaced by ``angles`` in
    the file name (``tomo1_scores.mrc`` -> ``tomo1_angles.mrc``,
    ``run3/scores.mrc`` -> ``run3/angles.mrc``) and `angle_list` (else
    ``angles.csv`` beside the map); names come from the file name without
    ``scores`` (or the folder's name). ``.json`` and ``.star`` matches are
    read as peers' job files, pyTME results as such.

    Raises
    ------
    CryotmError
        If nothing matches, or two tomograms would get the same name.
    """
    return _tasks_from_glob(pattern, angle_list, defaults, found=[])


def _tasks_from_glob(
    pattern: str,
    angle_list: str | os.PathLike | None,
    defaults: Mapping[str, Any] | None,
    found: list[PeerJob],
    template_shape: TemplateShape = None,
) -> list[TomogramInputs]:
    from ..peers import job_program

    matches = sorted(_glob.glob(pattern, recursive=True))
    if not matches:
        raise CryotmError(f"no file matches {pattern!r}")
    defaults = {k: v for k, v in dict(defaults or {}).items() if v is not None}
    tasks: list[TomogramInputs] = []
    for number, match in enumerate(matches, start=1):
        path = Path(match)
        if path.suffix.lower() in (".json", ".star") or job_program(path) == "pytme":
            tasks.extend(_tasks_from_jobs([path], angle_list, number, None, found, template_shape))
            continue
        listed = Path(angle_list) if angle_list is not None else path.parent / "angles.csv"
        tasks.append(
            TomogramInputs(
                name=tomogram_name(path),
                scores=path,
                angles=_derived_angle_map(path),
                angle_list=listed,
                tomo_id=number,
                source=pattern,
                **defaults,
            )
        )
    check_unique_names(tasks, source=pattern)
    return tasks


def check_unique_names(tasks: Sequence[TomogramInputs], source: str | os.PathLike | None = None) -> None:
    """Raise :class:`InputError` if two tomograms share a name (their outputs would collide)."""
    seen: dict[str, int] = {}
    for index, task in enumerate(tasks):
        if task.name in seen:
            raise InputError(
                f"two tomograms are named {task.name!r} (entries {seen[task.name] + 1} and {index + 1}); "
                "give each a unique name",
                source,
            )
        seen[task.name] = index


@attrs.frozen
class BatchInputs:
    """The tomograms of a batch and the peers' jobs among them.

    Attributes
    ----------
    tasks : list of TomogramInputs
        One per tomogram, in order.
    jobs : list of PeerJob
        The peers' jobs the tasks came from (empty for maps given directly):
        their picker parameters (:func:`cryotm.peers.picker_parameters`)
        complete the pipeline.
    """

    tasks: list[TomogramInputs]
    jobs: list[PeerJob]


def read_tasks(
    source: str | os.PathLike,
    angle_list: str | os.PathLike | None = None,
    defaults: Mapping[str, Any] | None = None,
    template_shape: TemplateShape = None,
) -> BatchInputs:
    """The tomograms of `source`: a glob pattern, a peer's job file or a tomogram table.

    Parameters
    ----------
    source : str or path
        A plugin's source (a :class:`~cryotm.batch.sources.BatchSource` claims
        it, e.g. ``copick://...``), a pattern with ``*``, ``?`` or ``[...]`` (see :func:`tasks_from_glob`), a
        pytom-match-pick job, STOPGAP/GAPSTOP parameter file or pyTME result
        (:func:`tasks_from_jobs`), a folder (every such file in it), else a
        table (:func:`read_table`).
    angle_list : path, optional
        Angle list for tomograms without one.
    defaults : mapping, optional
        Reading options for table rows and glob matches that do not say.
    template_shape : int or (nz, ny, nx), optional
        The template's box for every pyTME result among the inputs, needed
        when a result's template file is not there (``--template-size``;
        see :func:`~cryotm.peers.read_pytme_result`).

    Raises
    ------
    CryotmError
        No such file, nothing matches, or any error of the readers;
        `template_shape` given but no pyTME result among the inputs.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from cryotm import make_scene
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = make_scene(shape=(24, 24, 24), n_peaks=1, n_angles=10, seed=0).write(folder / "tomo1")
    >>> found = read_tasks(str(folder / "*" / "scores.mrc"))
    >>> [task.name for task in found.tasks], found.jobs
    (['tomo1'], [])
    """
    from ..peers import job_program
    from .sources import source_for

    found: list[PeerJob] = []
    text = os.fspath(source)
    plugin_source = source_for(text)
    if plugin_source is not None:  # a plugin's input, such as a copick:// project
        found_by_plugin = plugin_source.read(text, angle_list=angle_list, defaults=defaults)
        return _check_template_shape(found_by_plugin, template_shape, text)
    if _glob.has_magic(text):
        tasks = _tasks_from_glob(text, angle_list, defaults, found, template_shape)
    else:
        path = Path(text)
        if path.is_dir():
            jobs = sorted(p for p in path.iterdir() if p.is_file() and job_program(p) is not None)
            if not jobs:
                raise CryotmError(
                    f"{path}: a folder without peers' job files or results (pytom-match-pick *_job.json, "
                    "STOPGAP/GAPSTOP parameter stars, pyTME .pickle/.pickle.gz/.hdf5)"
                )
            tasks = _tasks_from_jobs(jobs, angle_list, 1, None, found, template_shape)
            check_unique_names(tasks, source=path)
            return _check_template_shape(BatchInputs(tasks=tasks, jobs=found), template_shape, path)
        if not path.is_file():
            raise CryotmError(f"{path}: no such table, job file or matching pattern")
        if job_program(path) is not None:
            tasks = _tasks_from_jobs([path], angle_list, 1, None, found, template_shape)
        else:
            tasks = _read_table(path, defaults, angle_list, found, template_shape)
    return _check_template_shape(BatchInputs(tasks=tasks, jobs=found), template_shape, text)


def _check_template_shape(found: BatchInputs, template_shape: TemplateShape, source: str | os.PathLike) -> BatchInputs:
    """`found`, unless a template shape was given for inputs without any pyTME result (an error)."""
    if template_shape is not None and not any(job.program == "pytme" for job in found.jobs):
        raise InputError("--template-size applies to pyTME results only, and there is none among the inputs", source)
    return found
