"""``skequiv compare`` end to end: verdicts, exit statuses, JSON and HTML."""

import base64
import hashlib
import json
from html.parser import HTMLParser

import numpy as np
import pytest

import skequiv
from skequiv._cli import main

FAST = ["--permutations", "19", "--quiet"]


def compare(capsys, *argv):
    """Run the command in-process: (exit status, stdout, stderr)."""
    try:
        status = main(["compare", *map(str, argv)])
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


class _Page(HTMLParser):
    """Every tag with its attributes, and the text inside <style>."""

    def __init__(self):
        super().__init__()
        self.tags, self.styles, self._in_style = [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def parse_page(path):
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def assert_self_contained(page):
    """No script, stylesheet, frame or link, and every src a PNG data URI."""
    names = {tag for tag, _ in page.tags}
    assert not names & {"script", "link", "iframe", "object", "embed", "base"}
    for tag, attrs in page.tags:
        assert "href" not in attrs, (tag, attrs)
        for key, value in attrs.items():
            assert not value.lower().startswith(("http:", "https:", "//")), (tag, key)
        if "src" in attrs:
            assert attrs["src"].startswith("data:image/png;base64,"), tag
    css = "".join(page.styles).lower()
    assert "url(" not in css and "@import" not in css


def embedded_pngs(page):
    images = [attrs["src"] for tag, attrs in page.tags if tag == "img"]
    return [base64.b64decode(src.split(",", 1)[1]) for src in images]


def test_same_task_programs_are_equivalent_with_json_and_html(
    programs, inputs_file, tmp_path, capsys
):
    # sine_a has a dynamic batch, sine_b a static batch of 16 (run padded)
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    status, out, _ = compare(
        capsys,
        programs["sine_a"],
        programs["sine_b"],
        "--inputs",
        inputs_file,
        "--json",
        out_json,
        "--html",
        out_html,
        "--check",
        "--seed",
        "3",
        *FAST,
    )
    assert status == 0
    assert "verdict            equivalent" in out

    record = json.loads(out_json.read_text())
    assert record["verdict"] == "equivalent"
    assert record["names"] == ["sine_a", "sine_b"]
    for key in ("r2_ab", "r2_ba"):
        low, high = record[f"{key}_interval"]
        assert 0.95 <= low <= record[key] <= high <= 1
    assert 0 < record["p_value_ab"] <= 1 / 20 + 1e-12  # the floor at 19 shuffles
    assert 0 < record["p_value_ba"] <= 1 / 20 + 1e-12
    assert record["p_value_floor"] == pytest.approx(1 / 20)
    # the map chosen by inner cross-validation, named with its final regressor
    chosen = record["transform_ab"]
    assert chosen["candidate"] == record["selected_ab"]
    assert (
        chosen["regressor"]
        == {
            "intrinsic": "GeometricHarmonicsRegressor",
            "kernel_ridge": "LeaveOneOutRidge",
            "ridge": "LeaveOneOutRidge",
        }[chosen["candidate"]]
    )
    assert record["n_train"] + record["n_test"] == 300
    assert record["inputs"]["n_samples"] == 300
    assert record["n_permutations"] == 19
    assert record["skequiv_version"] == skequiv.__version__
    assert record["seed"] == 3
    assert record["command"][:4] == [
        "skequiv",
        "compare",
        programs["sine_a"],
        programs["sine_b"],
    ]
    assert [m["format"] for m in record["models"]] == ["torch.export program"] * 2
    with open(programs["sine_a"], "rb") as file:
        assert record["models"][0]["sha256"] == hashlib.sha256(file.read()).hexdigest()

    page = parse_page(out_html)
    assert_self_contained(page)
    pngs = embedded_pngs(page)
    assert len(pngs) == 2  # the report's summary and the permutation null
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000 for png in pngs)
    text = out_html.read_text()
    assert "equivalent: held-out R²" in text
    assert "skequiv compare" in text and record["command"][2] in text


