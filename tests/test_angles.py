"""Angle lists: file orders, index bases, rotations, bad files; cryoCAT's loader as oracle."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from cryotm import AngleList, InputError
from cryotm.angles import euler_to_rotation, rotation_to_euler

TRIPLES = np.array([[10.0, 20.0, 30.0], [-45.0, 90.0, 135.0], [0.0, 0.0, 0.0], [170.5, 33.25, -60.0]])


def _write_csv(path, rows):
    path.write_text("\n".join(",".join(f"{v:g}" for v in row) for row in rows) + "\n")
    return path


def test_zxz_file_is_phi_theta_psi(tmp_path):
    angles = AngleList.read(_write_csv(tmp_path / "a.csv", TRIPLES))
    np.testing.assert_array_equal(angles.angles, TRIPLES)
    assert len(angles) == 4 and angles.index_base == 0


def test_zzx_file_is_phi_psi_theta(tmp_path):
    # STOPGAP writes phi, psi, theta
    stopgap_rows = TRIPLES[:, [0, 2, 1]]
    angles = AngleList.read(_write_csv(tmp_path / "a.csv", stopgap_rows), order="zzx", index_base=1)
    np.testing.assert_array_equal(angles.angles, TRIPLES)
    assert angles.index_base == 1


def test_write_then_read_in_both_orders(tmp_path):
    angles = AngleList(TRIPLES)
    for order in ("zxz", "zzx"):
        angles.write(tmp_path / f"{order}.csv", order=order)
        np.testing.assert_allclose(AngleList.read(tmp_path / f"{order}.csv", order=order).angles, TRIPLES)


def test_rows_for_applies_the_index_base():
    zero = AngleList(TRIPLES, index_base=0)
    one = AngleList(TRIPLES, index_base=1)
    assert zero.rows_for([0, 3]).tolist() == [0, 3]
    assert one.rows_for([1, 4]).tolist() == [0, 3]
    with pytest.raises(InputError, match=r"angle index 4 is outside the angle list .*valid 0\.\.3 with index_base=0"):
        zero.rows_for([1, 4])
    with pytest.raises(InputError, match=r"angle index 0 is outside"):
        one.rows_for([0])


def test_rotations_are_extrinsic_zxz():
    angles = AngleList(TRIPLES)
    expected = Rotation.from_euler("zxz", TRIPLES, degrees=True)
    np.testing.assert_allclose(angles.rotations().as_matrix(), expected.as_matrix())
    # a pure phi of 90 deg turns x into y (rotation about z)
    np.testing.assert_allclose(euler_to_rotation([90, 0, 0]).apply([1, 0, 0]), [0, 1, 0], atol=1e-12)
    # a pure theta of 90 deg turns y into z (rotation about x)
    np.testing.assert_allclose(euler_to_rotation([0, 90, 0]).apply([0, 1, 0]), [0, 0, 1], atol=1e-12)


def test_euler_round_trip_through_rotation():
    back = rotation_to_euler(euler_to_rotation(TRIPLES))
    relative = euler_to_rotation(back) * euler_to_rotation(TRIPLES).inv()
    assert np.all(np.degrees(relative.magnitude()) < 1e-9)


def test_from_array_honours_the_order():
    np.testing.assert_array_equal(AngleList.from_array(TRIPLES[:, [0, 2, 1]], order="zzx").angles, TRIPLES)


@pytest.mark.parametrize(
    "content,message",
    [
        ("1,2\n3,4\n", "needs 3 columns, found 2"),
        ("1,2,3,4\n", "needs 3 columns, found 4"),
        ("phi,theta,psi\n1,2,3\n", "numbers only"),
        ("1,2,nan\n", "non-finite angle in row 1"),
    ],
)
def test_bad_csv_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=rf"bad\.csv: .*{message}"):
        AngleList.read(path)


def test_missing_file_and_unknown_order(tmp_path):
    with pytest.raises(InputError, match=r"none\.csv: no such file"):
        AngleList.read(tmp_path / "none.csv")
    with pytest.raises(InputError, match="unknown angles order 'xyz'"):
        AngleList.from_array(TRIPLES, order="xyz")


@pytest.mark.parity
@pytest.mark.parametrize("order", ["zxz", "zzx"])
def test_same_angles_as_cryocat_loader(tmp_path, order):
    ioutils = pytest.importorskip("cryocat.ioutils")
    rng = np.random.default_rng(4)
    rows = rng.uniform(-180, 180, size=(50, 3))
    path = tmp_path / "angles.csv"
    np.savetxt(path, rows, delimiter=",")
    theirs = ioutils.rot_angles_load(str(path), angles_order=order)
    for base in (0, 1):
        ours = AngleList.read(path, order=order, index_base=base)
        np.testing.assert_array_equal(ours.angles, theirs)


def test_coerce_keeps_the_index_base_of_an_angle_list_unless_told():
    one_based = AngleList(np.zeros((3, 3)), index_base=1)
    assert AngleList.coerce(one_based) is one_based
    assert AngleList.coerce(one_based, index_base=0).index_base == 0
    assert AngleList.coerce(np.zeros((3, 3))).index_base == 0
