"""Threshold strategies: one module per rule, chosen by name (``sigma:3``, ``far``, ...)."""

from .base import (
    SearchStatistics,
    ThresholdResult,
    ThresholdStrategy,
    get_threshold_strategy,
    parse_threshold_spec,
    threshold_strategies,
)
from .manual import ManualThreshold
from .sigma import SigmaThreshold

__all__ = [
    "ThresholdStrategy",
    "ThresholdResult",
    "SearchStatistics",
    "get_threshold_strategy",
    "parse_threshold_spec",
    "threshold_strategies",
    "ManualThreshold",
    "SigmaThreshold",
]
