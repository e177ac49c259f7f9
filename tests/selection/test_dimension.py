"""estimate_intrinsic_dimension on manifolds of known dimension."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skequiv import estimate_intrinsic_dimension


def _rotation(rng, n):
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return Q


def _circle(rng, n=2000):
    t = rng.uniform(0, 2 * np.pi, n)
    return np.c_[np.cos(t), np.sin(t), np.zeros((n, 8))] @ _rotation(rng, 10)


def _sheet(rng, n=2000):
    return np.c_[rng.uniform(size=(n, 2)), np.zeros((n, 8))] @ _rotation(rng, 10)


def _ball(rng, n=2000):
    u = rng.normal(size=(n, 3))
    u *= rng.uniform(size=(n, 1)) ** (1 / 3) / np.linalg.norm(u, axis=1, keepdims=True)
    return np.c_[u, np.zeros((n, 7))] @ _rotation(rng, 10)


def _tanh_neurons(rng, n=1000):
    x = rng.uniform(-1, 1, n)
    return np.tanh(np.outer(x, rng.normal(size=30) * 2) + rng.normal(size=30))


@pytest.mark.parametrize("method", ["mle", "twonn"])
@pytest.mark.parametrize(
    "make, dimension",
    [(_circle, 1), (_sheet, 2), (_ball, 3), (_tanh_neurons, 1)],
    ids=["circle-in-R10", "sheet-in-R10", "ball-in-R10", "tanh-neurons"],
)
def test_known_dimensions(make, dimension, method):
    X = make(np.random.default_rng(0))
    assert estimate_intrinsic_dimension(X, method=method) == pytest.approx(
        dimension, abs=0.3
    )


def test_mle_matches_a_naive_levina_bickel_mackay_ghahramani_loop():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4))
    k = 7
    inverse = []
    for i in range(60):
        dist = np.sort(np.linalg.norm(X - X[i], axis=1))[1 : k + 1]
        inverse.append(np.mean([np.log(dist[-1] / dist[j]) for j in range(k - 1)]))
    expected = 1.0 / np.mean(inverse)
    assert estimate_intrinsic_dimension(X, n_neighbors=k) == pytest.approx(
        expected, rel=1e-10
    )


def test_twonn_matches_the_closed_form():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 3))
    D = np.sort(np.linalg.norm(X[:, None] - X[None], axis=-1), axis=1)
    expected = 50 / np.log(D[:, 2] / D[:, 1]).sum()
    assert estimate_intrinsic_dimension(X, method="twonn") == pytest.approx(
        expected, rel=1e-10
    )


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    scale=st.floats(1e-3, 1e3),
    method=st.sampled_from(["mle", "twonn"]),
)
def test_invariant_under_rotation_translation_and_scaling(seed, scale, method):
    rng = np.random.default_rng(seed)
    X = _sheet(rng, n=300)
    moved = scale * X @ _rotation(rng, 10) + rng.normal(size=10)
    a = estimate_intrinsic_dimension(X, method=method)
    b = estimate_intrinsic_dimension(moved, method=method)
    assert b == pytest.approx(a, rel=1e-6)


def test_repeated_points_are_ignored():
    rng = np.random.default_rng(3)
    X = _circle(rng, n=500)
    doubled = np.vstack([X, X, X[:100]])
    assert estimate_intrinsic_dimension(doubled) == pytest.approx(
        estimate_intrinsic_dimension(X), rel=1e-12
    )


def test_small_samples_clip_the_neighbourhood():
    X = np.random.default_rng(4).normal(size=(6, 2))
    assert np.isfinite(estimate_intrinsic_dimension(X, n_neighbors=20))


def test_too_few_distinct_points_is_an_error():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="at least 3 distinct points"):
        estimate_intrinsic_dimension(X)
