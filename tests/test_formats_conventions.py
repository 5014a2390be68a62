"""One worked, hand-checked particle per format: the coordinate offset and the Euler conversion.

The particle: 0-based voxel position (x, y, z) = (10, 20, 30), no shift,
Euler angles (phi, theta, psi) = (30, 40, 50) extrinsic zxz, score 0.5,
subtomo 7, tomogram 3 named "TS_003", object 2, class 4, pixel size 10 Å.

Its rotation R = Rz(50) Rx(40) Rz(30) turns the reference's z axis into
(sin 50 sin 40, -cos 50 sin 40, cos 40) = (0.49240, -0.41318, 0.76604)
(worked out by hand: Rz(30) leaves z alone, Rx(40) sends it to
(0, -sin 40, cos 40), Rz(50) turns that about z).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import starfile
from scipy.spatial.transform import Rotation

from cryotm import ParticleList
from cryotm.formats import read_particles, write_particles
from cryotm.maps import read_em

Z_AXIS_IMAGE = np.array([0.49240388, -0.41317591, 0.76604444])


@pytest.fixture
def particle() -> ParticleList:
    plist = ParticleList.from_arrays(
        [[10.0, 20.0, 30.0]], orientations=[[30.0, 40.0, 50.0]], scores=[0.5], tomo_id=3,
        object_id=2, experiment_id="TS_003", pixel_size=10.0,
    )
    data = plist.data
    data["subtomo_id"] = 7
    data["class"] = 4
    return plist.with_data(data)


def relion_matrix(rot: float, tilt: float, psi: float) -> np.ndarray:
    """RELION's Euler_angles2matrix (src/euler.cpp), written out as in its C++ source."""
    a, b, g = np.radians([rot, tilt, psi])
    ca, sa, cb, sb, cg, sg = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(g), np.sin(g)
    cc, cs, sc, ss = cb * ca, cb * sa, sb * ca, sb * sa
    return np.array(
        [
            [cg * cc - sg * sa, cg * cs + sg * ca, -cg * sb],
            [-sg * cc - cg * sa, -sg * cs + cg * ca, sg * sb],
            [sc, ss, cb],
        ]
    )


def assert_lands(back: ParticleList, x: float = 10.0, y: float = 20.0, z: float = 30.0) -> None:
    np.testing.assert_allclose(back.positions, [[x, y, z]], atol=1e-5)
    np.testing.assert_allclose(back.orientations.apply([0, 0, 1]), [Z_AXIS_IMAGE], atol=1e-6)


def test_hand_checked_rotation_of_the_worked_particle(particle):
    """R = zxz(30, 40, 50) sends the z axis to (sin50 sin40, -cos50 sin40, cos40)."""
    s, c = np.sin(np.radians([50, 40])), np.cos(np.radians([50, 40]))
    np.testing.assert_allclose(Z_AXIS_IMAGE, [s[0] * s[1], -c[0] * s[1], c[1]], atol=1e-8)
    np.testing.assert_allclose(particle.orientations.apply([0, 0, 1]), [Z_AXIS_IMAGE], atol=1e-8)


def test_emmotl_worked_example(particle, tmp_path):
    """EM motive list: rows 8-10 = 11, 21, 31 (1-based); rows 17, 18, 19 = phi, psi, theta = 30, 50, 40.

    Row 1 = score 0.5, row 4 = subtomo 7, row 5 = tomo 3, row 6 = object 2, row 20 = class 4.
    """
    path = tmp_path / "p.em"
    write_particles(particle, path)
    data, pixel = read_em(path)
    assert data.shape == (1, 1, 20)
    row = data[0, 0]
    expected = {1: 0.5, 4: 7, 5: 3, 6: 2, 8: 11, 9: 21, 10: 31, 17: 30, 18: 50, 19: 40, 20: 4}
    for number, value in expected.items():
        assert row[number - 1] == pytest.approx(value), f"row {number}"
    assert pixel == pytest.approx(10.0)
    assert_lands(read_particles(path))


