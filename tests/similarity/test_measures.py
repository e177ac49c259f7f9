"""Each measure against an independent dense reference, and the registry API."""

import pickle

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.spatial.distance import cdist

from skequiv.similarity import (
    MEASURES,
    SimilarityAccumulator,
    SimilarityWarning,
    cca,
    cka,
    get_measure,
    procrustes,
    pwcca,
    shape_distance,
    svcca,
)


def _data(n=80, p=7, q=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 2, size=p) + 3.0
    Y = X[:, :q] @ rng.normal(size=(q, q)) + rng.normal(size=(n, q))
    return X, Y


# -- naive dense references ------------------------------------------------


def _hsic_biased(K, L):
    n = len(K)
    H = np.eye(n) - np.ones((n, n)) / n
    return np.trace(K @ H @ L @ H) / (n - 1) ** 2


def _hsic_unbiased(K, L):
    # Song et al. 2012, eq. (5), term by term
    n = len(K)
    K, L = K.copy(), L.copy()
    np.fill_diagonal(K, 0)
    np.fill_diagonal(L, 0)
    one = np.ones(n)
    return (
        np.trace(K @ L)
        + (one @ K @ one) * (one @ L @ one) / ((n - 1) * (n - 2))
        - 2 / (n - 2) * one @ K @ L @ one
    ) / (n * (n - 3))


def _cka_reference(K, L, hsic):
    return hsic(K, L) / np.sqrt(hsic(K, K) * hsic(L, L))


def _rbf(X, threshold):
    D = cdist(X, X, "sqeuclidean")
    return np.exp(-D / (2 * threshold**2 * np.median(D)))


def _canonical_correlations(X, Y):
    # eigenvalues of Σxx⁻¹ Σxy Σyy⁻¹ Σyx are the squared correlations
    X = X - X.mean(0)
    Y = Y - Y.mean(0)
    M = np.linalg.solve(X.T @ X, X.T @ Y) @ np.linalg.solve(Y.T @ Y, Y.T @ X)
    rho2 = np.sort(np.linalg.eigvals(M).real)[::-1][: min(X.shape[1], Y.shape[1])]
    return np.sqrt(np.clip(rho2, 0, 1))


