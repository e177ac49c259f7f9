"""Data shared by the similarity tests."""

import numpy as np
import pytest


def orthonormal_centred(n, k, seed=0):
    """k orthonormal columns, each with mean 0, in R^n."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, k))
    Z -= Z.mean(axis=0)
    Q, _ = np.linalg.qr(Z)
    return Q


@pytest.fixture
def kornblith_demo():
    """The seeded input of Kornblith et al.'s Demo.ipynb (legacy RandomState)."""
    rng = np.random.RandomState(1337)
    X = rng.randn(100, 10)
    Y = rng.randn(100, 10) + X
    return X, Y
