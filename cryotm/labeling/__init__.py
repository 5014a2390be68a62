"""Labelers of peak-shape evaluation: ellipsoid, central planes, central component."""
