"""save_or_show: figures on screen, left to sphinx-gallery, or saved headless."""

import sys
import types

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skequiv.utils import save_or_show  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _no_open_figures(monkeypatch):
    plt.close("all")
    # a docs build in the same process would leave sphinx_gallery imported
    monkeypatch.delitem(sys.modules, "sphinx_gallery", raising=False)
    yield
    plt.close("all")


def _two_figures():
    fig, (left, right) = plt.subplots(1, 2)
    fig.suptitle("Equivalence of A and B")
    image = left.imshow([[0.0, 1.0], [2.0, 3.0]], cmap="twilight")
    fig.colorbar(image, ax=left, label="angle θ (rad)")
    left.set_title("codes")
    right.plot([0, 1], [1, 0])
    right.set(title="score", xlabel="k", ylabel="R²")
    plt.figure()  # an untitled one
    return fig


def test_headless_saves_every_figure_names_it_and_says_what_it_shows(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(sys, "argv", ["examples/plot_demo_figures.py"])
    _two_figures()
    paths = save_or_show(folder=tmp_path / "out")

    assert [path.name for path in paths] == [
        "plot_demo_figures_01.png",
        "plot_demo_figures_02.png",
    ]
    assert all(path.read_bytes().startswith(PNG_MAGIC) for path in paths)
    assert plt.get_fignums() == []  # closed, so the next call saves only new ones
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"saved {paths[0]}: Equivalence of A and B; codes; "
        "score (k vs R²); colour: angle θ (rad)",
        f"saved {paths[1]}: an untitled figure",
    ]

    # numbering goes on across calls instead of overwriting the first file
    plt.figure()
    (third,) = save_or_show(folder=tmp_path / "out")
    assert third.name == "plot_demo_figures_03.png"


def test_a_given_name_numbers_the_further_figures(tmp_path, capsys):
    _two_figures()
    paths = save_or_show("report", folder=tmp_path)
    assert [path.name for path in paths] == ["report.png", "report_2.png"]


def test_in_a_sphinx_gallery_build_the_figures_are_left_to_the_gallery(
    tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "sphinx_gallery", types.ModuleType("sg"))
    fig = _two_figures()
    assert save_or_show(folder=tmp_path / "out") == []
    assert not (tmp_path / "out").exists()
    assert fig.number in plt.get_fignums()  # the gallery's scraper collects it


def test_on_screen_it_shows_and_writes_nothing(tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(plt, "get_backend", lambda: "QtAgg")
    monkeypatch.setattr(plt, "show", lambda: shown.append(True))
    _two_figures()
    assert save_or_show(folder=tmp_path / "out") == []
    assert shown == [True]
    assert not (tmp_path / "out").exists()
