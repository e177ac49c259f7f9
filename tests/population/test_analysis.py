"""Distances, maps, clusters and figures of a population."""

import matplotlib
import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from skequiv.population import (
    cluster_population,
    embed_population,
    plot_model_embedding,
    plot_population_matrix,
    population_distances,
)

matplotlib.use("Agg")


@pytest.fixture
def similarity():
    """Three groups of unit vectors: within a group nearly parallel."""
    rng = np.random.default_rng(0)
    centres = np.eye(3)
    vectors = np.repeat(centres, [3, 4, 2], axis=0) + 0.05 * rng.normal(size=(9, 3))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    order = rng.permutation(9)
    return vectors[order] @ vectors[order].T, np.repeat([0, 1, 2], [3, 4, 2])[order]


def test_distances_from_unit_diagonal_similarity_are_chordal(similarity):
    S, _ = similarity
    D = population_distances(S)
    # |u - v|² = 2 - 2 u·v for unit vectors, so sqrt(1 - s) = |u - v| / sqrt(2)
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, 9, size=2)
    assert D[i, j] == pytest.approx(np.sqrt(1 - S[i, j]))
    np.testing.assert_array_equal(D, D.T)
    np.testing.assert_array_equal(np.diag(D), 0)


def test_directed_scores_are_symmetrised():
    M = np.array([[1.0, 0.9], [0.1, 1.0]])
    assert population_distances(M)[0, 1] == pytest.approx(np.sqrt(0.5))


def test_clusters_recover_the_groups(similarity):
    S, groups = similarity
    labels = cluster_population(S, 3)
    assert adjusted_rand_score(groups, labels) == 1.0
    assert labels[0] == 0  # numbered by first appearance
    D = population_distances(S)
    assert adjusted_rand_score(groups, cluster_population(D, 3, kind="distance")) == 1


def test_embedding_keeps_groups_apart(similarity):
    S, groups = similarity
    coords = embed_population(S, random_state=0)
    assert coords.shape == (9, 2)
    within = max(np.ptp(coords[groups == g], axis=0).max() for g in np.unique(groups))
    centres = np.array([coords[groups == g].mean(0) for g in np.unique(groups)])
    between = min(
        np.linalg.norm(centres[a] - centres[b]) for a in range(3) for b in range(a)
    )
    assert within < between


@pytest.mark.parametrize(
    "matrix, match",
    [
        (np.ones((3, 2)), "square"),
        (np.ones((1, 1)), "K >= 2"),
        (np.array([[1, np.nan], [0, 1]]), "NaN"),
        (np.array([["1", "x"], ["0", "1"]]), "matrix must hold numbers"),
    ],
)
def test_bad_matrices(matrix, match):
    with pytest.raises(ValueError, match=match):
        cluster_population(matrix, 2)


def test_too_many_clusters(similarity):
    with pytest.raises(ValueError, match="exceeds the 9 models"):
        cluster_population(similarity[0], 10)


def test_heat_map_is_ordered_by_cluster(similarity):
    S, groups = similarity
    ax = plot_population_matrix(S, clusters=groups, names=[f"m{i}" for i in range(9)])
    shown = ax.images[0].get_array()
    order = np.argsort(groups, kind="stable")
    np.testing.assert_array_equal(shown, S[np.ix_(order, order)])
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"m{i}" for i in order]
    assert len(ax.patches) == 3  # one outline per cluster
    matplotlib.pyplot.close("all")


def test_embedding_plot_colours_by_label(similarity):
    S, groups = similarity
    coords = embed_population(S, random_state=0)
    ax = plot_model_embedding(coords, color=np.array(["a", "b", "c"])[groups])
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["a", "b", "c"]
    ax = plot_model_embedding(
        coords, color=groups.astype(float), names=list("abcdefghi")
    )
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), coords)
    with pytest.raises(ValueError, match="one per model"):
        plot_model_embedding(coords, color=[1, 2])
    matplotlib.pyplot.close("all")
