"""The cryotm plugin: threshold strategies ``otsu`` and ``li`` (scikit-image).

Registered through the ``cryotm`` entry-point group (see ``pyproject.toml``);
cryotm calls the hook below and then accepts ``--threshold otsu`` /
``--threshold li`` (and ``get_threshold_strategy("otsu")``) like a built-in.
"""

from cryotm import hookimpl

from .strategies import LiThreshold, OtsuThreshold


@hookimpl
def cryotm_threshold_strategies():
    return [OtsuThreshold, LiThreshold]
