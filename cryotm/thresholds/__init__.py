"""Threshold strategies: one module per rule, chosen by name (``sigma:3``, ``far``, ``triangle``, ...)."""

from .background import BackgroundFit, estimate_background
from .base import (
    SearchStatistics,
    ThresholdResult,
    ThresholdStrategy,
    get_threshold_strategy,
    parse_threshold_spec,
    threshold_strategies,
)
from .calibrated import CalibratedThreshold, local_maxima
from .far import FalseAlarmRateThreshold, false_alarm_cutoff
from .gauss import GaussThreshold
from .hard import HardThreshold
from .manual import ManualThreshold
from .sigma import SigmaThreshold
from .triangle import TriangleThreshold, triangle_threshold

__all__ = [
    "ThresholdStrategy",
    "ThresholdResult",
    "SearchStatistics",
    "get_threshold_strategy",
    "parse_threshold_spec",
    "threshold_strategies",
    "ManualThreshold",
    "SigmaThreshold",
    "TriangleThreshold",
    "FalseAlarmRateThreshold",
    "CalibratedThreshold",
    "HardThreshold",
    "GaussThreshold",
    "BackgroundFit",
    "estimate_background",
    "false_alarm_cutoff",
    "local_maxima",
    "triangle_threshold",
]
