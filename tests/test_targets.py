"""Outputs and inputs that are not plain files: formats with URL ``schemes``, and plugins' batch sources."""

from __future__ import annotations

import os
from typing import ClassVar

import attrs
import numpy as np
import pytest

import cryotm
from cryotm import ParticleList, make_scene
from cryotm.batch import BatchInputs, BatchSource, read_tasks
from cryotm.cli import main
from cryotm.errors import CryotmError, InputError
from cryotm.formats import MotlReader, MotlWriter, read_particles, reader_class, write_particles, writer_class
from cryotm.formats.base import target_scheme
from cryotm.pipeline import TomogramInputs

#: The "store" of the mem:// format: target -> particle list.
STORE: dict[str, ParticleList] = {}


@attrs.define
class MemWriter(MotlWriter):
    name: ClassVar[str] = "mem"
    schemes: ClassVar[tuple[str, ...]] = ("mem",)

    @classmethod
    def check_output(cls, path, overwrite=False):
        if os.fspath(path) in STORE and not overwrite:
            raise InputError("taken", path)

    def write(self, particles, path, overwrite=False):
        self.check_output(path, overwrite)
        STORE[os.fspath(path)] = particles


@attrs.define
class MemReader(MotlReader):
    name: ClassVar[str] = "mem"
    schemes: ClassVar[tuple[str, ...]] = ("mem",)

    def read(self, path):
        if os.fspath(path) not in STORE:
            raise InputError("nothing stored here")
        return STORE[os.fspath(path)]


class MemPlugin:
    @cryotm.hookimpl
    def cryotm_motl_writers(self):
        return [MemWriter]

    @cryotm.hookimpl
    def cryotm_motl_readers(self):
        return [MemReader]


@pytest.fixture
def mem_format(fresh_plugins):
    STORE.clear()
    cryotm.get_plugin_manager().register(MemPlugin(), name="mem-plugin")
    yield
    STORE.clear()


def test_target_scheme():
    assert target_scheme("copick:///p/config.json?run=TS_01") == "copick"
    assert target_scheme("S3+x://bucket/a") == "s3+x"
    assert target_scheme("picks.star") is None and target_scheme(r"C:\data\picks.star") is None
    assert target_scheme("/data/copick://x") is None


def test_a_target_goes_to_the_format_of_its_scheme(mem_format, tmp_path, capsys):
    assert writer_class("mem://here") is MemWriter and reader_class("mem://here") is MemReader
    picks = ParticleList.from_arrays([[1.0, 2.0, 3.0]], scores=[0.5])
    write_particles(picks, "mem://here")
    assert read_particles("mem://here").positions.tolist() == [[1.0, 2.0, 3.0]]
    with pytest.raises(InputError, match="nothing stored here"):
        read_particles("mem://elsewhere")
    with pytest.raises(InputError, match=r"no particle-list format handles ftp:// targets \(known: ([a-z]+, )*mem[;,]"):
        writer_class("ftp://host/picks.star")
    # the command line hands the target over as it is, and asks the format whether it may write
    source = tmp_path / "p.em"
    write_particles(picks, source)
    assert main(["convert", str(source), "mem://cli"]) == 0
    assert main(["convert", str(source), "mem://cli"]) == 1
    assert capsys.readouterr().err.strip().endswith("mem://cli: taken")
    assert main(["convert", "mem://cli", str(tmp_path / "back.em")]) == 0
    assert read_particles(tmp_path / "back.em").positions.tolist() == [[1.0, 2.0, 3.0]]


class ListSource(BatchSource):
    name: ClassVar[str] = "list"
    schemes: ClassVar[tuple[str, ...]] = ("list",)
    folder: ClassVar[str] = ""

    @classmethod
    def read(cls, source, angle_list=None, defaults=None):
        names = source.split("://", 1)[1].split(",")
        tasks = [
            TomogramInputs(n, f"{cls.folder}/{n}/scores.mrc", f"{cls.folder}/{n}/angles.mrc", angle_list, tomo_id=i)
            for i, n in enumerate(names, start=1)
        ]
        return BatchInputs(tasks=tasks, jobs=[])


class ListPlugin:
    @cryotm.hookimpl
    def cryotm_batch_sources(self):
        return [ListSource]


def test_a_plugins_batch_source(fresh_plugins, tmp_path, capsys):
    for seed, name in enumerate(("a", "b")):
        make_scene(shape=(32, 32, 32), n_peaks=2, n_angles=10, seed=seed, min_distance=10).write(tmp_path / name)
    ListSource.folder = os.fspath(tmp_path)
    with pytest.raises(CryotmError, match=r"no batch source reads list:// inputs \(is its plugin installed\?\)"):
        read_tasks("list://a,b")
    cryotm.get_plugin_manager().register(ListPlugin(), name="list-plugin")
    found = read_tasks("list://a,b", angle_list=tmp_path / "a" / "angles.csv")
    assert [t.name for t in found.tasks] == ["a", "b"] and found.jobs == []
    assert main(["plugins"]) == 0
    assert "batch source: list" in capsys.readouterr().out
    status = main(["batch", "list://a,b", "--angle-list", str(tmp_path / "a" / "angles.csv"), "--diameter", "8",
                   "-o", str(tmp_path / "out"), "--format", "table", "-O", "colour=red", "--progress", "off"])
    assert status == 1
    assert "format 'table' has no option 'colour'" in capsys.readouterr().err
    status = main(["batch", "list://a,b", "--angle-list", str(tmp_path / "a" / "angles.csv"), "--diameter", "8",
                   "-o", str(tmp_path / "out"), "--format", "table", "-O", "sep=;", "--progress", "off"])
    assert status == 0, capsys.readouterr()
    assert "score;subtomo_id" in (tmp_path / "out" / "a.csv").read_text()  # -O reached the writer
    assert sorted(p.name for p in (tmp_path / "out").glob("*.csv")) == ["a.csv", "b.csv", "merged.csv"]
    merged = read_particles(tmp_path / "out" / "merged.csv", sep=";")
    assert set(merged.data["tomo_name"]) == {"a", "b"} and np.all(merged.scores > 0)