@pytest.mark.parametrize(("n", "p", "q"), [(60, 5, 4), (12, 20, 30), (15, 10, 25)])
@pytest.mark.parametrize("debiased", [False, True])
def test_linear_cka_matches_dense_hsic(n, p, q, debiased):
    # feature form, Gram form, and one side of each
    X, Y = _data(n, p, min(q, p), seed=n)
    Y = np.hstack([Y, np.random.default_rng(1).normal(size=(n, q - Y.shape[1]))])
    hsic = _hsic_unbiased if debiased else _hsic_biased
    expected = _cka_reference(X @ X.T, Y @ Y.T, hsic)
    assert cka(X, Y, debiased=debiased) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("threshold", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("debiased", [False, True])
def test_rbf_cka_matches_dense_hsic(threshold, debiased):
    X, Y = _data(40, 6, 3)
    hsic = _hsic_unbiased if debiased else _hsic_biased
    expected = _cka_reference(_rbf(X, threshold), _rbf(Y, threshold), hsic)
    got = cka(X, Y, kernel="rbf", threshold=threshold, debiased=debiased)
    assert got == pytest.approx(expected, abs=1e-12)


def test_cca_and_svcca_match_the_covariance_eigenproblem():
    X, Y = _data()
    rho = _canonical_correlations(X, Y)
    assert cca(X, Y) == pytest.approx(rho.mean(), abs=1e-10)
    assert cca(X, Y, summary="mean_squared") == pytest.approx(
        np.mean(rho**2), abs=1e-10
    )
    # SVCCA: the reference keeps k directions by hand, then the same CCA
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    reduced = []
    for Z in (Xc, Yc):
        U, s, _ = np.linalg.svd(Z, full_matrices=False)
        k = int(np.argmax(np.cumsum(s**2) / np.sum(s**2) >= 0.9)) + 1
        reduced.append(U[:, :k] * s[:k])
    assert reduced[0].shape[1] < X.shape[1]  # the truncation is exercised
    expected = _canonical_correlations(*reduced).mean()
    assert svcca(X, Y, variance=0.9) == pytest.approx(expected, abs=1e-10)


def test_pwcca_matches_explicit_canonical_variates():
    from tests.similarity.test_closed_forms import _pwcca_reference

    X, Y = _data()
    assert pwcca(X, Y) == pytest.approx(_pwcca_reference(X, Y), abs=1e-10)
    assert pwcca(X, Y, weights="y") == pytest.approx(_pwcca_reference(Y, X), abs=1e-10)


def test_procrustes_is_the_optimal_rotation_residual():
    X, Y = _data(p=5, q=5)
    Xn, Yn = (Z - Z.mean(0) for Z in (X, Y))
    Xn, Yn = Xn / np.linalg.norm(Xn), Yn / np.linalg.norm(Yn)
    R, _ = orthogonal_procrustes(Xn, Yn)
    # min_R ‖X̂R - Ŷ‖² = 2 - 2 ‖X̂ᵀŶ‖_* (Ding et al.'s distance)
    residual = np.linalg.norm(Xn @ R - Yn) ** 2
    assert 2 - 2 * procrustes(X, Y) == pytest.approx(residual, abs=1e-12)


def test_shape_distance_at_full_whitening_is_the_mean_principal_angle_cosine():
    X, Y = _data(p=4, q=4)
    rho = _canonical_correlations(X, Y)
    assert shape_distance(X, Y, alpha=0.0) == pytest.approx(
        np.arccos(rho.mean()), abs=1e-9
    )


def test_shape_distance_obeys_the_triangle_inequality():
    rng = np.random.default_rng(0)
    reps = [rng.normal(size=(31, 30 - i)) for i in range(3)]
    for alpha in (0.0, 0.5, 1.0):
        d = [[shape_distance(a, b, alpha=alpha) for b in reps] for a in reps]
        assert d[0][2] <= d[0][1] + d[1][2] + 1e-12
        assert d[0][1] == pytest.approx(d[1][0], abs=1e-12)
        assert d[0][0] == pytest.approx(0.0, abs=1e-6)


# -- the registry -------------------------------------------------------------


@pytest.mark.parametrize("name", MEASURES)
def test_compare_of_prepared_states_equals_the_measure(name):
    X, Y = _data()
    measure = get_measure(name)
    state_x, state_y = measure.prepare(X), measure.prepare(Y)
    assert measure.compare(state_x, state_y) == measure(X, Y)
    # a state is reused across pairs without being changed
    assert measure.compare(state_x, measure.prepare(2 * X)) == pytest.approx(
        1.0, abs=1e-12
    )
    assert measure.compare(state_x, state_y) == measure(X, Y)
    assert 0.0 <= measure(X, Y) <= 1.0


def test_registry_names_match_the_functions():
    X, Y = _data()
    expected = {
        "linear_cka": cka(X, Y),
        "rbf_cka": cka(X, Y, kernel="rbf"),
        "debiased_linear_cka": cka(X, Y, debiased=True),
        "debiased_rbf_cka": cka(X, Y, kernel="rbf", debiased=True),
        "cca": cca(X, Y),
        "svcca": svcca(X, Y),
        "pwcca": pwcca(X, Y),
        "procrustes": procrustes(X, Y),
    }
    assert set(expected) == set(MEASURES)
    for name, value in expected.items():
        assert get_measure(name)(X, Y) == value, name
    assert get_measure("rbf_cka", threshold=0.5)(X, Y) == cka(
        X, Y, kernel="rbf", threshold=0.5
    )
    assert get_measure("pwcca", weights="y")(X, Y) == pwcca(X, Y, weights="y")
    assert get_measure("svcca", variance=0.5)(X, Y) == svcca(X, Y, variance=0.5)


@pytest.mark.parametrize("name", MEASURES)
def test_self_similarity_is_one(name):
    X, _ = _data()
    assert get_measure(name)(X, X.copy()) == pytest.approx(1.0, abs=1e-12)
    assert get_measure(name)(X, X) == 1.0


@pytest.mark.parametrize("n", [4, 5, 10])
@pytest.mark.parametrize("p", [2, 30])
@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_debiased_self_similarity_is_one_at_tiny_n(n, p, kernel):
    X = np.random.default_rng(n * p).normal(size=(n, p))
    assert cka(X, X.copy(), kernel=kernel, debiased=True) == pytest.approx(
        1.0, abs=1e-12
    )
    assert cka(X, X, kernel=kernel, debiased=True) == 1.0


@pytest.mark.parametrize("name", MEASURES)
def test_measures_and_states_pickle_for_parallel_workers(name):
    X, Y = _data()
    measure = pickle.loads(pickle.dumps(get_measure(name)))
    state = pickle.loads(pickle.dumps(measure.prepare(X)))
    assert measure.compare(state, measure.prepare(Y)) == get_measure(name)(X, Y)


@pytest.mark.parametrize("n", [4, 5, 9])
def test_debiased_cka_with_a_vanishing_self_term_is_nan_with_a_warning(n):
    # K = x xᵀ with x = (1, …, 1, -1) is additive off the diagonal
    # (x_i x_j = a_i + a_j, a = (½, …, ½, -3/2)), so its U-centring vanishes
    # and HSIC_u(K, K) = 0: the similarity is undefined
    x = np.ones((n, 1))
    x[-1] = -1
    Y = np.random.default_rng(0).normal(size=(n, 3))
    for X in (x, np.hstack([x] * n)):  # feature form and Gram form
        with pytest.warns(SimilarityWarning, match="not positive"):
            assert np.isnan(cka(X, Y, debiased=True))
    acc = SimilarityAccumulator(batch_size=2).update(x, Y)
    with pytest.warns(SimilarityWarning, match="not positive"):
        assert np.isnan(acc.score("debiased_linear_cka"))


def test_debiased_cka_can_be_negative_and_is_reported_as_such():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 1000))
    Y = rng.normal(size=(20, 1000))
    assert -0.2 < cka(X, Y, debiased=True) < 0
