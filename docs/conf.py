"""Sphinx configuration of the cryotm documentation (built with -W in CI)."""

import cryotm

project = "cryotm"
author = "the cryotm developers"
copyright = "2026, the cryotm developers"
version = release = cryotm.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
]
autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "none"  # numpydoc's Parameters sections already give the types
numpydoc_show_class_members = False
numpydoc_validation_checks: set[str] = set()
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
html_theme = "alabaster"
html_static_path: list[str] = []
