"""Aligning embeddings of unpaired samples: cases with a known answer."""

import warnings

import numpy as np
import pytest
from sklearn.metrics import r2_score

from skequiv import MahalanobisDiffusionMap, NetworkTransform
from skequiv.equivalence import align_embeddings, eigenvalue_blocks


def _rotation(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, s], [-s, c]])


def test_blocks_follow_the_laplacian_eigenvalue_gaps():
    # circle: μ_k ∝ k², each twice; interval: μ_k ∝ k², simple
    circle = np.exp(-0.01 * np.array([1, 1.03, 4, 3.95, 9, 9.1]))
    interval = np.exp(-0.01 * np.array([1, 4, 9]))
    assert eigenvalue_blocks(circle) == [[0, 1], [2, 3], [4, 5]]
    assert eigenvalue_blocks(interval) == [[0], [1], [2]]
    # degenerate in either spectrum means one block
    assert eigenvalue_blocks(interval[:2], np.exp(-0.01 * np.array([1, 1.02]))) == [
        [0, 1]
    ]


@pytest.mark.parametrize("reflect", [False, True])
def test_anchors_recover_a_rotation_within_a_degenerate_block(reflect):
    rng = np.random.default_rng(0)
    t_a = rng.uniform(0, 2 * np.pi, 300)
    t_b = rng.uniform(0, 2 * np.pi, 250)
    t_b[:4] = t_a[:4]  # four inputs seen by both
    true = _rotation(1.1) @ (np.diag([1, -1]) if reflect else np.eye(2))
    Z_a = np.column_stack([np.cos(t_a), np.sin(t_a)])
    Z_b = np.column_stack([np.cos(t_b), np.sin(t_b)]) @ true
    anchors = np.column_stack([np.arange(4), np.arange(4)])
    R, blocks = align_embeddings(
        Z_a,
        Z_b,
        eigenvalues_a=[0.99, 0.99],
        eigenvalues_b=[0.99, 0.99],
        anchors=anchors,
    )
    assert blocks == [[0, 1]]
    # standardisation scales both circles equally, so R is the true map
    np.testing.assert_allclose(R, true, atol=0.05)


def test_third_moments_recover_signs_of_a_skewed_sample():
    rng = np.random.default_rng(1)
    t_a, t_b = rng.beta(2, 5, 2000), rng.beta(2, 5, 1500)

    def coords(t):
        return np.column_stack([np.cos(np.pi * t), np.cos(2 * np.pi * t)])

    flips = np.array([-1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        R, blocks = align_embeddings(
            coords(t_a), coords(t_b) * flips, eigenvalues_a=[0.9, 0.6]
        )
    assert blocks == [[0], [1]]
    np.testing.assert_array_equal(np.diag(R), flips)


def test_degenerate_block_without_anchors_warns():
    Z = np.random.default_rng(2).normal(size=(50, 2))
    with pytest.warns(UserWarning, match="cannot be aligned without anchor"):
        R, _ = align_embeddings(Z, Z, eigenvalues_a=[0.9, 0.9])
    np.testing.assert_array_equal(R, np.eye(2))


def test_invalid_anchors_are_rejected():
    Z = np.zeros((5, 2)) + np.arange(5)[:, None]
    with pytest.raises(ValueError, match="anchors must be an integer array"):
        align_embeddings(Z, Z, anchors=np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="cannot fix a degenerate block"):
        align_embeddings(Z, Z, eigenvalues_a=[0.9, 0.9], anchors=[[0, 0]])


def _observer_a(t):
    return np.c_[t, t**3], np.stack([np.ones_like(t), 3 * t**2], 1)[:, :, None]


def _observer_b(t):
    obs = np.c_[np.sin(2 * t), np.exp(t), t**2]
    jac = np.stack([2 * np.cos(2 * t), np.exp(t), 2 * t], 1)[:, :, None]
    return obs, jac


def test_fit_unpaired_composes_aligned_embeddings():
    # Two observers of one interval, on different samples; five inputs seen by
    # both. The Mahalanobis metric makes both embeddings cos(πkt) up to sign.
    rng = np.random.default_rng(0)
    t_a, t_b = rng.uniform(0, 1, 400), rng.uniform(0, 1, 350)
    t_b[:5] = t_a[:5]
    X, J = _observer_a(t_a)
    Y, JY = _observer_b(t_b)
    transform = NetworkTransform(
        embedding=MahalanobisDiffusionMap(2, random_state=0)
    ).fit_unpaired(
        X, Y, anchors=np.c_[np.arange(5), np.arange(5)], jacobians=J, jacobians_y=JY
    )
    t_new = rng.uniform(0.02, 0.98, 200)
    X_new, J_new = _observer_a(t_new)
    Y_new, _ = _observer_b(t_new)
    assert r2_score(Y_new, transform.predict(X_new, jacobians=J_new)) > 0.95
    assert transform.alignment_["rotation"].shape == (2, 2)
    # without alignment (identity), a sign mismatch would ruin it: check that
    # the alignment did something non-trivial or the signs already agreed
    signs = np.diag(transform.alignment_["rotation"])
    assert set(np.abs(signs)) == {1.0}


def test_fit_unpaired_rejects_a_selector_and_passthrough():
    from sklearn.feature_selection import SelectKBest

    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="cannot select neurons"):
        NetworkTransform(selector=SelectKBest(k=1)).fit_unpaired(X, X)
    with pytest.raises(ValueError, match="needs an embedding"):
        NetworkTransform(embedding="passthrough").fit_unpaired(X, X)