def test_stopgap_worked_example(particle, tmp_path):
    """STOPGAP: orig_x..z = 11, 21, 31 (1-based); phi, psi, the = 30, 50, 40; subtomo_num 7 (odd -> halfset B)."""
    path = tmp_path / "p.star"
    write_particles(particle, path, format="stopgap")
    row = starfile.read(path).iloc[0]
    assert (row.orig_x, row.orig_y, row.orig_z) == (11, 21, 31)
    assert (row.phi, row.psi, row.the) == (30, 50, 40)
    assert (row.motl_idx, row.subtomo_num, row.tomo_num, row.object, row["class"]) == (7, 7, 3, 2, 4)
    assert row.halfset == "B" and row.score == 0.5
    assert_lands(read_particles(path))


@pytest.mark.parametrize("fmt", ["relion30", "relion31"])
def test_relion3_worked_example(particle, fmt, tmp_path):
    """RELION 3.0/3.1: rlnCoordinate = 10, 20, 30 (0-based); rot, tilt, psi = 90 - 30, 40, -50 - 90 = 60, 40, -140.

    RELION's own matrix of (60, 40, -140) equals R, and sends z to (0.49240, -0.41318, 0.76604).
    """
    path = tmp_path / "p.star"
    write_particles(particle, path, format=fmt)
    blocks = starfile.read(path, always_dict=True, parse_as_string=["rlnMicrographName"])
    row = blocks["" if fmt == "relion30" else "particles"].iloc[0]
    assert (row.rlnCoordinateX, row.rlnCoordinateY, row.rlnCoordinateZ) == (10, 20, 30)
    assert (row.rlnAngleRot, row.rlnAngleTilt, row.rlnAnglePsi) == pytest.approx((60, 40, -140))
    assert row.rlnMicrographName == "TS_003" and row.rlnImageName == "TS_003_000007.mrc"
    matrix = relion_matrix(row.rlnAngleRot, row.rlnAngleTilt, row.rlnAnglePsi)
    np.testing.assert_allclose(matrix, particle.orientations.as_matrix()[0], atol=1e-12)
    np.testing.assert_allclose(matrix @ [0, 0, 1], Z_AXIS_IMAGE, atol=1e-6)
    assert_lands(read_particles(path))


def test_relion4_worked_example(particle, tmp_path):
    """RELION 4, binning 4: rlnCoordinate = 4 x (10, 20, 30) = 40, 80, 120 unbinned pixels (0-based).

    Angles as RELION 3 (60, 40, -140); rlnTomoName "TS_003", rlnTomoParticleName "TS_003/7";
    optics: tilt-series pixel 10 / 4 = 2.5 Å, subtomogram binning 4. Reading with the file's
    binning gives the binned position back; reading with binning=1 gives unbinned pixels.
    """
    path = tmp_path / "p.star"
    write_particles(particle, path, format="relion4", binning=4)
    blocks = starfile.read(path, always_dict=True, parse_as_string=["rlnTomoName"])
    row = blocks["particles"].iloc[0]
    assert (row.rlnCoordinateX, row.rlnCoordinateY, row.rlnCoordinateZ) == (40, 80, 120)
    assert (row.rlnAngleRot, row.rlnAngleTilt, row.rlnAnglePsi) == pytest.approx((60, 40, -140))
    assert (row.rlnTomoName, row.rlnTomoParticleName) == ("TS_003", "TS_003/7")
    optics = blocks["optics"].iloc[0]
    assert optics.rlnTomoTiltSeriesPixelSize == 2.5 and optics.rlnTomoSubtomogramBinning == 4
    back = read_particles(path)
    assert_lands(back)
    assert back.pixel_size == 10.0
    unbinned = read_particles(path, binning=1)
    assert_lands(unbinned, 40, 80, 120)
    assert unbinned.pixel_size == 2.5


