"""The documentation builds strictly: ``sphinx-build -W --keep-going -b html docs <tmp>``.

Warnings are errors (a broken cross-reference, a malformed docstring or table fails the suite), no
network is used (no intersphinx), and the build goes into a temporary folder so the work tree stays
clean. The pages' ``>>>`` examples are run separately, by pytest's doctest collection of
``docs/*.rst``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    out = tmp_path / "html"
    command = [
        sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html",
        "-d", str(tmp_path / "doctrees"), str(DOCS), str(out),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, f"sphinx-build failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-6000:]}"
    for page in ("index", "getting-started", "conventions", "cryocat", "plugins", "api", "guide/thresholds"):
        assert (out / f"{page}.html").is_file(), f"{page}.html was not built"
    # the API reference really holds the generated documentation (autodoc ran)
    assert "PeakPicker" in (out / "api" / "picking.html").read_text(encoding="utf-8")
    # the histogram figure is part of the site
    assert (out / "_images" / "demo_histogram.png").is_file()
