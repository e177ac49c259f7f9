"""``skequiv demo``: the README's main job, end to end."""

import json
import sys

import pytest

from skequiv._cli import main

pytest.importorskip("torch")

SCALAR_FILES = {
    "report.txt",
    "report.json",
    "report.png",
    "selected_neurons.png",
}


@pytest.mark.slow
def test_demo_writes_reports_and_figures_and_reports_equivalence(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    output = tmp_path / "out"
    argv = ["demo", "--output", str(output), "--experiment", "scalar", "digits"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("verdict            equivalent") == 2  # scalar and digits
    assert "verdict            one-way" in out  # digit against parity
    assert out.count("Experiment (a)") == 1
    # one description per pair of trained networks: same task, then parity
    assert out.count("Digits: two skorch classifiers") == 2
    assert {p.name for p in (output / "scalar").iterdir()} == SCALAR_FILES
    assert {p.name for p in (output / "digits").iterdir()} == {
        f"{stem}.{ext}"
        for stem in ("report", "digit_vs_parity")
        for ext in ("txt", "json", "png")
    }
    for folder in ("scalar", "digits"):
        text = (output / folder / "report.txt").read_text(encoding="utf-8")
        assert text.strip() in out  # the printed report, every line of it
        record = json.loads((output / folder / "report.json").read_text())
        assert record["verdict"] == "equivalent"
        png = (output / folder / "report.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_unwritable_output_fails_before_any_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["demo", "--output", str(blocker / "sub")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing trained, nothing printed
    assert "cannot write to --output" in captured.err
    assert "--output" in captured.err and captured.err.count("\n") == 1


def test_unknown_experiment_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--experiment", "cifar"])
    assert exc.value.code == 2
    assert "invalid choice: 'cifar'" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_without_plots_needs_no_matplotlib(tmp_path, capsys, monkeypatch):
    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import would fail
    output = tmp_path / "out"
    argv = ["demo", "--no-plots", "--output", str(output), "--experiment", "scalar"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Equivalence report" in out and "Written to" not in out
    # introduced once, by the experiment's own description
    assert out.count("Experiment (a)") == 1
    assert "Experiment (a) of Bertalan, Dietrich & Kevrekidis" in out
    assert not output.exists()
