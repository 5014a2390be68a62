"""Text from the command line or a spec string, converted by the declared type of an attrs field.

``NAME:VALUE`` (``percentile:99.5``, ``otsu:256``, ``mode:inside``) gives its
VALUE to a strategy's ``primary_parameter``; the field's converter, else its
annotation (``int``, ``float``, ``bool``, ``str``, ``X | None``), says what
the text becomes. Without either, a number-looking text becomes a float and
any other text stays a string.
"""

from __future__ import annotations

import typing
from typing import Any

import attrs

from .errors import ParameterError

__all__ = ["convert_field"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _annotation(cls: type, name: str) -> Any:
    try:
        return typing.get_type_hints(cls).get(name)
    except Exception:  # an annotation that cannot be resolved (a plugin's forward reference)
        field = getattr(attrs.fields(cls), name, None)
        return getattr(field, "type", None)


def _plain(annotation: Any) -> Any:
    """``X | None`` / ``Optional[X]`` -> X; a string annotation -> the builtin it names."""
    if isinstance(annotation, str):
        text = annotation.replace(" ", "").replace("|None", "").replace("None|", "")
        return {"int": int, "float": float, "bool": bool, "str": str}.get(text)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args and len(args) == 1:
        return args[0]
    return annotation


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def convert_field(cls: type, name: str, text: str, what: str = "") -> Any:
    """Return `text` converted to what the attrs field `name` of `cls` declares.

    Parameters
    ----------
    cls : type
        An attrs class (a threshold strategy, labeler, format, ...).
    name : str
        The field.
    text : str
        The value as typed.
    what : str
        How the user calls the value, for messages (``"threshold 'far'"``).

    Raises
    ------
    ParameterError
        If `text` is not a value of the field's type.

    Examples
    --------
    >>> @attrs.define
    ... class Demo:
    ...     count: int = 1
    ...     rate: float = 0.5
    ...     label: str = "x"
    >>> convert_field(Demo, "count", "3"), convert_field(Demo, "rate", "2"), convert_field(Demo, "label", "7")
    (3, 2.0, '7')
    """
    field = getattr(attrs.fields(cls), name, None) if attrs.has(cls) else None
    if field is not None and field.converter is not None:
        return text  # the field converts it itself (and its validator checks it)
    kind = _plain(_annotation(cls, name)) if field is not None else None
    label = f"{what} needs" if what else f"{name} needs"
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in _TRUE | _FALSE:
            return lowered in _TRUE
        raise ParameterError(f"{label} true or false, got {text!r}")
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            noun = "a whole number" if kind is int else "a number"
            raise ParameterError(f"{label} {noun}, got {text!r}") from None
    if kind is str:
        return text
    return _number(text)
