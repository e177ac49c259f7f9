"""The correspondence figures show what they claim to show."""

import numpy as np
import pytest

from skequiv import (
    NeuronCoclustering,
    NeuronMatching,
    plot_coclusters,
    plot_matched_similarity,
    plot_similarity_matrix,
    plot_sparse_prediction_path,
    sparse_prediction_path,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _pair(seed=0, n=400, p=6):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, p))
    B = A[:, rng.permutation(p)] + rng.uniform(0.2, 2, size=p) * rng.normal(size=(n, p))
    return A, B


@pytest.mark.parametrize("assignment", ["bipartite", "semi"])
def test_reordered_matrix_has_the_matches_on_a_sorted_diagonal(assignment):
    A, B = _pair()
    matcher = NeuronMatching(assignment=assignment).fit(A, B)
    ax = plot_similarity_matrix(matcher)
    shown = ax.get_images()[0].get_array()
    expected = np.sort(matcher.match_similarity_)[::-1]
    np.testing.assert_allclose(np.diag(shown), expected)
    raw = plot_similarity_matrix(matcher, order="none").get_images()[0].get_array()
    np.testing.assert_allclose(raw, matcher.similarity_)


def test_within_network_panels_need_the_baseline():
    A, B = _pair(1)
    with pytest.raises(ValueError, match="baseline=True"):
        plot_similarity_matrix(NeuronMatching().fit(A, B), which="a")
    matcher = NeuronMatching(baseline=True).fit(A, B)
    shown = plot_similarity_matrix(matcher, which="b").get_images()[0].get_array()
    assert shown.shape == (6, 6)
    np.testing.assert_allclose(np.diag(shown), 1.0)
    with pytest.raises(TypeError, match="NeuronMatching"):
        plot_similarity_matrix(NeuronCoclustering())


def test_matched_similarity_curves_are_the_sorted_values(tmp_path):
    A, B = _pair(2)
    bipartite = NeuronMatching(baseline=True).fit(A, B)
    semi = NeuronMatching(assignment="semi").fit(A, B)
    ax = plot_matched_similarity(bipartite)
    plot_matched_similarity(semi, ax=ax)
    lines = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
    np.testing.assert_allclose(
        lines["A → B, bipartite"], np.sort(bipartite.match_similarity_)[::-1]
    )
    np.testing.assert_allclose(
        lines["within A (baseline)"],
        np.sort(bipartite.baseline_similarity_a_)[::-1],
    )
    # semi-matching is at least as good as bipartite, unit by unit when sorted
    assert (lines["A → B, semi"] >= lines["A → B, bipartite"] - 1e-12).all()
    ax.figure.savefig(tmp_path / "matched.png")


def test_path_plot_draws_error_against_connections():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(300, 5))
    path = sparse_prediction_path(A, A[:, :2] + 0.1 * rng.normal(size=(300, 2)))
    ax = plot_sparse_prediction_path(path)
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_xdata(), path.n_connections)
    np.testing.assert_allclose(line.get_ydata(), path.error)
    with pytest.raises(TypeError, match="sparse_prediction_path"):
        plot_sparse_prediction_path({"alphas": [1.0]})


def test_cocluster_plot_outlines_each_cluster():
    rng = np.random.default_rng(4)
    f = rng.normal(size=(600, 3))
    A = f[:, [0, 0, 1, 2]] + 0.3 * rng.normal(size=(600, 4))
    B = f[:, [2, 1, 0]] + 0.3 * rng.normal(size=(600, 3))
    model = NeuronCoclustering(n_clusters=3, random_state=0).fit(A, B)
    ax = plot_coclusters(model)
    sizes = sorted(int(patch.get_width()) for patch in ax.patches)
    assert sizes == sorted(model.cluster_sizes_.sum(axis=1).tolist())
    shown = ax.get_images()[0].get_array()
    # the outlined blocks on the diagonal are the strongly coupled units
    start = 0
    for size in model.cluster_sizes_.sum(axis=1):
        block = shown[start : start + size, start : start + size]
        assert block.mean() > 0.6
        start += size


def test_unit_axes_have_integer_ticks():
    A, B = _pair(5, p=3)
    matcher = NeuronMatching().fit(A, B)
    axes = [plot_similarity_matrix(matcher), plot_matched_similarity(matcher)]
    for ticks in (axes[0].get_xticks(), axes[0].get_yticks(), axes[1].get_xticks()):
        assert len(ticks) and np.allclose(ticks, np.round(ticks))
    # three units: the curve's axis counts 1, 2, 3, with no 1.5 between them
    ticks = axes[1].get_xticks()
    visible = ticks[(ticks >= 1) & (ticks <= 3)]
    np.testing.assert_array_equal(visible, [1, 2, 3])
