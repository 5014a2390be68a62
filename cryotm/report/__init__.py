"""Reports with plots (matplotlib, the optional ``plot`` extra; Agg canvas, no GUI).

- :func:`make_report`: the figures of a run - the scores histogram on a log
  scale with each threshold strategy's line and the fitted background
  Gaussian, the threshold-choosing figure (candidate peaks with the fitted
  noise model and each rule's cut-off; particles kept against the
  threshold), orthogonal slices with the picks, peak profiles with Gaussian fits;
- :func:`report_run`: the same from a run record (``*.cryotm.json``);
- :func:`plot_histogram`, :func:`plot_threshold_choice`, :func:`plot_slices`,
  :func:`plot_peak_profiles`: one figure each.

Every function returns :class:`matplotlib.figure.Figure` objects, so what is
drawn can be inspected before (or instead of) saving.
"""

from .choosing import RULE_COLOURS, plot_threshold_choice, rule_colour
from .histogram import background_curve, plot_histogram
from .peaks import plot_peak_profiles
from .report import DEFAULT_THRESHOLDS, Report, make_report, report_run
from .slices import plot_slices
from .tracks import plot_tracks

__all__ = [
    "make_report",
    "report_run",
    "Report",
    "DEFAULT_THRESHOLDS",
    "plot_histogram",
    "plot_threshold_choice",
    "rule_colour",
    "RULE_COLOURS",
    "plot_slices",
    "plot_peak_profiles",
    "background_curve",
    "plot_tracks",
]
