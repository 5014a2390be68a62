"""The README's Python example runs as written (so it cannot rot)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README.md has no Python example"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    particles = namespace["particles"]
    assert len(particles) == 10  # the ten planted particles of make_scene(..., n_peaks=10)
    assert (tmp_path / "particles.star").is_file()
    assert namespace["poses"].position.shape == (10, 3)


def test_readme_names_the_commands_ci_runs():
    text = README.read_text()
    ci = (README.parent / ".ci" / "run").read_text()
    test_command = [line for line in ci.splitlines() if "pytest" in line and not line.startswith("#")][-1]
    assert test_command.strip() in text
    assert "cryotm demo" in text
