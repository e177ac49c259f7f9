"""``skequiv demo``: the README's main job, end to end on experiment (a)."""

import sys

import pytest

from skequiv._cli import main

pytest.importorskip("torch")

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # one pytest-xdist worker per core: multithreaded BLAS would oversubscribe
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


FIGURES = {
    "equivalence_report.png",
    "spectra.png",
    "embeddings.png",
    "reconstruction.png",
    "selected_neurons.png",
}


def test_demo_writes_its_figures_and_reports_equivalence(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    output = tmp_path / "figures"
    assert main(["demo", "--output", str(output), "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "verdict            equivalent" in out
    assert f"Figures written to {output.resolve()}" in out
    assert {p.name for p in output.iterdir()} == FIGURES
    for name in FIGURES:
        assert (output / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert name in out


def test_demo_without_plots_needs_no_matplotlib(tmp_path, capsys, monkeypatch):
    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import would fail
    output = tmp_path / "figures"
    assert main(["demo", "--no-plots", "--output", str(output)]) == 0
    out = capsys.readouterr().out
    assert "Equivalence report" in out and "Figures written" not in out
    assert not output.exists()
