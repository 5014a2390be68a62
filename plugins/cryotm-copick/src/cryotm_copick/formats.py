"""The particle-list format ``copick``: picks in a copick project, or a copick picks file.

Two kinds of output and input:

* a **copick target** ``copick:///data/project/config.json?run=TS_01&object=ribosome&user=cryotm&session=0``
  (see :mod:`cryotm_copick.target`): the picks of that object, user and
  session in that run of the project. Without ``run=``, a list of several
  tomograms is written run by run (its ``tomo_name`` column or experiment id
  names the run) and all runs holding the picks are read.
* a **picks file** ``picks.json``: the JSON file copick keeps for one picks
  set (``ExperimentRuns/<run>/Picks/<user>_<session>_<object>.json``). With
  the writer option ``config=`` the picks also go into that project (the
  batch uses this: one file per tomogram in the output folder, and the same
  picks in each run).

Units and rotations: see :mod:`cryotm_copick.picks`. Writing needs the pixel
size (Å per voxel of the tomogram the positions refer to); reading takes it
from ``--pixel-size``, else the picks' ``voxel_spacing``, else the run's only
voxel spacing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from cryotm._atomic import atomic_path, check_writable
from cryotm.errors import InputError
from cryotm.formats import MotlReader, MotlWriter
from cryotm.formats.base import target_scheme
from cryotm.particles import ParticleList

from .picks import from_copick, to_copick

if TYPE_CHECKING:
    import pandas as pd
from .target import PICK_KEYS, SCHEME, check_name, open_project, parse_target

__all__ = ["CopickWriter", "CopickReader", "picks_file_model"]

DEFAULTS = {"user": "cryotm", "session": "0"}


def _optional_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def picks_file_model(
    particles: ParticleList, pixel_size: float, run: str | None, object: str, user: str, session: str,
    trust_orientation: bool = True,
):
    """copick's own picks-file model (``CopickPicksFile``) of `particles`."""
    from copick.models import CopickLocation, CopickPicksFile, CopickPoint

    locations, transforms, scores = to_copick(particles, pixel_size)
    points = [
        CopickPoint(
            location=CopickLocation(x=float(loc[0]), y=float(loc[1]), z=float(loc[2])),
            transformation_=transform.tolist(),
            score=float(score),
            instance_id=0,
        )
        for loc, transform, score in zip(locations, transforms, scores)
    ]
    return CopickPicksFile(
        pickable_object_name=object,
        user_id=user,
        session_id=session,
        run_name=run,
        voxel_spacing=float(pixel_size),
        unit="angstrom",
        points=points,
        trust_orientation=trust_orientation,
    )


def _write_json(model, path: str | os.PathLike) -> None:
    Path(path).write_text(json.dumps(model.model_dump(), indent=4))


def _settings(instance: Any, target: str | None) -> dict[str, str | None]:
    """The run, object, user and session: the target's, else the options' (a clash is an error)."""
    values = {key: getattr(instance, key) for key in PICK_KEYS}
    if target is None:
        return values
    parsed = parse_target(target, allowed=PICK_KEYS)
    for key, given in parsed.values.items():
        option = values.get(key)
        if option is not None and option != DEFAULTS.get(key) and option != given:
            raise InputError(f"{key} is {given!r} in the target but {option!r} in the options", target)
        values[key] = given
    values["config"] = os.fspath(parsed.config)
    return values


def _tomogram_names(particles: ParticleList) -> np.ndarray | None:
    """Each particle's tomogram name (``tomo_name`` column, else the experiment id), or None."""
    if "tomo_name" in particles.data.columns:
        return particles.data["tomo_name"].astype(str).to_numpy()
    if particles.experiment_id:
        return np.full(len(particles), particles.experiment_id, dtype=object)
    return None


def _groups(particles: ParticleList, run: str | None, source: str) -> Iterator[tuple[str, ParticleList]]:
    """(run name, its particles): all of them in `run`, else by tomogram name."""
    if run is not None:
        yield run, particles
        return
    names = _tomogram_names(particles)
    if names is None:
        raise InputError("which run? give run= in the copick target (the list names no tomogram)", source)
    for name in dict.fromkeys(names.tolist()):
        rows = names == name
        yield str(name), particles.with_data(particles.data.loc[rows].reset_index(drop=True))


