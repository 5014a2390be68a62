"""cryotm's own threshold strategies, registered through the plugin hook like any plugin."""

from ..plugins import hookimpl
from .manual import ManualThreshold
from .sigma import SigmaThreshold


@hookimpl
def cryotm_threshold_strategies():
    return [ManualThreshold, SigmaThreshold]
