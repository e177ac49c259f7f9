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