def _pickable(root, name: str | None, source: str) -> str:
    known = [o.name for o in root.config.pickable_objects]
    if name is None:
        raise InputError(
            f"give the pickable object: object= in the copick target or -O object=NAME (known: {', '.join(known)})",
            source,
        )
    if name not in known:
        listed = ", ".join(known) or "none"
        raise InputError(f"no pickable object {name!r} in the copick project (known: {listed})", source)
    return name


def _run(root, name: str, source: str):
    run = root.get_run(name)
    if run is None:
        known = ", ".join(r.name for r in root.runs)
        raise InputError(f"no run {name!r} in the copick project (runs: {known or 'none'})", source)
    return run


def _local_picks_path(run, object: str, user: str, session: str) -> Path | None:
    """Where copick's file-system backend keeps these picks, if that is a local folder (else None)."""
    overlay = getattr(run, "overlay_path", None)
    fs = getattr(run, "fs_overlay", None)
    protocol = getattr(fs, "protocol", None)
    protocols = (protocol,) if isinstance(protocol, str) else tuple(protocol or ())
    if overlay is None or not ({"file", "local"} & set(protocols)):
        return None
    return Path(overlay) / "Picks" / f"{user}_{session}_{object}.json"


def store_in_project(
    particles: ParticleList,
    config: str | os.PathLike,
    settings: dict[str, str | None],
    pixel_size: float,
    overwrite: bool,
    trust_orientation: bool = True,
    source: str | None = None,
) -> list[str]:
    """Write `particles` as picks into the project of `config`; return the runs written.

    Every run is checked (exists; picks absent unless `overwrite`) before any is written.
    Local projects get each picks file written atomically; others through copick's ``store``.
    """
    source = source or os.fspath(config)
    root = open_project(config, source)
    object = _pickable(root, settings.get("object"), source)
    user = check_name(settings.get("user") or DEFAULTS["user"], "user", source)
    session = check_name(settings.get("session") or DEFAULTS["session"], "session", source)
    plan = []
    for name, group in _groups(particles, settings.get("run"), source):
        run = _run(root, name, source)
        existing = run.get_picks(object_name=object, user_id=user, session_id=session)
        if existing and not overwrite:
            raise InputError(
                f"run {name!r} already has picks of {object!r} by {user!r} in session {session!r}; "
                "pass --overwrite to replace them",
                source,
            )
        plan.append((name, run, group))
    for name, run, group in plan:
        model = picks_file_model(group, pixel_size, name, object, user, session, trust_orientation)
        path = _local_picks_path(run, object, user, session)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path, overwrite=True) as tmp:
                _write_json(model, tmp)
        else:
            picks = run.new_picks(object, session, user, exist_ok=True)
            picks.meta = model
            picks.store()
    return [name for name, _, _ in plan]


def _check_target(config: str, settings: dict[str, str | None], overwrite: bool, source: str) -> None:
    root = open_project(config, source)
    object = _pickable(root, settings.get("object"), source)
    user = check_name(settings.get("user") or DEFAULTS["user"], "user", source)
    session = check_name(settings.get("session") or DEFAULTS["session"], "session", source)
    if settings.get("run") is not None:
        run = _run(root, settings["run"], source)
        if run.get_picks(object_name=object, user_id=user, session_id=session) and not overwrite:
            raise InputError(
                f"run {settings['run']!r} already has picks of {object!r} by {user!r} in session {session!r}; "
                "pass --overwrite to replace them",
                source,
            )