RELION40_FILE = """
# version 30001

data_optics

loop_
_rlnOpticsGroup #1
_rlnOpticsGroupName #2
_rlnSphericalAberration #3
_rlnVoltage #4
_rlnTomoTiltSeriesPixelSize #5
_rlnCtfDataAreCtfPremultiplied #6
_rlnImageDimensionality #7
_rlnTomoSubtomogramBinning #8
_rlnImagePixelSize #9
_rlnImageSize #10
1 opticsGroup1 2.700000 300.000000 2.500000 1 3 4.000000 10.000000 32

# version 30001

data_particles

loop_
_rlnTomoName #1
_rlnTomoParticleName #2
_rlnCoordinateX #3
_rlnCoordinateY #4
_rlnCoordinateZ #5
_rlnOriginXAngst #6
_rlnOriginYAngst #7
_rlnOriginZAngst #8
_rlnAngleRot #9
_rlnAngleTilt #10
_rlnAnglePsi #11
_rlnOpticsGroup #12
TS_003 TS_003/7 40.000000 80.000000 120.000000 5.000000 0.000000 0.000000 60.000000 40.000000 -140.000000 1
"""


def test_relion_4_0_internal_plus_one_is_not_a_file_offset(tmp_path):
    """RELION 4.0.x adds 1 to rlnCoordinate inside, and its tomograms start at 1: the two cancel.

    Hand-checked against RELION's code (docs/conventions.rst, "RELION 4.0's internal +1"): 4.0.2's
    ParticleSet::getPosition places the particle at coordinate + 1 - origin / tilt-series pixel, and
    relion_tomo_reconstruct_tomogram --bin B puts voxel i at 1 + B i (its default origin --x0 1);
    5.0.0 adds nothing and reconstructs from 0. Both give the same voxel for the same file, the one
    cryotm reads: x = (40 + 1 - 5 / 2.5 - 1) / 4 = 9.5 = 10 - 0.5 (position 10, shift -0.5 voxel).
    """
    path = tmp_path / "relion40.star"  # as RELION 4.0's relion_tomo_* write it (# version 30001)
    path.write_text(RELION40_FILE)
    coordinate, origin_angst, tilt_series_pixel, binning = np.array([40.0, 80.0, 120.0]), np.array([5.0, 0, 0]), 2.5, 4
    relion40_frame = coordinate + 1.0 - origin_angst / tilt_series_pixel
    relion40_voxel = (relion40_frame - 1.0) / binning  # reconstruction origin (1, 1, 1)
    relion50_voxel = (coordinate - origin_angst / tilt_series_pixel - 0.0) / binning  # origin (0, 0, 0)
    np.testing.assert_allclose(relion40_voxel, [9.5, 20, 30])
    np.testing.assert_allclose(relion50_voxel, relion40_voxel)
    back = read_particles(path)
    assert back.binning == 4 and back.pixel_size == 10.0
    np.testing.assert_allclose(back.positions, [[10, 20, 30]], atol=1e-9)
    np.testing.assert_allclose(back.positions + back.shifts, [relion40_voxel], atol=1e-9)
    np.testing.assert_allclose(back.orientations.apply([0, 0, 1]), [Z_AXIS_IMAGE], atol=1e-6)


