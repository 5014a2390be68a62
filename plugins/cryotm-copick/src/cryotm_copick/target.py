"""``copick://`` targets: a copick project's configuration file and what to read or write in it.

Syntax::

    copick://<configuration file>?key=value&key=value...

The path is the project's copick configuration (JSON) on this machine:
``copick:///data/project/config.json`` (absolute, three slashes) or
``copick://project/config.json`` (relative to the current folder). Keys:

===============  ==========================================================
``run``          the run (tomogram) the picks belong to
``object``       the pickable object (a name of the configuration's
                 ``pickable_objects``)
``user``         user or tool id (default ``cryotm``)
``session``      session id (default ``0``: copick's mark of a tool's picks)
``scores``       batch input: tomogram type of the scores maps (default ``tm-scores``)
``angles``       batch input: tomogram type of the angle-index maps (default ``tm-angles``)
``mask``         batch input: tomogram type of the tomogram masks (optional)
``voxel_spacing``  batch input: the voxel spacing (Å) the maps are stored at
``angle_list``   batch input: the angle list (CSV; relative to the configuration's folder)
``runs``         batch input: only these runs (comma separated)
===============  ==========================================================

Names of objects, users and sessions may not contain ``_`` (copick joins
them with it in file names). Quote the whole target on the shell command
line (``&`` and ``?`` are special there).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qsl

import attrs

from cryotm.errors import InputError

__all__ = ["CopickTarget", "parse_target", "SCHEME", "PICK_KEYS", "BATCH_KEYS", "check_name", "open_project"]

SCHEME = "copick"
#: Keys of a picks target (writer and reader).
PICK_KEYS = ("run", "object", "user", "session")
#: Further keys of a batch source.
BATCH_KEYS = ("scores", "angles", "mask", "voxel_spacing", "angle_list", "runs")
_PREFIX = re.compile(r"^copick://", re.IGNORECASE)


@attrs.frozen
class CopickTarget:
    """A parsed ``copick://`` target: the configuration file and the query's keys.

    Attributes
    ----------
    config : Path
        The copick configuration file.
    values : dict
        The query's ``key -> value`` (keys of :data:`PICK_KEYS` and :data:`BATCH_KEYS`).
    text : str
        The target as given (for messages).
    """

    config: Path
    values: dict[str, str]
    text: str

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value of `key`, else `default`."""
        return self.values.get(key, default)


def parse_target(text: str, allowed: tuple[str, ...] = PICK_KEYS + BATCH_KEYS) -> CopickTarget:
    """Parse a ``copick://`` target.

    Raises
    ------
    InputError
        Not a copick target, no configuration path, a key repeated or not in `allowed`.

    Examples
    --------
    >>> target = parse_target("copick:///data/p/config.json?run=TS_01&object=ribosome")
    >>> str(target.config), target.values
    ('/data/p/config.json', {'run': 'TS_01', 'object': 'ribosome'})
    """
    if not _PREFIX.match(text):
        raise InputError("not a copick target (copick://CONFIG.json?run=...&object=...)", text)
    rest = _PREFIX.sub("", text, count=1)
    path, _, query = rest.partition("?")
    if not path:
        raise InputError("a copick target needs the project's configuration file: copick:///path/config.json?...", text)
    values: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        key = key.strip().lower().replace("-", "_")
        if key not in allowed:
            raise InputError(f"unknown key {key!r} in the copick target (known: {', '.join(allowed)})", text)
        if key in values:
            raise InputError(f"key {key!r} given twice in the copick target", text)
        values[key] = value.strip()
    return CopickTarget(config=Path(path), values=values, text=text)


def check_name(value: str, what: str, source: str | os.PathLike | None = None) -> str:
    """`value` if copick can use it as an object, user or session name (no ``_``, no spaces or slashes).

    Raises
    ------
    InputError
        Naming the offending character.
    """
    value = str(value)
    bad = re.search(r'[<>:"/\\|?*\x00-\x1F\x7F\s_]', value)
    if not value or bad:
        problem = "is empty" if not value else f"holds {bad.group(0)!r}"
        raise InputError(f"copick {what} {value!r} {problem} (copick names may not contain _ / spaces)", source)
    return value


def open_project(config: str | os.PathLike, source: str | os.PathLike | None = None):
    """The copick root of the configuration file `config` (copick's own ``copick.from_file``).

    Raises
    ------
    InputError
        If the file is missing or not a copick configuration.
    """
    import copick

    config = Path(config)
    if not config.is_file():
        raise InputError(f"copick configuration {config} not found", source or config)
    try:
        return copick.from_file(os.fspath(config))
    except Exception as exc:  # copick raises pydantic/JSON errors of its own
        raise InputError(f"not a copick configuration: {type(exc).__name__}: {exc}".splitlines()[0], config) from None