def test_different_tasks_are_not_equivalent_and_check_fails(
    programs, inputs_file, tmp_path, capsys
):
    out_json = tmp_path / "r.json"
    status, out, _ = compare(
        capsys,
        programs["square"],
        programs["shifted"],
        "--inputs",
        inputs_file,
        "--json",
        out_json,
        "--check",
        *FAST,
    )
    assert status == 1
    record = json.loads(out_json.read_text())  # written before the check fails
    assert record["verdict"] == "not equivalent"
    assert record["r2_ab"] < 0.95 and record["r2_ba"] < 0.95
    assert "verdict            not equivalent" in out


def test_status_0_without_check_and_progress_on_stderr(programs, inputs_file, capsys):
    argv = [
        programs["square"],
        programs["sine_b"],
        "--inputs",
        inputs_file,
        "--n-samples",
        "100",
        "--permutations",
        "2",
    ]
    status, out, err = compare(capsys, *argv)
    assert status == 0  # the comparison ran; its verdict is not equivalent
    assert "verdict            not equivalent" in out
    assert "loaded sine_b" in err and "static batch 16" in err
    assert "inputs: 100 samples" in err
    assert "Equivalence report" in out and "loaded" not in out

    status, out, err = compare(capsys, *argv, "--quiet")
    assert status == 0 and err == "" and "Equivalence report" in out


def test_three_models_give_the_matrix_and_classes(
    programs, inputs_file, tmp_path, capsys
):
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    status, out, _ = compare(
        capsys,
        programs["sine_a"],
        programs["sine_b"],
        programs["square"],
        "--inputs",
        inputs_file,
        "--n-samples",
        "200",
        "--permutations",
        "19",  # p-value floor 0.05: "equivalent" needs the test to reject at 0.05
        "--quiet",
        "--json",
        out_json,
        "--html",
        out_html,
        "--check",
    )
    assert status == 1  # square is equivalent to neither sine net
    record = json.loads(out_json.read_text())
    assert record["names"] == ["sine_a", "sine_b", "square"]
    matrix = record["matrix"]
    assert [matrix[i][i] for i in range(3)] == [1.0, 1.0, 1.0]
    assert matrix[0][1] >= 0.95 and matrix[1][0] >= 0.95
    assert max(matrix[0][2], matrix[2][0], matrix[1][2], matrix[2][1]) < 0.95
    # the matrix holds each pair's two directed scores
    pair = record["pairs"][0]
    assert pair["names"] == ["sine_a", "sine_b"]
    assert (pair["r2_ab"], pair["r2_ba"]) == (matrix[0][1], matrix[1][0])
    assert record["classes"] == [["sine_a", "sine_b"], ["square"]]
    assert record["all_equivalent"] is False
    assert "equivalence classes" in out

    page = parse_page(out_html)
    assert_self_contained(page)
    assert len(embedded_pngs(page)) == 1  # the heat map


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("scalar", (40, 1)),
        ("vector_field", (40, 2)),
        ("rotating_object", (40, 1, 32, 32)),
        ("digits", (40, 64)),
    ],
)
def test_dataset_inputs_are_the_experiments_inputs(name, shape):
    from sklearn.datasets import load_digits

    from skequiv._compare import dataset_inputs

    X = dataset_inputs(name, 40, seed=5)
    assert X.shape == shape
    np.testing.assert_array_equal(X, dataset_inputs(name, 40, seed=5))
    assert not np.array_equal(X, dataset_inputs(name, 40, seed=6))
    if name == "scalar":
        assert X.min() >= -1 and X.max() <= 1
    if name == "digits":
        # distinct images of load_digits, scaled as load_experiment("digits") does
        reference = load_digits().data / 16
        rows = [np.flatnonzero((reference == x).all(axis=1)) for x in X]
        assert all(len(r) >= 1 for r in rows)
        assert dataset_inputs(name, 5000, seed=0).shape == (1797, 64)
