"""pairwise_similarity: per-network preparation, pair dispatch, errors."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from skequiv.population import EquivalenceScore, pairwise_similarity


class LinearCKA:
    """Linear CKA by the textbook formula, as a prepare/compare measure.

    ``prepare`` counts its calls, so tests can check per-network caching.
    """

    symmetric = True

    def __init__(self):
        self.prepared = 0

    def prepare(self, X):
        self.prepared += 1
        Xc = X - X.mean(axis=0)
        return Xc / np.linalg.norm(Xc.T @ Xc) ** 0.5

    def compare(self, a, b):
        return float(np.linalg.norm(a.T @ b) ** 2)


def naive_linear_cka(X, Y):
    """Kornblith et al. (2019), eq. via centred Gram matrices: HSIC(K, L) normalised."""
    n = X.shape[0]
    H = np.eye(n) - 1.0 / n
    K, L = H @ X @ X.T @ H, H @ Y @ Y.T @ H
    return np.sum(K * L) / np.sqrt(np.sum(K * K) * np.sum(L * L))


@pytest.fixture
def population():
    rng = np.random.default_rng(0)
    return [rng.normal(size=(60, p)) for p in (3, 5, 4, 6)]


def test_each_network_is_prepared_once(population):
    measure = LinearCKA()
    pairwise_similarity(population, measure=measure, n_jobs=1, progress=False)
    assert measure.prepared == len(population)  # not once per pair


def test_symmetric_measure_matches_naive_formula(population):
    M = pairwise_similarity(population, measure=LinearCKA(), progress=False)
    expected = [[naive_linear_cka(a, b) for b in population] for a in population]
    np.testing.assert_allclose(M, expected, rtol=1e-10)
    np.testing.assert_allclose(np.diag(M), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(M, M.T)


def test_directed_equivalence_is_asymmetric():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(400, 2))
    full = np.hstack([x, x[:, :1] * x[:, 1:]])  # determines the rest
    partial = x[:, :1]  # x[:, 1] is lost
    M = pairwise_similarity(
        [full, partial],
        measure=EquivalenceScore(LinearRegression()),
        progress=False,
    )
    assert M[0, 1] > 0.999  # partial is a linear function of full
    assert M[1, 0] < 0.7  # full is not a function of partial
    assert M[0, 0] > 0.999 and M[1, 1] > 0.999


def test_equivalence_score_matches_a_manual_split():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(100, 3)), rng.normal(size=(100, 2))
    b[:, 0] += a[:, 0]
    M = pairwise_similarity(
        [a, b],
        measure=EquivalenceScore(LinearRegression(), random_state=3),
        progress=False,
    )
    order = np.random.default_rng(3).permutation(100)
    test, train = order[:25], order[25:]
    expected = LinearRegression().fit(a[train], b[train]).score(a[test], b[test])
    assert M[0, 1] == pytest.approx(expected, rel=1e-12)


def test_similarity_names_use_skequiv_similarity(population):
    M = pairwise_similarity(population, measure="linear_cka", progress=False)
    expected = [[naive_linear_cka(a, b) for b in population] for a in population]
    np.testing.assert_allclose(M, expected, rtol=1e-8)


@pytest.mark.parametrize("name", ["linear_cka", "cca", "svcca", "procrustes", "pwcca"])
def test_every_similarity_has_unit_diagonal(population, name):
    from skequiv.similarity import get_measure

    M = pairwise_similarity(population, measure=name, progress=False)
    np.testing.assert_allclose(np.diag(M), 1.0, atol=1e-8)
    if get_measure(name).symmetric:
        np.testing.assert_array_equal(M, M.T)
    else:  # directed: both orders computed, and they differ
        assert not np.allclose(M, M.T)


def test_available_measures_lists_every_similarity_and_the_directed_score():
    from skequiv.population import available_measures
    from skequiv.similarity import MEASURES

    assert available_measures() == ["equivalence", *sorted(MEASURES)]
