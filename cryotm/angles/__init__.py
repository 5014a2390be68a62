"""Angle lists and rotations (Euler conventions live in one place)."""

from .angle_list import ANGLE_ORDERS, AngleList, euler_to_rotation, rotation_to_euler

__all__ = ["AngleList", "ANGLE_ORDERS", "euler_to_rotation", "rotation_to_euler"]