@attrs.define
class CopickWriter(MotlWriter):
    """Write picks into a copick project (``copick://`` target) or as a copick picks file (``.json``).

    Parameters
    ----------
    config : str, optional
        A copick configuration: a picks file written to a plain path goes into
        this project as well (run = the list's tomogram name, or `run`).
    run, object, user, session : str
        The run, pickable object, user or tool id (default ``cryotm``) and
        session (default ``0``, copick's mark of a tool's picks); a target's
        query gives them too.
    trust_orientation : bool
        copick's flag telling viewers whether the orientations mean anything.

    Examples
    --------
    >>> import tempfile, os, json
    >>> from cryotm.formats import write_particles
    >>> picks = ParticleList.from_arrays([[10, 20, 30]], orientations=[[0, 90, 0]], scores=[0.5])
    >>> path = os.path.join(tempfile.mkdtemp(), "picks.json")
    >>> write_particles(picks, path, object="ribosome", pixel_size=10.0)
    >>> point = json.load(open(path))["points"][0]
    >>> point["location"], point["score"]
    ({'x': 100.0, 'y': 200.0, 'z': 300.0}, 0.5)
    """

    name = "copick"
    extensions = (".json",)
    schemes = (SCHEME,)
    description = "copick picks: a project's run (copick://CONFIG?run=&object=) or a picks .json (plugin cryotm-copick)"
    requires_pixel_size = True

    config: str | None = attrs.field(default=None, converter=_optional_str)
    run: str | None = attrs.field(default=None, converter=_optional_str)
    object: str | None = attrs.field(default=None, converter=_optional_str)
    user: str = attrs.field(default=DEFAULTS["user"], converter=str)
    session: str = attrs.field(default=DEFAULTS["session"], converter=str)
    trust_orientation: bool = attrs.field(default=True, converter=bool)

    @classmethod
    def check_output(cls, path: str | os.PathLike, overwrite: bool = False) -> None:
        if target_scheme(path) != SCHEME:
            check_writable(path, overwrite)
            return
        text = os.fspath(path)
        settings = _settings(cls(), text)
        _check_target(settings.pop("config"), settings, overwrite, text)

    def write(self, particles: ParticleList, path: str | os.PathLike, overwrite: bool = False) -> None:
        """Store `particles` in the project of a ``copick://`` target, else write a picks file at `path`.

        A picks file with the option ``config`` goes into that project first (a
        file without its picks in the project would claim a finished run).
        """
        self.check(particles, path)
        if target_scheme(path) == SCHEME:
            text = os.fspath(path)
            settings = _settings(self, text)
            store_in_project(
                particles, settings.pop("config"), settings, float(particles.pixel_size), overwrite,
                self.trust_orientation, text,
            )
            return
        self.file_model(particles, os.fspath(path))  # a bad name fails before anything is written
        if self.config is not None:
            check_writable(path, overwrite)
            store_in_project(
                particles, self.config, _settings(self, None), float(particles.pixel_size), overwrite,
                self.trust_orientation, os.fspath(path),
            )
        super().write(particles, path, overwrite=overwrite)

    def file_model(self, particles: ParticleList, source: str | None = None):
        """copick's picks-file model of `particles` (run name: `run`, else the list's one tomogram name)."""
        if self.object is None:
            raise InputError("give the pickable object (-O object=NAME)", source)
        names = [self.run] if self.run else _tomogram_names(particles)
        runs = sorted({str(n) for n in names}) if names is not None else []
        return picks_file_model(
            particles, float(particles.pixel_size), runs[0] if len(runs) == 1 else None,
            check_name(self.object, "object", source), check_name(self.user, "user", source),
            check_name(self.session, "session", source), self.trust_orientation,
        )

    def write_file(self, particles: ParticleList, path: Path) -> None:
        _write_json(self.file_model(particles, os.fspath(path)), path)


def _picks_sets(root, settings: dict[str, str | None], source: str) -> list[tuple[Any, Any]]:
    """(run, picks) of every run holding the object's picks by that user/session (one set per run)."""
    object = _pickable(root, settings.get("object"), source)
    runs = [_run(root, settings["run"], source)] if settings.get("run") else sorted(root.runs, key=lambda r: r.name)
    found = []
    for run in runs:
        sets = run.get_picks(object_name=object, user_id=settings.get("user"), session_id=settings.get("session"))
        if len(sets) > 1:
            which = ", ".join(f"user={p.user_id} session={p.session_id}" for p in sets)
            raise InputError(
                f"run {run.name!r} has several picks sets of {object!r} ({which}): give user= and session=", source
            )
        if sets:
            found.append((run, sets[0]))
    if not found:
        where = f"run {settings['run']!r}" if settings.get("run") else "any run"
        raise InputError(f"no picks of {object!r} in {where} (user={settings.get('user') or 'any'}, "
                         f"session={settings.get('session') or 'any'})", source)
    return found


