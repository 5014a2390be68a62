"""cryotm's own threshold strategies, registered through the plugin hook like any plugin."""

from ..plugins import hookimpl
from .calibrated import CalibratedThreshold
from .far import FalseAlarmRateThreshold
from .gauss import GaussThreshold
from .hard import HardThreshold
from .manual import ManualThreshold
from .sigma import SigmaThreshold
from .triangle import TriangleThreshold


@hookimpl
def cryotm_threshold_strategies():
    return [
        CalibratedThreshold,
        ManualThreshold,
        SigmaThreshold,
        TriangleThreshold,
        FalseAlarmRateThreshold,
        HardThreshold,
        GaussThreshold,
    ]
