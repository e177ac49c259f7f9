"""The report's figures: labels, ticks and layout a reader can rely on."""

import warnings

import numpy as np
import pytest

from skequiv import equivalence_report
from skequiv.equivalence import (
    plot_candidates,
    plot_embeddings,
    plot_null,
    plot_reconstruction,
    plot_scores,
    plot_spectra,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")


def _report(candidates, **kwargs):
    x = np.random.default_rng(0).uniform(-1, 1, size=(300, 1))
    b = np.c_[x**3 + x, np.sin(2 * x), x**2]
    with warnings.catch_warnings():
        # arrays carry no Jacobians: the Euclidean metric is expected here
        warnings.simplefilter("ignore")
        return equivalence_report(
            x,
            b,
            candidates=candidates,
            n_permutations=19,
            n_bootstrap=20,
            color=x[:, 0],
            random_state=0,
            **kwargs,
        )


@pytest.fixture(scope="module")
def intrinsic():
    return _report("intrinsic")


@pytest.fixture(scope="module")
def chosen():
    return _report(("intrinsic", "ridge"))


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _panel_titles(fig):
    return [ax.get_title() for ax in fig.get_axes() if ax.get_label() != "<colorbar>"]


def test_summary_has_no_empty_candidates_panel(intrinsic, chosen):
    # one candidate means no inner cross-validation: nothing to draw
    titles = _panel_titles(intrinsic.plot("summary"))
    assert not any(t.startswith("Candidate maps") for t in titles)
    assert any(t.startswith("Permutation null") for t in titles)
    assert any(t.startswith("Spectra") for t in titles)
    titles = _panel_titles(chosen.plot("summary"))
    assert any(t.startswith("Candidate maps") for t in titles)


def test_candidates_alone_says_why_it_has_no_bars(intrinsic):
    ax = plot_candidates(intrinsic)
    assert any("no inner cross-validation" in t.get_text() for t in ax.texts)


def test_candidates_legend_does_not_cover_a_bar(chosen):
    ax = plot_candidates(chosen)
    ax.figure.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    tops = [bar.get_window_extent().y1 for bar in ax.patches if bar.get_height() > 0]
    assert tops and legend.y0 >= max(tops)
    # no tick above 1: R² does not go there
    assert max(ax.get_yticks()) <= 1.0


def test_scores_show_intervals_and_tolerance_in_view(chosen):
    ax = plot_scores(chosen)
    low, high = ax.get_ylim()
    for interval in (chosen.interval_ab, chosen.interval_ba):
        assert low < interval[0] <= interval[1] < high
    assert low < chosen.tolerance < high
    # the tolerance is labelled on its line, not by a legend box over the points
    assert ax.get_legend() is None
    assert any(t.get_text().startswith("tolerance") for t in ax.texts)


def test_null_directions_share_their_bins(chosen):
    ax = plot_null(chosen)
    edges = [
        sorted({round(p.get_x(), 12) for p in ax.patches if p.get_facecolor()[:3] == c})
        for c in (matplotlib.colors.to_rgb("C0"), matplotlib.colors.to_rgb("C1"))
    ]
    assert edges[0] and edges[0] == edges[1]
    assert "19 shuffles" in ax.get_title()


def test_spectra_axis_is_integer_and_lambda_is_math(chosen):
    ax = plot_spectra(chosen)
    ticks = ax.get_xticks()
    assert np.allclose(ticks, np.round(ticks))
    assert r"$\lambda_k$" in ax.get_ylabel()


def test_embeddings_colour_bar_names_the_quantity(intrinsic):
    axes = plot_embeddings(intrinsic, color_label="angle θ (rad)", cmap="twilight")
    bars = [ax for ax in axes[0].figure.get_axes() if ax.get_label() == "<colorbar>"]
    assert len(bars) == 2
    assert all(bar.get_ylabel() == "angle θ (rad)" for bar in bars)
    assert axes[0].collections[0].get_cmap().name == "twilight"


def test_reconstruction_names_the_quantity_and_its_colours(intrinsic):
    axes = plot_reconstruction(intrinsic, max_features=2)
    assert axes[0].get_xlabel() == "B's activation, true (held out)"
    assert axes[1].get_ylabel() == "A's activation, predicted"
    notes = [[t.get_text() for t in ax.texts] for ax in axes]
    assert notes == [["first 2 of 3 units, one colour each"], ["1 unit"]]
    assert len(axes[0].collections) == 2
    plt.close("all")
    axes = plot_reconstruction(intrinsic)
    assert axes[0].texts[0].get_text() == "all 3 units, one colour each"
