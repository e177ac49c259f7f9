"""The locality-ordered kNN search against scikit-learn's own training search."""

import numpy as np
from sklearn.neighbors import NearestNeighbors

from skequiv.embedding._neighbours import (
    _morton_order,
    local_kneighbors,
    training_neighbours,
)


def test_equals_kneighbors_of_the_training_set():
    Z = np.random.default_rng(0).normal(size=(500, 4))
    nn = NearestNeighbors().fit(Z)
    expected = nn.kneighbors(n_neighbors=7, return_distance=False)
    np.testing.assert_array_equal(training_neighbours(nn, Z, 7), expected)


def test_local_kneighbors_returns_rows_in_query_order():
    rng = np.random.default_rng(3)
    nn = NearestNeighbors().fit(rng.normal(size=(400, 3)))
    queries = rng.normal(size=(250, 3))
    expected = nn.kneighbors(queries, n_neighbors=6, return_distance=False)
    np.testing.assert_array_equal(local_kneighbors(nn, queries, 6), expected)


def test_duplicates_never_list_a_sample_as_its_own_neighbour():
    rng = np.random.default_rng(1)
    Z = np.repeat(rng.normal(size=(60, 2)), 4, axis=0)  # every point four times
    nn = NearestNeighbors().fit(Z)
    idx = training_neighbours(nn, Z, 5)
    assert not (idx == np.arange(len(Z))[:, None]).any()
    ref_dist, _ = nn.kneighbors(n_neighbors=5)
    dist = np.linalg.norm(Z[idx] - Z[:, None], axis=2)
    np.testing.assert_allclose(np.sort(dist, axis=1), ref_dist)


def test_morton_order_is_a_permutation_that_keeps_neighbours_close():
    rng = np.random.default_rng(2)
    Z = rng.uniform(size=(4000, 5)) * [1.0, 0.5, 0.2, 0.01, 0.01]
    order = _morton_order(Z)
    np.testing.assert_array_equal(np.sort(order), np.arange(len(Z)))
    step = np.linalg.norm(np.diff(Z[order], axis=0), axis=1).mean()
    random_step = np.linalg.norm(np.diff(Z, axis=0), axis=1).mean()
    assert step < random_step / 5
