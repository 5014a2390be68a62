"""``cryotm convert`` and ``cryotm merge``."""

from __future__ import annotations

import numpy as np
import pytest
import starfile
from scipy.spatial.transform import Rotation

from cryotm import ParticleList
from cryotm.cli import main
from cryotm.formats import read_particles, write_particles


def particles(n: int = 6, seed: int = 0, name: str = "TS_01", tomo_id: int = 1) -> ParticleList:
    rng = np.random.default_rng(seed)
    return ParticleList.from_arrays(
        rng.integers(0, 60, (n, 3)).astype(float),
        orientations=Rotation.random(n, random_state=seed),
        scores=rng.uniform(0, 1, n),
        tomo_id=tomo_id,
        experiment_id=name,
        pixel_size=8.0,
    )


def same_particles(a: ParticleList, b: ParticleList, tol: float = 1e-4) -> None:
    np.testing.assert_allclose(a.positions, b.positions, atol=tol)
    np.testing.assert_allclose(a.scores, b.scores, atol=tol)
    assert np.degrees((a.orientations * b.orientations.inv()).magnitude()).max() < tol


def test_convert_em_to_relion5_and_back(tmp_path, capsys):
    source = particles()
    em = tmp_path / "in.em"
    write_particles(source, em)
    star = tmp_path / "out.star"
    status = main(["convert", str(em), str(star), "--to", "relion5", "--tomogram-size", "64", "70", "80",
                   "--binning", "2"])
    assert status == 0
    assert "wrote 6 particles (emmotl -> relion5)" in capsys.readouterr().out
    optics = starfile.read(star)["optics"]
    assert optics["rlnTomoTiltSeriesPixelSize"].iloc[0] == pytest.approx(4.0)
    back = tmp_path / "back.em"
    assert main(["convert", str(star), str(back), "--tomogram-shape", "80", "70", "64"]) == 0
    same_particles(read_particles(back), source)


def test_convert_keeps_the_input_format_for_the_same_extension(tmp_path):
    star = tmp_path / "a.star"
    write_particles(particles(), star, format="relion4", binning=1)
    out = tmp_path / "b.star"
    assert main(["convert", str(star), str(out)]) == 0
    assert "rlnTomoName" in starfile.read(out)["particles"].columns


def test_convert_binning_describes_the_tomogram(tmp_path):
    """--binning 4 reads unbinned RELION 4 coordinates into the 4x binned tomogram's voxels."""
    star = tmp_path / "a.star"
    write_particles(particles(), star, format="relion4", binning=1)
    out = tmp_path / "b.csv"
    assert main(["convert", str(star), str(out), "--binning", "4"]) == 0
    back = read_particles(out)
    np.testing.assert_allclose(back.positions, particles().positions / 4)
    assert back.pixel_size == pytest.approx(32.0)


def test_convert_user_errors_are_one_line(tmp_path, capsys):
    em = tmp_path / "in.em"
    write_particles(particles(), em)
    out = tmp_path / "out.star"
    assert main(["convert", str(em), str(out), "--to", "relion5"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "needs the tomogram's shape" in err and "--tomogram-shape" in err
    assert not out.exists()
    assert main(["convert", str(em), str(out)]) == 1
    assert "several particle-list formats write '.star'" in capsys.readouterr().err
    assert main(["convert", str(em), str(tmp_path / "o.tbl"), "--binning", "2"]) == 1
    assert "--binning is not used by the format(s) dynamo, emmotl" in capsys.readouterr().err
    assert main(["convert", str(tmp_path / "missing.em"), str(out)]) == 1
    assert "no such file" in capsys.readouterr().err


def test_convert_does_not_overwrite_without_flag(tmp_path, capsys):
    em = tmp_path / "in.em"
    write_particles(particles(), em)
    out = tmp_path / "out.tbl"
    out.write_text("keep me\n")
    assert main(["convert", str(em), str(out)]) == 1
    assert "output exists" in capsys.readouterr().err
    assert out.read_text() == "keep me\n"
    assert main(["convert", str(em), str(out), "--overwrite"]) == 0
    same_particles(read_particles(out), particles())


def test_convert_format_option(tmp_path):
    em = tmp_path / "in.em"
    write_particles(particles(), em)
    out = tmp_path / "out.star"
    assert main(["convert", str(em), str(out), "--to", "relion31", "-O", "score_label=rlnLCCmax"]) == 0
    assert "rlnLCCmax" in starfile.read(out)["particles"].columns
    assert main(["convert", str(em), str(tmp_path / "x.star"), "--to", "relion31", "-O", "bogus=1"]) == 1


def test_merge_many_tomograms(tmp_path, capsys):
    paths = []
    for i, (name, fmt, ext) in enumerate([("TS_01", "relion4", ".star"), ("TS_02", "relion4", ".star"),
                                           ("TS_03", "table", ".csv")]):
        path = tmp_path / f"{name}{ext}"
        write_particles(particles(n=3 + i, seed=i, name=name, tomo_id=1), path, format=fmt)
        paths.append(path)
    out = tmp_path / "all.star"
    assert main(["merge", *map(str, paths), "-o", str(out), "--to", "stopgap"]) == 0
    assert "merged 12 particles of 3 tomogram(s) from 3 file(s)" in capsys.readouterr().out
    merged = read_particles(out)
    assert merged.data["subtomo_id"].tolist() == list(range(1, 13))
    assert merged.data["tomo_id"].tolist() == [1] * 3 + [2] * 4 + [3] * 5
    expected = np.vstack([particles(n=3 + i, seed=i).positions for i in range(3)])
    np.testing.assert_allclose(merged.positions, expected)
    out5 = tmp_path / "all5.star"
    shape = ["--tomogram-shape", "60", "60", "60"]
    assert main(["merge", *map(str, paths), "-o", str(out5), "--to", "relion5", *shape]) == 0
    names = read_particles(out5, tomogram_shape=(60, 60, 60)).data["tomo_name"].tolist()
    assert names == ["TS_01"] * 3 + ["TS_02"] * 4 + ["TS_03"] * 5
    assert main(["merge", *map(str, paths), "-o", str(out5), "--to", "relion5"]) == 1
    assert "output exists" in capsys.readouterr().err
