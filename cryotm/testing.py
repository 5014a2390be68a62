"""Helpers for testing cryotm and cryotm plugins.

A plugin's own tests can use :func:`registered` (a plugin manager with the
plugin registered, rebuilt afterwards), :func:`example_particles` (a small
particle list with known values) and :func:`assert_round_trip` (write with a
format, read back, compare) - see "Testing a plugin" in the docs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "registered",
    "example_particles",
    "assert_round_trip",
    "cryocat_or_skip",
    "call_oracle",
    "Pandas2ToNumeric",
]


@contextlib.contextmanager
def registered(*plugins: Any, autoload: bool = False) -> Iterator[Any]:
    """A fresh plugin manager with `plugins` registered (and validated); the manager is rebuilt afterwards.

    Parameters
    ----------
    *plugins
        Plugin objects or modules (with ``@cryotm.hookimpl`` functions).
    autoload : bool
        Also load the installed entry-point plugins (default: built-ins only,
        so the test does not depend on what else is installed).

    Yields
    ------
    CryotmPluginManager
        The manager; ``pm.failed`` lists any plugin that failed validation.

    Raises
    ------
    AssertionError
        If one of `plugins` fails validation (the message says why).

    Examples
    --------
    >>> import attrs, cryotm
    >>> from cryotm.extend import ThresholdStrategy
    >>> @attrs.define
    ... class Half(ThresholdStrategy):
    ...     name = "half_demo"
    ...     def compute(self, scores, mask=None, statistics=None):
    ...         return 0.5
    >>> class Plugin:
    ...     @cryotm.hookimpl
    ...     def cryotm_threshold_strategies(self):
    ...         return [Half]
    >>> from cryotm.thresholds import get_threshold_strategy
    >>> with registered(Plugin()):
    ...     get_threshold_strategy("half_demo").compute([[[0.0]]])
    0.5
    """
    from ._env import AUTOLOAD_ENV_VAR
    from .plugins import get_plugin_manager, reset_plugin_manager

    saved = os.environ.get(AUTOLOAD_ENV_VAR)
    if not autoload:
        os.environ[AUTOLOAD_ENV_VAR] = "1"
    reset_plugin_manager()
    try:
        pm = get_plugin_manager()
        for plugin in plugins:
            if pm.register(plugin) is None:
                problems = "; ".join(f"{f.name}: {f.error}" for f in pm.failed) or "blocked"
                raise AssertionError(f"plugin {plugin!r} was not registered ({problems})")
        yield pm
    finally:
        if saved is None:
            os.environ.pop(AUTOLOAD_ENV_VAR, None)
        else:
            os.environ[AUTOLOAD_ENV_VAR] = saved
        reset_plugin_manager()


def example_particles(n: int = 5, seed: int = 0, pixel_size: float = 10.0,
                      tomogram_shape: tuple[int, int, int] = (60, 70, 80)) -> Any:
    """A :class:`~cryotm.particles.ParticleList` of `n` particles with random (reproducible) values.

    Positions are whole and half voxels inside `tomogram_shape` (z, y, x),
    orientations random zxz triples in degrees, scores in (0, 1), tomo_id 1.

    Examples
    --------
    >>> p = example_particles(3)
    >>> len(p), p.pixel_size, p.tomogram_shape
    (3, 10.0, (60, 70, 80))
    """
    import numpy as np

    from .particles import ParticleList

    rng = np.random.default_rng(seed)
    nz, ny, nx = tomogram_shape
    positions = np.round(rng.uniform(2, [nx - 3, ny - 3, nz - 3], size=(n, 3)) * 2) / 2
    angles = np.column_stack([rng.uniform(-180, 180, n), rng.uniform(0, 180, n), rng.uniform(-180, 180, n)])
    plist = ParticleList.from_arrays(positions, orientations=angles, scores=rng.uniform(0.1, 0.9, n), tomo_id=1,
                                     pixel_size=pixel_size)
    from .formats import with_metadata

    return with_metadata(plist, tomogram_shape=tomogram_shape)


def assert_round_trip(
    format: str,
    directory: str | os.PathLike,
    particles: Any = None,
    *,
    reader: str | None = None,
    detect: bool = True,
    position_tolerance: float = 1e-3,
    angle_tolerance: float = 1e-3,
    scores: bool = True,
    **options: Any,
) -> Any:
    """Write `particles` with the writer `format`, read them back, and check positions, orientations and scores.

    Parameters
    ----------
    format : str
        The writer's name; the file gets its first extension.
    directory : path-like
        Where to write (``tmp_path`` in a pytest test).
    particles : ParticleList, optional
        Default :func:`example_particles`.
    reader : str, optional
        The reader's name (default: the same name as the writer).
    detect : bool
        Also check that the file's format is detected as `reader` (by
        extension and :meth:`~cryotm.formats.MotlReader.sniff`).
    position_tolerance : float
        In voxels.
    angle_tolerance : float
        In degrees, on the rotation (so equivalent Euler triples agree).
    scores : bool
        Compare the scores (formats without a score column: False).
    **options
        Options of the format, given to both writer and reader; the reader
        also gets the list's ``pixel_size`` and ``tomogram_shape``.

    Returns
    -------
    ParticleList
        What was read back.

    Examples
    --------
    >>> import tempfile
    >>> back = assert_round_trip("relion5", tempfile.mkdtemp(), detect=False)
    >>> len(back)
    5
    """
    import warnings

    import numpy as np

    from .formats import read_particles, reader_class, write_particles, writer_class

    particles = example_particles() if particles is None else particles
    cls = writer_class(format=format)
    path = Path(directory) / f"round_trip_{format}{cls.extensions[0] if cls.extensions else ''}"
    write_particles(particles, path, format=format, overwrite=True, **options)
    expected = reader or format
    if detect:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            detected = reader_class(path).name
        assert detected == expected, f"{path.name} is detected as {detected!r}, not {expected!r}"
    context = {"pixel_size": particles.pixel_size, "tomogram_shape": particles.tomogram_shape, **options}
    back = read_particles(path, expected, **context)
    assert len(back) == len(particles), f"wrote {len(particles)} particles, read {len(back)}"
    moved = np.abs(back.positions + back.shifts - particles.positions - particles.shifts).max(initial=0.0)
    assert moved <= position_tolerance, f"positions differ by up to {moved:g} voxels after the round trip"
    if len(particles):
        turned = np.degrees((back.orientations * particles.orientations.inv()).magnitude()).max()
        assert turned <= angle_tolerance, f"orientations differ by up to {turned:g} degrees after the round trip"
    if scores:
        np.testing.assert_allclose(back.scores, particles.scores, rtol=1e-5, err_msg="scores differ")
    return back


def cryocat_or_skip() -> ModuleType:
    """Import cryoCAT's ``tmana`` for a parity test, or skip the test when cryoCAT is not installed.

    Install the oracle with ``pip install "cryotm[parity]"``.
    """
    import pytest

    return pytest.importorskip("cryocat.tmana")


def call_oracle(function, *args, **kwargs):
    """Call a cryoCAT function for a parity test; skip the test where cryoCAT itself is known to break.

    cryoCAT 0.7.1's ellipsoid fit (``geom.fit_ellipsoid``) multiplies the
    radii in place by the signs of ``np.linalg.eig``'s eigenvalues, which
    numpy 2.5 returns as complex numbers: the call raises a casting error.
    There the comparison cannot be made, and the test is skipped with that
    reason (with numpy < 2.5, as in CI on Python 3.11, it runs).
    """
    import numpy as np
    import pytest

    try:
        return function(*args, **kwargs)
    except TypeError as exc:
        known = "Cannot cast ufunc 'multiply' output from dtype('complex128')" in str(exc)
        if known and np.lib.NumpyVersion(np.__version__) >= "2.5.0":
            pytest.skip("cryoCAT 0.7.1's ellipsoid fit fails under numpy >= 2.5 (eig returns complex values)")
        raise


class Pandas2ToNumeric:
    """pandas with ``to_numeric(errors="ignore")`` as pandas 2 had it (return the input if it fails).

    cryoCAT's STAR reader (``cryocat.starfileio``) calls
    ``pd.to_numeric(..., errors="ignore")``, which pandas 3 removed; put an
    instance in its place (``cryocat.starfileio.pd = Pandas2ToNumeric()``) to
    run cryoCAT's reads as an oracle. Every other attribute is pandas' own.

    Examples
    --------
    >>> shim = Pandas2ToNumeric()
    >>> shim.to_numeric(["1", "a"], errors="ignore")
    ['1', 'a']
    >>> shim.to_numeric(["1", "2"]).tolist(), shim.DataFrame.__name__
    ([1, 2], 'DataFrame')
    """

    def __getattr__(self, name: str) -> Any:
        import pandas as pd

        return getattr(pd, name)

    @staticmethod
    def to_numeric(arg: Any, errors: str = "raise", **kwargs: Any) -> Any:
        import pandas as pd

        if errors == "ignore":
            try:
                return pd.to_numeric(arg, **kwargs)
            except (ValueError, TypeError):
                return arg
        return pd.to_numeric(arg, errors=errors, **kwargs)
