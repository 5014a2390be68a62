"""Angle lists and rotations (Euler conventions live in one place)."""

from .angle_list import ANGLE_ORDERS, AngleList, euler_to_rotation, rotation_to_euler
from .distance_maps import DIST_MAP_SUFFIXES, DistanceMaps, create_distance_maps, distance_tables
from .distances import AngularDistances, compare_rotations, inplane_angle, normal_angle, parse_symmetry, total_angle

__all__ = ["AngleList", "ANGLE_ORDERS", "euler_to_rotation", "rotation_to_euler"]
__all__ += ["AngularDistances", "compare_rotations", "total_angle", "normal_angle", "inplane_angle", "parse_symmetry"]
__all__ += ["DistanceMaps", "DIST_MAP_SUFFIXES", "create_distance_maps", "distance_tables"]
