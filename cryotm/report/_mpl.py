"""Matplotlib, imported on demand (the optional ``plot`` extra), drawing with the Agg canvas only."""

from __future__ import annotations

from ..errors import CryotmError

__all__ = ["new_figure"]


def new_figure(**kwargs):
    """A :class:`matplotlib.figure.Figure` on an Agg canvas (no pyplot, no GUI, no global state).

    Raises
    ------
    CryotmError
        If matplotlib is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise CryotmError('reports need matplotlib: pip install "cryotm[plot]"') from None
    figure = Figure(**kwargs)
    FigureCanvasAgg(figure)
    return figure
