"""Errors that cryotm raises for a user's mistake: the exception contract.

Every error a user can cause (a missing file, a map of the wrong shape, an
unknown format name, ...) is a :class:`CryotmError`. The command line prints
its message on one line and exits with a non-zero status; anything else is a
bug in cryotm or in a plugin and keeps its traceback.

Which error to raise (cryotm's own code and plugins alike):

============================================  ==========================
the problem                                   raise
============================================  ==========================
a file that is missing, unreadable or         :class:`InputError` with
malformed; data of the wrong shape, NaN, ...  ``source=`` the file
a parameter or option with a bad value        :class:`ParameterError`
(also a ``ValueError`` in an attrs validator  (the CLI names the flag)
of a strategy, labeler or format)
a plugin that cannot be loaded or             :class:`PluginError`
contributes something invalid
a bug (an impossible state)                   anything else: it keeps
                                              its traceback
============================================  ==========================

The command line also turns a ``ValueError`` or ``TypeError`` raised while
building a strategy, labeler or format from the user's parameters into one
line; a plugin need not catch them.
"""

from __future__ import annotations

import os

__all__ = [
    "CryotmError",
    "InputError",
    "ParameterError",
    "PluginError",
    "CryotmWarning",
    "PluginWarning",
    "FormatChoiceWarning",
    "format_source",
]


def format_source(source: str | os.PathLike | None) -> str:
    """Return a short label for where data came from (a path or 'array')."""
    if source is None:
        return "<array>"
    return os.fspath(source)


class CryotmError(Exception):
    """Base class of the errors caused by the user's input or settings.

    Parameters
    ----------
    message : str
        What is wrong, in words a user understands.
    source : str or path-like, optional
        The file (or other input) the problem was found in. When given, the
        message is prefixed with it.
    """

    def __init__(self, message: str, source: str | os.PathLike | None = None) -> None:
        self.problem = message
        self.source = None if source is None else os.fspath(source)
        super().__init__(f"{self.source}: {message}" if self.source else message)


class InputError(CryotmError, ValueError):
    """Bad input data: a file that cannot be read, a wrong shape, NaN, ..."""


class PluginError(CryotmError):
    """A plugin could not be loaded, or contributed something invalid."""


class CryotmWarning(UserWarning):
    """Plausible but probably wrong input, or a step that loses information (printed on stderr)."""


def show_warnings_as_lines() -> None:
    """Print :class:`CryotmWarning` as one ``cryotm: warning: ...`` line on stderr (the command line's form)."""
    import sys
    import warnings

    default = warnings.showwarning
    if getattr(default, "_cryotm", False):
        return

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, CryotmWarning):
            stream = file if file is not None else sys.stderr
            # one write of the whole line: batch workers share stderr, and a line written in two pieces
            # (print writes the text, then the newline) can be interleaved with another worker's
            stream.write(f"cryotm: warning: {message}\n")
            stream.flush()
        else:
            default(message, category, filename, lineno, file, line)

    show._cryotm = True  # type: ignore[attr-defined]
    warnings.showwarning = show


def warnings_shown_as_lines() -> bool:
    """True once :func:`show_warnings_as_lines` is in effect in this process (batch workers follow it)."""
    import warnings

    return bool(getattr(warnings.showwarning, "_cryotm", False))


class ParameterError(CryotmError, ValueError):
    """A parameter or option with a bad value (a negative diameter, an unknown choice, ...)."""


class PluginWarning(CryotmWarning):
    """A plugin that is not used (it failed to load or to validate); the others keep working."""


class FormatChoiceWarning(CryotmWarning):
    """Several formats could read (or write) a file; the warning states which one is used."""
