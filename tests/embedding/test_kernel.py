"""Dense Mahalanobis distances against the formula, pair by pair."""

import numpy as np
import pytest

from skequiv.embedding import _kernel
from skequiv.embedding._kernel import symmetric_dense


@pytest.mark.parametrize("chunk_bytes", [8 * 7**2, 64 * 2**20])  # 7x7 blocks, one
def test_symmetric_dense_is_the_mean_of_both_one_sided_distances(
    monkeypatch, chunk_bytes
):
    monkeypatch.setattr(_kernel, "_CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(0)
    n, m, r = 23, 4, 2
    Y = rng.normal(size=(n, m))
    P = rng.normal(size=(n, r, m))
    expected = np.empty((n, n))
    for a in range(n):
        for b in range(n):
            dy = Y[a] - Y[b]
            expected[a, b] = 0.5 * (dy @ P[a].T @ P[a] @ dy + dy @ P[b].T @ P[b] @ dy)
    np.testing.assert_allclose(symmetric_dense(Y, P), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_edges_of_wide_factors_equal_the_formula(monkeypatch, weighted):
    # wide layers take the per-source path; both paths against the formula
    rng = np.random.default_rng(1)
    n, m, r = 30, 6, 2
    Y = rng.normal(size=(n, m))
    P = rng.normal(size=(n, r, m))
    w = rng.uniform(-0.5, 1.0, size=(n, r))
    metric = _kernel.LocalMetric(P, w, 0.3) if weighted else P
    ia, ib = rng.integers(0, n, 200), rng.integers(0, n, 200)
    expected = np.empty(200)
    for e, (a, b) in enumerate(zip(ia, ib, strict=True)):
        v = P[a] @ (Y[a] - Y[b])
        dy = Y[a] - Y[b]
        expected[e] = (w[a] * v**2).sum() + 0.3 * dy @ dy if weighted else v @ v
    small = _kernel.one_sided_edges(Y, metric, Y, ia, ib)
    monkeypatch.setattr(_kernel, "_LARGE_FACTOR_BYTES", 0)
    large = _kernel.one_sided_edges(Y, metric, Y, ia, ib)
    np.testing.assert_allclose(small, expected, rtol=1e-12)
    np.testing.assert_allclose(large, expected, rtol=1e-12)
