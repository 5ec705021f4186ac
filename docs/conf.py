"""Sphinx configuration for skoptim's documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "skoptim"
author = "the skoptim developers"
copyright = "2026, the skoptim developers"
release = __import__("skoptim").__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
templates_path = ["_templates"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
intersphinx_mapping = {}
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"plot_",
    "download_all_examples": False,
    "plot_gallery": os.environ.get("SKOPTIM_DOCS_RUN_EXAMPLES", "1") == "1",
}
exclude_patterns = ["_build"]
html_theme = "pydata_sphinx_theme"
html_title = "skoptim"
