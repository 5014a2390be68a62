"""One-to-one matching of picks to a reference (precision, recall, angular error)."""

from __future__ import annotations

import numpy as np
import pytest

from cryotm import ParticleList
from cryotm.evaluation import match_particles


def _plist(xyz, angles=None):
    return ParticleList.from_arrays(np.asarray(xyz, float), orientations=angles)


def test_a_reference_particle_is_matched_once():
    picks = _plist([[10, 10, 10], [11, 10, 10]])
    reference = _plist([[10.5, 10, 10]])
    result = match_particles(picks, reference, tolerance=2)
    assert result.true_positives == 1
    assert result.precision == 0.5 and result.recall == 1.0
    assert result.f1 == pytest.approx(2 / 3)


def test_assignment_is_optimal_not_greedy():
    # greedy nearest-first pairs pick 0 with reference 1 (distance 0.9) and leaves the rest unmatched;
    # the optimal one-to-one assignment matches both
    picks = _plist([[0, 0, 0], [1.8, 0, 0]])
    reference = _plist([[-1.0, 0, 0], [0.9, 0, 0]])
    result = match_particles(picks, reference, tolerance=1.0)
    assert result.true_positives == 2
    assert sorted(map(tuple, result.pairs)) == [(0, 0), (1, 1)]


def test_angular_error_and_tolerance():
    picks = _plist([[5, 5, 5]], angles=[[0, 0, 30]])
    reference = _plist([[5, 5, 6]], angles=[[0, 0, 0]])
    assert match_particles(picks, reference, tolerance=0.5).true_positives == 0
    result = match_particles(picks, reference, tolerance=1.0)
    assert result.angular_errors == pytest.approx([30.0])
    assert result.distances == pytest.approx([1.0])


def test_empty_lists():
    empty = ParticleList.empty()
    result = match_particles(empty, _plist([[1, 2, 3]]), tolerance=1)
    assert result.precision == 1.0 and result.recall == 0.0 and result.f1 == 0.0
