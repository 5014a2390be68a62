"""Someone else's reader reads our files: cryoCAT's Motl classes (and ours read cryoCAT's).

Known differences, each pinned below:

* cryoCAT's STAR reader (``cryocat.starfileio.Starfile.read``) calls
  ``pd.to_numeric(..., errors="ignore")``, which pandas 3 removed: every
  cryoCAT STOPGAP/RELION read fails under pandas 3. The tests restore the
  pandas-2 behaviour of that one call (the ``pandas2_to_numeric`` fixture)
  and check the rest of cryoCAT's readers against our files. cryoCAT's
  STOPGAP writer (a float column given "A"/"B") and RELION writers
  (``DataFrame.applymap``) also crash under pandas 3, so only its EM and
  Dynamo writers are used for the reverse direction.
* cryoCAT puts its 1-based motive-list positions unchanged into RELION's
  ``rlnCoordinate``; cryotm writes RELION coordinates 0-based. cryoCAT's
  positions read from our RELION files are therefore one voxel below those it
  reads from our EM/STOPGAP files (which equal ours + 1).
* cryoCAT reads RELION scores only from ``rlnMaxValueProbDistribution``
  (write with ``score_label="rlnMaxValueProbDistribution"`` for it), and
  does not divide RELION 4 coordinates by the binning when reading.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.transform import Rotation

from cryotm import ParticleList
from cryotm.formats import read_particles, write_particles

from cryotm.testing import Pandas2ToNumeric, cryocat_or_skip

pytestmark = pytest.mark.parity

SHAPE = (50, 120, 110)  # z, y, x


@pytest.fixture
def cryomotl():
    cryocat_or_skip()
    import cryocat.cryomotl

    return cryocat.cryomotl


@pytest.fixture
def pandas2_to_numeric(cryomotl, monkeypatch):
    import cryocat.starfileio

    monkeypatch.setattr(cryocat.starfileio, "pd", Pandas2ToNumeric())


@pytest.fixture
def plist() -> ParticleList:
    """Integer positions (cryoCAT's RELION 5 reader rounds positions), random orientations, shifts."""
    rng = np.random.default_rng(11)
    n = 9
    data = ParticleList.from_arrays(
        rng.integers(2, 48, (n, 3)).astype(float),
        orientations=Rotation.random(n, random_state=11),
        scores=rng.uniform(0.1, 0.9, n),
        shifts=rng.normal(0, 0.3, (n, 3)),
        tomo_id=3,
        experiment_id="TS_003",
        pixel_size=10.0,
        tomogram_shape=SHAPE,
    ).data
    data["class"] = rng.integers(1, 3, n)
    data["object_id"] = rng.integers(1, 4, n)
    return ParticleList(data, experiment_id="TS_003", pixel_size=10.0, tomogram_shape=SHAPE)


def cryocat_positions(df: pd.DataFrame) -> np.ndarray:
    return df[["x", "y", "z"]].to_numpy(dtype=float)


def cryocat_rotations(df: pd.DataFrame) -> Rotation:
    return Rotation.from_euler("zxz", df[["phi", "theta", "psi"]].to_numpy(dtype=float), degrees=True)


def angle_error(rotations: Rotation, plist: ParticleList) -> float:
    return float(np.degrees((rotations * plist.orientations.inv()).magnitude()).max())


def test_cryocat_reads_our_em_motive_list(cryomotl, plist, tmp_path):
    path = tmp_path / "p.em"
    write_particles(plist, path)
    df = cryomotl.Motl.load(str(path)).df
    np.testing.assert_allclose(cryocat_positions(df), plist.positions + 1, atol=1e-4)
    np.testing.assert_allclose(df[["shift_x", "shift_y", "shift_z"]], plist.shifts, atol=1e-5)
    np.testing.assert_allclose(df["score"], plist.scores, atol=1e-6)
    for column in ("subtomo_id", "tomo_id", "object_id", "class"):
        np.testing.assert_array_equal(df[column], plist.data[column])
    assert angle_error(cryocat_rotations(df), plist) < 1e-4


def test_we_read_cryocats_em_and_dynamo_files(cryomotl, plist, tmp_path):
    source = tmp_path / "p.em"
    write_particles(plist, source)
    motl = cryomotl.Motl.load(str(source))
    cryomotl.EmMotl(motl.df).write_out(str(tmp_path / "cc.em"))
    cryomotl.DynamoMotl(motl.df).write_out(str(tmp_path / "cc.tbl"))
    for name in ("cc.em", "cc.tbl"):
        back = read_particles(tmp_path / name)
        np.testing.assert_allclose(back.positions, plist.positions, atol=1e-4, err_msg=name)
        assert angle_error(back.orientations, plist) < 1e-4, name
        np.testing.assert_array_equal(back.data["subtomo_id"], plist.data["subtomo_id"])


def test_cryocat_reads_our_dynamo_table(cryomotl, plist, tmp_path):
    path = tmp_path / "p.tbl"
    write_particles(plist, path)
    df = cryomotl.Motl.load(str(path), motl_type="dynamo").df
    np.testing.assert_allclose(cryocat_positions(df), plist.positions + 1, atol=1e-9)
    np.testing.assert_allclose(df["score"], plist.scores)
    assert angle_error(cryocat_rotations(df), plist) < 1e-9
    np.testing.assert_array_equal(df["class"], plist.data["class"])


@pytest.mark.skipif(int(pd.__version__.split(".")[0]) < 3, reason="the breakage is specific to pandas 3")
def test_cryocat_star_reader_is_broken_under_pandas3(cryomotl, plist, tmp_path):
    """Upstream bug: ``pd.to_numeric(errors="ignore")`` was removed in pandas 3 (remove the shim when this fails)."""
    path = tmp_path / "p.star"
    write_particles(plist, path, format="stopgap")
    with pytest.raises(ValueError, match="invalid error value"):
        cryomotl.Motl.load(str(path), motl_type="stopgap")


def test_cryocat_reads_our_stopgap_star(cryomotl, pandas2_to_numeric, plist, tmp_path):
    path = tmp_path / "p.star"
    write_particles(plist, path, format="stopgap")
    df = cryomotl.Motl.load(str(path), motl_type="stopgap").df
    np.testing.assert_allclose(cryocat_positions(df), plist.positions + 1, atol=1e-9)
    np.testing.assert_allclose(df[["shift_x", "shift_y", "shift_z"]], plist.shifts, atol=1e-9)
    np.testing.assert_allclose(df["score"], plist.scores)
    for column in ("subtomo_id", "tomo_id", "object_id", "class"):
        np.testing.assert_array_equal(df[column], plist.data[column])
    assert angle_error(cryocat_rotations(df), plist) < 1e-9


@pytest.mark.parametrize(("fmt", "version"), [("relion30", 3.0), ("relion31", 3.1), ("relion4", 4.0)])
def test_cryocat_reads_our_relion_stars(cryomotl, pandas2_to_numeric, plist, fmt, version, tmp_path):
    path = tmp_path / "p.star"
    binning = 2.0 if fmt == "relion4" else 1.0
    options = {"binning": binning} if fmt == "relion4" else {}
    write_particles(plist, path, format=fmt, score_label="rlnMaxValueProbDistribution", **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        motl = cryomotl.RelionMotl(str(path), binning=binning)
    df = motl.df
    assert motl.version == version
    # cryoCAT takes rlnCoordinate as its own (1-based) position and does not unbin on reading
    np.testing.assert_allclose(cryocat_positions(df), plist.positions * binning, atol=1e-9)
    np.testing.assert_allclose(df[["shift_x", "shift_y", "shift_z"]], plist.shifts, atol=1e-9)
    np.testing.assert_allclose(df["score"], plist.scores)
    np.testing.assert_array_equal(df["tomo_id"], 3)  # parsed from "TS_003"
    np.testing.assert_array_equal(df["subtomo_id"], plist.data["subtomo_id"])
    np.testing.assert_array_equal(df["class"], plist.data["class"])
    assert angle_error(cryocat_rotations(df), plist) < 1e-9


def test_cryocat_reads_our_relion5_star(cryomotl, pandas2_to_numeric, plist, tmp_path):
    path = tmp_path / "p.star"
    data = plist.data.copy()
    data[["shift_x", "shift_y", "shift_z"]] = 0.0  # cryoCAT re-centres positions + shifts on reading
    plist = plist.with_data(data)
    write_particles(plist, path, format="relion5", score_label="rlnMaxValueProbDistribution")
    tomograms = pd.DataFrame(
        {"rlnTomoName": ["TS_003"], "rlnTomoSizeX": [SHAPE[2]], "rlnTomoSizeY": [SHAPE[1]], "rlnTomoSizeZ": [SHAPE[0]]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = cryomotl.Motl.load(str(path), motl_type="relion5", input_tomograms=tomograms, pixel_size=10.0).df
    # both use the centre size / 2; cryoCAT takes the result as 1-based, cryotm as 0-based
    np.testing.assert_allclose(cryocat_positions(df), plist.positions, atol=1e-9)
    np.testing.assert_allclose(df["score"], plist.scores)
    np.testing.assert_array_equal(df["subtomo_id"], plist.data["subtomo_id"])
    assert angle_error(cryocat_rotations(df), plist) < 1e-9


def test_our_relion_angles_match_cryocats_conversion(cryomotl, plist):
    """cryoCAT's convert_angles_to_relion gives the same rotations as our rot = 90 - phi, ... formula."""
    from cryotm.formats._relion import zxz_to_relion

    motl = cryomotl.RelionMotl.__new__(cryomotl.RelionMotl)
    motl.df = plist.data[["phi", "theta", "psi"]].copy()
    theirs = motl.convert_angles_to_relion(pd.DataFrame(index=plist.data.index))
    theirs = theirs[["rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"]].to_numpy(dtype=float)
    ours = zxz_to_relion(plist.euler_angles)
    diff = Rotation.from_euler("ZYZ", theirs, degrees=True) * Rotation.from_euler("ZYZ", ours, degrees=True).inv()
    assert np.degrees(diff.magnitude()).max() < 1e-9


REAL = __import__("pathlib").Path(__file__).parent / "data" / "real"


@pytest.mark.parametrize(
    ("name", "motl_type", "offset"),
    [
        ("cryocat_motl_c10x10.em", None, 1.0),  # 1-based positions
        ("portal_stopgap_star.star", "stopgap", 1.0),
        ("dynamotable_t_double.tbl", "dynamo", 1.0),
        ("cryocat_relion_3.0.star", "relion", 0.0),  # cryoCAT keeps rlnCoordinate as it is
        ("portal_relion_3_star.star", "relion", 0.0),
        ("dynamo2m_relion3.1.star", "relion", 0.0),
        ("cryocat_relion_3.1_optics.star", "relion", 0.0),
    ],
)
def test_real_files_read_as_cryocat_reads_them(cryomotl, pandas2_to_numeric, name, motl_type, offset):
    """Real EM, STOPGAP, Dynamo and RELION 3.x lists: cryoCAT's positions, shifts, angles and ids.

    cryoCAT ignores RELION 4/5 subtomogram angles and binning, so those are
    checked against RELION's own formulas in ``test_formats_real.py`` instead.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = cryomotl.Motl.load(str(REAL / name), **({"motl_type": motl_type} if motl_type else {})).df
        plist = read_particles(REAL / name)
    np.testing.assert_allclose(plist.positions, cryocat_positions(df) - offset, atol=1e-3)
    np.testing.assert_allclose(plist.shifts, df[["shift_x", "shift_y", "shift_z"]].to_numpy(float), atol=1e-3)
    assert angle_error(cryocat_rotations(df), plist) < 1e-3
    np.testing.assert_array_equal(plist.data["tomo_id"], df["tomo_id"])
    if name != "dynamo2m_relion3.1.star":  # there cryoCAT does not parse Warp's "TS_01.mrc_0000000_5.00A.mrc"
        np.testing.assert_array_equal(plist.data["subtomo_id"], df["subtomo_id"])
