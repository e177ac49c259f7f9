"""Bad arguments and inputs: one line on stderr, exit status 2, nothing unpickled."""

import subprocess
import sys

import numpy as np
import pytest

from skequiv._cli import main
from skequiv._compare import UsageError

torch = pytest.importorskip("torch")


def run(capsys, argv):
    """The command in-process: (status, stdout, stderr)."""
    try:
        status = main(["compare", *map(str, argv)])
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_usage_error(status, out, err, *fragments):
    assert status == 2
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("skequiv compare: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


@pytest.fixture(scope="module")
def files(programs, inputs_file, nets, tmp_path_factory):
    """A folder of good and bad files to point the command at."""
    folder = tmp_path_factory.mktemp("bad")
    torch.save(nets["sine_a"].state_dict(), folder / "sine_a.pt")
    np.save(folder / "three_features.npy", np.zeros((50, 3)))
    np.save(folder / "objects.npy", np.array([{"a": 1}, None], dtype=object))
    return {
        "a": programs["sine_a"],
        "b": programs["sine_b"],
        "X": inputs_file,
        "state": str(folder / "sine_a.pt"),
        "wide": str(folder / "three_features.npy"),
        "objects": str(folder / "objects.npy"),
    }


CASES = {
    "missing model": (["absent.pt2", "{b}", "--inputs", "{X}"], "absent.pt2: no such"),
    "missing inputs": (["{a}", "{b}", "--inputs", "absent.npy"], "absent.npy: no such"),
    "inputs that do not fit a program": (
        ["{a}", "{b}", "--inputs", "{wide}"],
        "sine_a: inputs have per-sample shape (3,), which does not fit",
    ),
    "inputs that do not fit a state dict's model": (
        ["{state}", "{b}", "--inputs", "{wide}"],
        "--model-class",  # filled in below: the state dict needs its class
    ),
    "unknown layer": (
        ["{a}", "{b}", "--inputs", "{X}", "--layers", "act_1", "conv9"],
        "sine_b: Unknown layer 'conv9'",
    ),
    "bad factory path": (
        ["{state}", "{b}", "--inputs", "{X}", "--model-class", "nope_xyz:Net"],
        "cannot import 'nope_xyz'",
    ),
    "factory without a colon": (
        ["{state}", "{b}", "--inputs", "{X}", "--model-class", "nope_xyz.Net"],
        "must look like 'package.module:Factory'",
    ),
    "state dict without its class": (
        ["{state}", "{b}", "--inputs", "{X}"],
        "holds weights, not the architecture",
    ),
    "model class for programs only": (
        ["{a}", "{b}", "--inputs", "{X}", "--model-class", "x:y"],
        "--model-class is for state dicts",
    ),
    "layers for the wrong number of models": (
        ["{a}", "{b}", "--inputs", "{X}", "--layers", "a", "b", "c"],
        "--layers takes one layer for every model or one per model (2); got 3",
    ),
    "one model": (["{a}", "--inputs", "{X}"], "give at least two models"),
    "object inputs": (
        ["{a}", "{b}", "--inputs", "{objects}"],
        "refused, it holds Python objects",
    ),
    "inputs key without npz": (
        ["{a}", "{b}", "--dataset", "scalar", "--inputs-key", "X"],
        "--inputs-key applies to --inputs FILE.npz only",
    ),
    "json into a missing folder": (
        ["{a}", "{b}", "--inputs", "{X}", "--json", "/nonexistent/dir/r.json"],
        "its folder does not exist",
    ),
    # argparse's own checks, in one line too
    "tolerance above 1": (
        ["{a}", "{b}", "--inputs", "{X}", "--tolerance", "2"],
        "argument --tolerance: 2.0 is not an R² of at most 1",
    ),
    "negative permutations": (
        ["{a}", "{b}", "--inputs", "{X}", "--permutations", "-1"],
        "argument --permutations: -1 is below 0",
    ),
    "too few samples": (
        ["{a}", "{b}", "--inputs", "{X}", "--n-samples", "3"],
        "argument --n-samples: 3 is below 10",
    ),
    "bad input shape": (
        ["{a}", "{b}", "--inputs", "{X}", "--input-shape", "1,x"],
        "is not a shape such as 64 or 1,8,8",
    ),
    "unknown dataset": (["{a}", "{b}", "--dataset", "mnist"], "invalid choice"),
    "inputs and dataset": (
        ["{a}", "{b}", "--inputs", "{X}", "--dataset", "scalar"],
        "not allowed with argument",
    ),
    "no inputs": (["{a}", "{b}"], "one of the arguments --inputs --dataset"),
    "unknown option": (["{a}", "{b}", "--inputs", "{X}", "--bogus"], "--bogus"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_arguments_get_one_line_and_status_2(files, capsys, case):
    argv, fragment = CASES[case]
    argv = [arg.format(**files) for arg in argv]
    if case == "inputs that do not fit a state dict's model":
        # the class rebuilds sine_a's architecture (one input feature)
        argv += ["--model-class", "skequiv_test_factories:sine_a"]
        fragment = "sine_a: The network could not be evaluated on inputs"
    # --quiet: only the error, without the progress lines before it
    assert_one_line_usage_error(*run(capsys, [*argv, "--quiet"]), fragment)


@pytest.fixture(autouse=True)
def _factories(tmp_path, monkeypatch):
    """A user's model module in the current directory: sine_a's architecture."""
    (tmp_path / "skequiv_test_factories.py").write_text(
        "import torch\n"
        "from collections import OrderedDict\n\n\n"
        "def sine_a():\n"
        "    return torch.nn.Sequential(OrderedDict(\n"
        "        hidden_0=torch.nn.Linear(1, 16), act_0=torch.nn.Tanh(),\n"
        "        hidden_1=torch.nn.Linear(16, 16), act_1=torch.nn.Tanh(),\n"
        "        output=torch.nn.Linear(16, 1)))\n"
    )
    monkeypatch.chdir(tmp_path)
    yield
    sys.modules.pop("skequiv_test_factories", None)


def test_state_dict_with_its_factory_runs(files, tmp_path, capsys):
    # the control for the cases above: the same files, correctly named
    status, out, _ = run(
        capsys,
        [
            files["state"],
            files["b"],
            "--model-class",
            "skequiv_test_factories:sine_a",
            "--inputs",
            files["X"],
            "--n-samples",
            "150",
            "--permutations",
            "3",
            "--quiet",
        ],
    )
    assert status == 0 and "Equivalence report: sine_a vs sine_b" in out


def test_debug_shows_the_exception(files, capsys):
    with pytest.raises(UsageError, match="no such file"):
        main(["compare", "absent.pt2", files["b"], "--inputs", files["X"], "--debug"])


def test_hostile_pickle_is_refused_by_the_real_command(files, tmp_path, hostile_object):
    marker = tmp_path / "ran"
    hostile = tmp_path / "model.pt"
    torch.save(hostile_object(marker), hostile)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "skequiv", "compare", str(hostile), files["b"]),
            *("--model-class", "skequiv_test_factories:sine_a", "--inputs", files["X"]),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    # refused before anything else happened: the error is all there is
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"skequiv compare: error: {hostile}: refused")
    assert "torch.export.export" in done.stderr
    assert not marker.exists()


def test_a_failed_comparison_is_status_3_in_one_line(tmp_path, capsys):
    # a network whose output is constant gives the transform nothing to learn
    net = torch.nn.Sequential(
        torch.nn.Linear(1, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)
    )
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.zero_()
    dynamic = ({0: torch.export.Dim("batch")},)
    for name in ("flat_a", "flat_b"):
        program = torch.export.export(net, (torch.zeros(4, 1),), dynamic_shapes=dynamic)
        torch.export.save(program, tmp_path / f"{name}.pt2")
    status, out, err = run(
        capsys,
        [
            tmp_path / "flat_a.pt2",
            tmp_path / "flat_b.pt2",
            "--dataset",
            "scalar",
            "--n-samples",
            "100",
            "--permutations",
            "3",
            "--quiet",
        ],
    )
    assert status == 3 and out == ""
    # one line for the failure, after one line per warning; they name the
    # cause (the constant network has no derivatives)
    *warnings, failure = err.splitlines()
    assert failure.startswith("skequiv compare: failed: ")
    assert "--debug shows the traceback" in failure
    assert all(line.startswith("skequiv compare: warning: ") for line in warnings)
    assert any(
        "Jacobians are zero" in line or "constant" in line for line in err.splitlines()
    )
