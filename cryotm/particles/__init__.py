"""The particle list (motive list) and its conversion to cryotypes."""

from .particle_list import CORE_COLUMNS, FINITE_COLUMNS, ParticleList

__all__ = ["ParticleList", "CORE_COLUMNS", "FINITE_COLUMNS"]
