"""The documentation builds without a warning (Sphinx ``-W``).

The examples of the gallery run in tests/test_examples.py; here they are
rendered without being executed (``SKOPTIM_DOCS_RUN_EXAMPLES=0``)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("sphinx_gallery")
pytest.importorskip("numpydoc")

DOCS = Path(__file__).parents[1] / "docs"


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    env = {**os.environ, "SKOPTIM_DOCS_RUN_EXAMPLES": "0", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    for page in ("user_guide/schedules.html", "scale_out.html", "api.html",
                 "generated/skoptim.SGDClassifierPlus.html",
                 "generated/skoptim.MLPRegressorPlus.html", "auto_examples/index.html"):
        assert (tmp_path / "html" / page).exists(), page
