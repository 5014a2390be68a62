"""A third-party cryotm plugin, written from docs/plugins.rst: a threshold, a labeler and a format.

- ``percentile:P``: the P-th percentile of the scores (inside the mask);
- ``box``: the bounding box of the peak's connected component;
- ``xyz``: a text particle list, one ``x y z phi theta psi score tomo_id``
  line per particle (1-based positions), readable and writable.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np

from cryotm.extend import (
    AxisSizes,
    InputError,
    Labeler,
    Labeling,
    MotlReader,
    MotlWriter,
    ThresholdResult,
    ThresholdStrategy,
    central_component,
    hookimpl,
    masked_values,
    touches_border,
)

__version__ = "0.3.0"

HEADER = "# cryotm-xyz x y z phi theta psi score tomo_id"


def _percent(instance, attribute, value):
    if not 0.0 <= value <= 100.0:
        raise ValueError(f"percentile must be within 0..100, got {value}")


@attrs.define
class PercentileThreshold(ThresholdStrategy):
    """The P-th percentile of the scores (``percentile:99.9``)."""

    name = "percentile"
    primary_parameter = "percentile"
    description = "the P-th percentile of the scores inside the mask (percentile:99.9)"

    percentile: float = attrs.field(default=99.9, validator=_percent)

    def evaluate(self, scores, mask=None, statistics=None) -> ThresholdResult:
        values = masked_values(scores, mask)
        value = float(np.percentile(values, self.percentile))
        return ThresholdResult(value=value, strategy=self.name, details={"percentile": self.percentile})


@attrs.define
class BoxLabeler(Labeler):
    """The bounding box of the connected component around the peak."""

    name = "box"
    description = "bounding box of the connected component around the peak"

    def label(self, above, peak_zyx) -> Labeling:
        component = central_component(above, peak_zyx)
        zyx = np.argwhere(component)
        low, high = zyx.min(axis=0), zyx.max(axis=0)
        mask = np.zeros(component.shape, dtype=bool)
        mask[low[0]:high[0] + 1, low[1]:high[1] + 1, low[2]:high[2] + 1] = True
        z, y, x = (high - low + 1).tolist()
        return Labeling(mask=mask, sizes=AxisSizes(x=float(x), y=float(y), z=float(z)), component=component,
                        touches_border=touches_border(component))


@attrs.define
class XyzWriter(MotlWriter):
    """Plain text, one particle a line: x y z (1-based) phi theta psi score tomo_id."""

    name = "xyz"
    extensions = (".xyz",)
    description = "plain text: x y z (1-based) phi theta psi score tomo_id"

    def write_file(self, particles, path: Path) -> None:
        table = np.column_stack([
            particles.positions + particles.shifts + 1.0,
            particles.euler_angles,
            particles.scores,
            particles.data["tomo_id"].to_numpy(dtype=float),
        ])
        np.savetxt(path, table, fmt="%.6f", header=HEADER[2:], comments="# ")


@attrs.define
class XyzReader(MotlReader):
    """Reads what :class:`XyzWriter` writes (recognised by its header line)."""

    name = "xyz"
    extensions = (".xyz",)
    description = XyzWriter.description

    @classmethod
    def sniff(cls, path: Path) -> bool:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.readline().strip() == HEADER

    def read_file(self, path: Path):
        from cryotm.particles import ParticleList

        try:
            table = np.loadtxt(path, ndmin=2)
        except ValueError as exc:
            raise InputError(f"not an xyz particle list: {exc}", path) from None
        if table.size and table.shape[1] != 8:
            raise InputError(f"an xyz particle list has 8 columns, this one {table.shape[1]}", path)
        table = table.reshape(-1, 8)
        return ParticleList.from_arrays(table[:, :3] - 1.0, orientations=table[:, 3:6], scores=table[:, 6],
                                        tomo_id=table[:, 7].astype(int))


@hookimpl
def cryotm_threshold_strategies():
    return [PercentileThreshold]


@hookimpl
def cryotm_labelers():
    return [BoxLabeler]


@hookimpl
def cryotm_motl_writers():
    return [XyzWriter]


@hookimpl
def cryotm_motl_readers():
    return [XyzReader]