@pytest.mark.parametrize(("centre", "expected"), [("relion", (-300, -300, -20)), ("pytom", (-290, -290, -10))])
def test_relion5_worked_example(particle, centre, expected, tmp_path):
    """RELION 5 in a tomogram of (z, y, x) = (64, 100, 80) voxels of 10 Å.

    centre="relion": c = size / 2 = (40, 50, 32), so (10 - 40, 20 - 50, 30 - 32) x 10 Å = (-300, -300, -20) Å.
    centre="pytom": c = size / 2 - 1 = (39, 49, 31), giving (-290, -290, -10) Å. Angles as RELION 3.
    """
    path = tmp_path / "p.star"
    write_particles(particle, path, format="relion5", tomogram_shape=(64, 100, 80), centre=centre)
    row = starfile.read(path)["particles"].iloc[0]
    centred = (row.rlnCenteredCoordinateXAngst, row.rlnCenteredCoordinateYAngst, row.rlnCenteredCoordinateZAngst)
    assert centred == pytest.approx(expected)
    assert (row.rlnAngleRot, row.rlnAngleTilt, row.rlnAnglePsi) == pytest.approx((60, 40, -140))
    assert_lands(read_particles(path, tomogram_shape=(64, 100, 80), centre=centre))
    other = "pytom" if centre == "relion" else "relion"
    step = 1.0 if other == "relion" else -1.0
    assert_lands(read_particles(path, tomogram_shape=(64, 100, 80), centre=other), 10 + step, 20 + step, 30 + step)


def test_dynamo_worked_example(particle, tmp_path):
    """Dynamo: columns 24-26 = 11, 21, 31 (1-based); tdrot, tilt, narot (7-9) = -psi, -theta, -phi = -50, -40, -30.

    Column 1 tag 7, 10 cc 0.5, 20 tomo 3, 21 reg 2, 22 class 4. Dynamo's matrix,
    ``Rz(narot) Rx(tilt) Rz(tdrot)``, is the inverse of R.
    """
    path = tmp_path / "p.tbl"
    write_particles(particle, path)
    row = pd.read_csv(path, sep=" ", header=None).iloc[0].to_numpy()
    assert len(row) == 35
    expected = {1: 7, 2: 1, 3: 1, 7: -50, 8: -40, 9: -30, 10: 0.5, 20: 3, 21: 2, 22: 4, 24: 11, 25: 21, 26: 31}
    for column, value in expected.items():
        assert row[column - 1] == pytest.approx(value), f"column {column}"
    dynamo = Rotation.from_euler("zxz", row[6:9], degrees=True)
    assert (dynamo * particle.orientations).magnitude()[0] == pytest.approx(0, abs=1e-9)
    assert_lands(read_particles(path))


def test_table_worked_example(particle, tmp_path):
    """Plain table: cryotm's own conventions, unchanged (x, y, z = 10, 20, 30; phi, theta, psi = 30, 40, 50)."""
    path = tmp_path / "p.tsv"
    write_particles(particle, path)
    text = path.read_text()
    assert "# pixel_size: 10.0" in text and "# experiment_id: TS_003" in text
    frame = pd.read_csv(path, sep="\t", comment="#")
    assert frame.loc[0, ["x", "y", "z", "phi", "theta", "psi"]].tolist() == [10, 20, 30, 30, 40, 50]
    assert_lands(read_particles(path))


def test_relion_angles_are_exact_for_any_triple():
    """rot = 90 - phi, tilt = theta, psi_r = -psi - 90 gives RELION's matrix == R for random triples,
    including theta outside [0, 180] and gimbal-lock cases."""
    from cryotm.formats._relion import relion_to_zxz, zxz_to_relion

    rng = np.random.default_rng(5)
    euler = rng.uniform(-360, 360, (200, 3))
    euler[:5, 1] = [0, 180, -180, 360, 90]
    relion = zxz_to_relion(euler)
    reference = Rotation.from_euler("zxz", euler, degrees=True)
    for triple, rotation in zip(relion, reference):
        np.testing.assert_allclose(relion_matrix(*triple), rotation.as_matrix(), atol=1e-12)
    assert relion.min() >= -180 and relion[:, [0, 2]].max() < 180
    assert relion[:, 1].min() >= 0 and relion[:, 1].max() <= 180
    back = Rotation.from_euler("zxz", relion_to_zxz(relion), degrees=True)
    assert np.degrees((back * reference.inv()).magnitude()).max() < 1e-9
