"""docs/quickstart.py, the script of the quickstart page, runs as the page says."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("skorch")

SCRIPT = Path(__file__).parents[2] / "docs" / "quickstart.py"


def _run(folder):
    # the page's `skequiv compare` is the command installed beside this Python
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    env = dict(os.environ, MPLBACKEND="Agg", PATH=path)
    completed = subprocess.run(
        [sys.executable, str(SCRIPT)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


# one test, not one per step: pytest-xdist would run a shared module fixture
# (the whole page, minutes) once on each worker
@pytest.mark.slow
def test_the_page_runs_and_each_step_prints_or_writes_its_result(tmp_path):
    out = _run(tmp_path)
    # two nets learning the same function: equivalent both ways, printed twice
    # (by equivalence_report in Python, then by skequiv compare)
    assert len(re.findall(r"verdict\s+equivalent", out)) == 2, out
    # R² of 0.9995 both ways: the cycles are near the identity too (both reports)
    cycles = re.findall(r"cycle error\s+\S+ ([\d.]+)\s+\S+ ([\d.]+)", out)
    assert len(cycles) == 2, out
    assert all(float(value) < 0.1 for pair in cycles for value in pair), cycles
    # the second Tanh of mlp(32) and of mlp(24); the skorch net's outputs
    assert "hidden layers: {'3': (32,)} {'3': (24,)}" in out
    assert "skorch net outputs: (3, 1)" in out
    # the command line writes its reports beside the saved models and inputs
    record = json.loads((tmp_path / "report.json").read_text())
    assert record["verdict"] == "equivalent"
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert {path.name for path in tmp_path.iterdir()} >= {
        "model_a.pt2",
        "model_b.pt2",
        "inputs.npy",
    }
