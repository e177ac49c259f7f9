"""A tiny run of the benchmark harness, so that it cannot rot.

Speed is never asserted here (numbers are recorded by ``benchmarks/run.py``, not
tested); this only checks that the harness runs end to end at tiny n without
the anchors' environments, skips the anchors it cannot find, scores agreement
against its reference, and writes its JSON, CSV, plots and markdown table.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "benchmarks" / "run.py"

pytestmark = pytest.mark.skipif(not RUN.exists(), reason="benchmarks/ not in this tree")


def test_harness_quick_run_without_anchor_envs(tmp_path):
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        str(RUN),
        "--quick",
        "--no-setup",
        "--envs-dir",
        str(tmp_path / "no-envs"),  # no anchor environment exists here
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(out),
        "--cases",
        "1,2",  # case 3 is the same code path as case 1 at other sizes
        "--impls",
        "skequiv,datafold,pydiffmap,sklearn",
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]

    res = json.loads((out / "results.json").read_text())
    rows = res["rows"]
    by = {(row["case"], row["impl"], row["n"]): row for row in rows}
    # skequiv ran in every spectral case and agrees with the independent reference
    for case, n in [(1, 300), (2, 300)]:
        row = by[(case, "skequiv", n)]
        assert row["status"] == "ok", row
        assert row["time_median_s"] > 0 and row["peak_rss_mb"] > 0
        assert row["max_eig_rel_err"] < 1e-6, row
        assert row["min_abs_corr"] > 0.999, row
    # scikit-learn lives in the main environment, so it always runs
    assert by[(2, "sklearn", 300)]["status"] == "ok"
    assert by[(2, "sklearn", 300)]["ratio_vs_skequiv"] > 0
    # anchors whose environment is absent are skipped, with the reason recorded
    for case in ("1", "2"):
        stopped = res["meta"]["cases"][case]["stopped"]
        assert "absent" in stopped["datafold"]
    assert "absent" in res["meta"]["cases"]["2"]["stopped"]["pydiffmap"]
    assert not any(row["impl"] in ("datafold", "pydiffmap") for row in rows)

    md = (out / "RESULTS.md").read_text()
    assert "## Targets" in md and "## Case 1" in md and "## Case 2" in md
    assert (out / "results.csv").read_text().startswith("case,impl,n,")
    assert (out / "time_vs_n.png").stat().st_size > 0
    assert (out / "memory_vs_n.png").stat().st_size > 0
