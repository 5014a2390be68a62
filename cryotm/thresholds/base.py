"""The threshold-strategy interface and how a strategy is chosen by name.

A strategy is a class with a unique ``name``; its parameters are attrs
fields. Users pick one by a spec string ``NAME[:VALUE]`` (``sigma:3``,
``manual:0.21``, ``far:1``), where VALUE sets the strategy's
``primary_parameter``. To write your own, subclass :class:`ThresholdStrategy`
and implement :meth:`~ThresholdStrategy.compute` (a float) or
:meth:`~ThresholdStrategy.evaluate` (a :class:`ThresholdResult` with details
for reports), then register the class through the
``cryotm_threshold_strategies`` hook.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

from .._fields import convert_field
from ..errors import CryotmError, InputError, ParameterError
from ..maps import ScoresMap

__all__ = [
    "ThresholdStrategy",
    "ThresholdResult",
    "SearchStatistics",
    "get_threshold_strategy",
    "threshold_strategies",
    "parse_threshold_spec",
    "as_array",
    "source_of",
    "checked_mask",
    "masked_values",
]


@attrs.frozen
class SearchStatistics:
    """What the template-matching job knew about its search (optional input to strategies).

    Parameters
    ----------
    n_angles : int, optional
        Number of rotations searched (size of the angle list).
    n_voxels : int, optional
        Number of voxels searched (default: the voxels inside the mask).
    mean, std : float, optional
        Mean and standard deviation of the background scores, as written by
        pytom-match-pick into its job file.
    """

    n_angles: int | None = None
    n_voxels: int | None = None
    mean: float | None = None
    std: float | None = None


@attrs.frozen
class ThresholdResult:
    """A threshold and what the strategy saw to choose it.

    Parameters
    ----------
    value : float
        The threshold: scores strictly above it are candidates.
    strategy : str
        The strategy's name.
    details : dict
        Strategy-specific findings (fitted parameters, statistics, ...) for
        reports and plots.
    """

    value: float
    strategy: str
    details: dict[str, Any] = attrs.field(factory=dict)


def as_array(scores: Any) -> np.ndarray:
    """The voxels of a :class:`ScoresMap` (or an array), indexed ``[z, y, x]``."""
    if isinstance(scores, ScoresMap):
        return scores.data
    return np.asarray(scores)


def source_of(scores: Any) -> str | None:
    """The file a :class:`ScoresMap` was read from (None for an array), for error messages."""
    return scores.source if isinstance(scores, ScoresMap) else None


def checked_mask(data: np.ndarray, mask: Any, source: str | None = None) -> np.ndarray:
    """`mask` as an array of `data`'s shape; :class:`InputError` naming `source` otherwise.

    Examples
    --------
    >>> checked_mask(np.zeros((2, 2, 2)), np.ones((2, 2, 2))).shape
    (2, 2, 2)
    """
    mask = np.asarray(mask)
    if mask.shape != data.shape:
        raise InputError(f"mask has shape {mask.shape} but the scores map has {data.shape}", source)
    return mask


def masked_values(scores: Any, mask: np.ndarray | None) -> np.ndarray:
    """The scores inside `mask` (1D); without a mask, the map itself (not copied or flattened).

    What a strategy's ``compute`` works on: the voxels it may look at.

    Raises
    ------
    InputError
        If the mask's shape differs from the map's, or it selects no voxel.

    Examples
    --------
    >>> mask = np.zeros((1, 1, 3)); mask[0, 0, 1:] = 1
    >>> masked_values(np.array([[[1.0, 2.0, 3.0]]]), mask).tolist()
    [2.0, 3.0]
    """
    data = as_array(scores)
    if mask is None:
        return data
    values = data[checked_mask(data, mask, source_of(scores)) != 0]
    if values.size == 0:
        raise InputError("the mask selects no voxel of the scores map", source_of(scores))
    return values


# the names cryotm's own strategies import
_checked_mask = checked_mask
_masked_values = masked_values


@attrs.define
class ThresholdStrategy:
    """Base class of threshold rules; subclass it and give the subclass a ``name``.

    Implement :meth:`compute` (return a float) or :meth:`evaluate` (return a
    :class:`ThresholdResult`); the other follows.
    """

    #: The word users type to choose this strategy.
    name: ClassVar[str] = ""
    #: The attrs field that ``NAME:VALUE`` sets, if any.
    primary_parameter: ClassVar[str | None] = None
    #: One line for ``cryotm plugins -v`` (default: the docstring's first line).
    description: ClassVar[str] = ""

    def compute(
        self,
        scores: ScoresMap | np.ndarray,
        mask: np.ndarray | None = None,
        statistics: SearchStatistics | None = None,
    ) -> float:
        """Return the threshold for `scores` (optionally only inside `mask`)."""
        if type(self).evaluate is ThresholdStrategy.evaluate:
            raise NotImplementedError(f"{type(self).__name__} implements neither compute nor evaluate")
        return self.evaluate(scores, mask=mask, statistics=statistics).value

    def evaluate(
        self,
        scores: ScoresMap | np.ndarray,
        mask: np.ndarray | None = None,
        statistics: SearchStatistics | None = None,
    ) -> ThresholdResult:
        """Return the threshold with the details the strategy used to find it."""
        if type(self).compute is ThresholdStrategy.compute:
            raise NotImplementedError(f"{type(self).__name__} implements neither compute nor evaluate")
        value = float(self.compute(scores, mask=mask, statistics=statistics))
        return ThresholdResult(value=value, strategy=self.name, details={})

    def spec(self) -> str:
        """The ``NAME[:VALUE]`` string that recreates this strategy (when it has a primary parameter)."""
        if self.primary_parameter is None:
            return self.name
        return f"{self.name}:{getattr(self, self.primary_parameter)}"


def threshold_strategies() -> dict[str, type[ThresholdStrategy]]:
    """Every registered threshold strategy, by name (built-ins and plugins)."""
    from ..plugins import contributions

    return {name: item.obj for name, item in contributions("cryotm_threshold_strategies").items()}


def parse_threshold_spec(spec: str) -> tuple[str, str | None]:
    """Split ``NAME[:VALUE]`` into its name and value (or None)."""
    name, sep, value = spec.strip().partition(":")
    return name.strip(), (value.strip() if sep else None)


def get_threshold_strategy(spec: str | ThresholdStrategy | float, **parameters: Any) -> ThresholdStrategy:
    """Return a strategy object for a spec, a number, or an existing strategy.

    Parameters
    ----------
    spec : str, float or ThresholdStrategy
        ``NAME`` or ``NAME:VALUE`` (``sigma:3``, ``manual:0.2``), a bare
        number (a manual threshold), or a strategy object (returned as is).
    **parameters
        Further strategy parameters (attrs fields of the class).

    Raises
    ------
    CryotmError
        Unknown name, a VALUE for a strategy without a primary parameter, or
        parameters the strategy does not have.
    """
    if isinstance(spec, ThresholdStrategy):
        return attrs.evolve(spec, **parameters) if parameters else spec
    if isinstance(spec, (int, float, np.number)) and not isinstance(spec, bool):
        spec = f"manual:{float(spec)}"
    name, value = parse_threshold_spec(str(spec))
    try:
        float(name)
    except ValueError:
        pass
    else:
        name, value = "manual", name
    from ..plugins import lookup

    cls = lookup("cryotm_threshold_strategies", name)
    kwargs = dict(parameters)
    if value is not None:
        if cls.primary_parameter is None:
            raise ParameterError(f"threshold {name!r} takes no value (got {name}:{value})")
        kwargs[cls.primary_parameter] = convert_field(cls, cls.primary_parameter, value, f"threshold {name!r}")
        if isinstance(kwargs[cls.primary_parameter], float) and not np.isfinite(kwargs[cls.primary_parameter]):
            raise ParameterError(f"threshold {name!r} needs a finite number after ':', got {value!r}")
    try:
        return cls(**kwargs)
    except CryotmError:
        raise
    except (TypeError, ValueError) as exc:  # attrs' own checks and the strategy's validators
        raise ParameterError(f"bad parameters for threshold {name!r}: {exc}") from None