def _run_pixel_size(run, source: str) -> float:
    sizes = sorted({float(vs.voxel_size) for vs in run.voxel_spacings})
    if len(sizes) == 1:
        return sizes[0]
    raise InputError(
        f"the picks of run {run.name!r} do not say their voxel spacing and the run has "
        f"{'none' if not sizes else 'several (' + ', '.join(f'{s:g}' for s in sizes) + ')'}: give --pixel-size",
        source,
    )


@attrs.define
class CopickReader(MotlReader):
    """Read copick picks (``copick://`` target or picks ``.json``) as particles in voxels.

    Parameters
    ----------
    run, object, user, session : str, optional
        Which picks (a target's query gives them too); without ``run`` every
        run holding them is read (``tomo_name`` = run name).
    pixel_size : float, optional
        Å per voxel of the positions wanted (default: the picks' voxel spacing,
        else the run's only one).
    """

    name = "copick"
    extensions = (".json",)
    schemes = (SCHEME,)
    description = CopickWriter.description

    run: str | None = attrs.field(default=None, converter=_optional_str)
    object: str | None = attrs.field(default=None, converter=_optional_str)
    user: str | None = attrs.field(default=None, converter=_optional_str)
    session: str | None = attrs.field(default=None, converter=_optional_str)
    pixel_size: float | None = attrs.field(default=None, converter=lambda v: None if v is None else float(v))

    @classmethod
    def sniff(cls, path: Path) -> bool:
        if Path(path).suffix.lower() != ".json":
            return False
        try:
            with open(path, "rb") as handle:
                head = handle.read(4096)
        except OSError:
            return False
        return b'"pickable_object_name"' in head and b'"points"' in head

    def read(self, path: str | os.PathLike) -> ParticleList:
        if target_scheme(path) == SCHEME:
            return self._read_project(os.fspath(path))
        path = Path(path)
        if not path.is_file():
            raise InputError("no such file", path)
        from copick.models import CopickPicksFile

        try:
            model = CopickPicksFile(**json.loads(path.read_text()))
        except Exception as exc:
            raise InputError(f"not a copick picks file: {str(exc).splitlines()[0]}", path) from None
        pixel_size = self.pixel_size or model.voxel_spacing
        if not pixel_size:
            raise InputError("the picks file does not say its voxel spacing: give --pixel-size", path)
        frame = self._frame(model.points or [], pixel_size, model.unit, os.fspath(path))
        frame["tomo_id"] = 1
        return ParticleList(frame, pixel_size=float(pixel_size), experiment_id=model.run_name or "")

    def _frame(self, points: list, pixel_size: float, unit: str, source: str) -> pd.DataFrame:
        if str(unit).lower() != "angstrom":
            raise InputError(f"picks in unit {unit!r}; cryotm reads copick picks in angstrom", source)
        locations = np.array([[p.location.x, p.location.y, p.location.z] for p in points], dtype=float).reshape(-1, 3)
        transforms = np.array([p.transformation for p in points], dtype=float).reshape(-1, 4, 4)
        scores = np.array([1.0 if p.score is None else p.score for p in points], dtype=float)
        frame = from_copick(locations, transforms, scores, pixel_size, source)
        frame["subtomo_id"] = np.arange(1, len(frame) + 1)
        return frame

    def _read_project(self, text: str) -> ParticleList:
        settings = _settings(self, text)
        root = open_project(settings.pop("config"), text)
        frames, sizes = [], set()
        found = _picks_sets(root, settings, text)
        for number, (run, picks) in enumerate(found, start=1):
            points = picks.points  # copick loads the file (and its metadata) on first access
            pixel_size = self.pixel_size or picks.meta.voxel_spacing or _run_pixel_size(run, text)
            sizes.add(float(pixel_size))
            frame = self._frame(points, pixel_size, picks.meta.unit, text)
            frame["tomo_id"] = number
            frame["tomo_name"] = run.name
            frames.append(frame)
        if len(sizes) > 1:
            raise InputError(f"the runs' picks have different voxel spacings ({sorted(sizes)}): read one run at a time "
                             "or give --pixel-size", text)
        import pandas as pd

        data = pd.concat(frames, ignore_index=True)
        data["subtomo_id"] = np.arange(1, len(data) + 1)
        if len(found) == 1:
            data = data.drop(columns="tomo_name")
        return ParticleList(data, pixel_size=sizes.pop(), experiment_id=found[0][0].name if len(found) == 1 else "")
