"""cryotm-copick: particle picks in copick projects (format ``copick``) and batches over a project's runs."""

from .picks import from_copick, to_copick
from .target import CopickTarget, parse_target

__version__ = "0.1.0"
__all__ = ["CopickTarget", "parse_target", "to_copick", "from_copick", "__version__"]
