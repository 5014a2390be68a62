"""cryotm-imod: IMOD binary models (``.mod``) as a cryotm particle-list format (``imod``)."""

from .model import ImodModel, ImodObject, read_model, write_model

__version__ = "0.1.0"
__all__ = ["ImodModel", "ImodObject", "read_model", "write_model", "__version__"]
