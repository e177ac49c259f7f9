"""Analytic cases and published numbers (the issue's "Done when" constructions)."""

import numpy as np
import pytest

from skequiv.similarity import cca, cka, procrustes, pwcca, shape_distance, svcca
from tests.similarity.conftest import orthonormal_centred


@pytest.mark.parametrize("phi", [0.0, 0.3, 1.0, np.pi / 2])
def test_cka_and_procrustes_of_a_rotated_second_unit(phi):
    z0, z1, z2 = orthonormal_centred(200, 3).T
    X = np.column_stack([z0, z1])
    Y = np.column_stack([z0, np.cos(phi) * z1 + np.sin(phi) * z2])
    assert cka(X, Y) == pytest.approx((1 + np.cos(phi) ** 2) / 2, abs=1e-12)
    # X̃ᵀỸ = [[z0·z0, z0·y1], [z1·z0, z1·y1]] = diag(1, cos φ): its nuclear norm
    # is 1 + |cos φ|, and ‖X̃‖_F = ‖Ỹ‖_F = √2 (two unit columns each)
    expected = (1 + abs(np.cos(phi))) / 2
    assert procrustes(X, Y) == pytest.approx(expected, abs=1e-12)
    assert shape_distance(X, Y) == pytest.approx(np.arccos(expected), abs=1e-7)


@pytest.mark.parametrize(("p", "q"), [(4, 1), (4, 2), (9, 4), (6, 6)])
def test_cka_of_a_subset_of_orthonormal_columns(p, q):
    X = orthonormal_centred(50, p, seed=p + q)
    assert cka(X, X[:, :q]) == pytest.approx(np.sqrt(q / p), abs=1e-12)


def test_cka_gram_form_gives_the_same_closed_form():
    # fewer samples than units: both sides take the Gram route
    X = orthonormal_centred(12, 10, seed=3)
    assert cka(X, X[:, :4]) == pytest.approx(np.sqrt(4 / 10), abs=1e-12)


def test_svcca_of_two_shared_and_one_private_direction():
    z0, z1, z2, z3 = orthonormal_centred(300, 4).T
    X = np.column_stack([z0, z1, z2])
    Y = np.column_stack([z0, z1, z3])
    assert svcca(X, Y) == pytest.approx(2 / 3, abs=1e-12)
    assert cca(X, Y) == pytest.approx(2 / 3, abs=1e-12)


def test_pwcca_weights_by_the_first_argument_by_default():
    z1, z2, z3 = orthonormal_centred(500, 3).T
    X = np.column_stack([z1, z1 + z2])
    Y = np.column_stack([z1, z3])
    # ρ = (1, 0); X's variates z1, z2 load |⟨z1, x⟩| = (1, 1), |⟨z2, x⟩| = (0, 1)
    assert pwcca(X, Y) == pytest.approx(2 / 3, abs=1e-12)
    # Y's variates z1, z3 load (1, 0) and (0, 1): equal weights
    assert pwcca(Y, X) == pytest.approx(1 / 2, abs=1e-12)
    assert pwcca(X, Y, weights="y") == pytest.approx(1 / 2, abs=1e-12)
    assert pwcca(X, Y, weights="symmetric") == pytest.approx(7 / 12, abs=1e-12)


def test_pwcca_with_the_wider_side_first_does_not_fail():
    # google/svcca raises IndexError here (PR #9)
    rng = np.random.default_rng(0)
    A = rng.normal(size=(200, 3))
    B = np.hstack([A, rng.normal(size=(200, 2))]) @ rng.normal(size=(5, 5))
    assert pwcca(B, A) == pytest.approx(_pwcca_reference(B, A), abs=1e-10)
    assert pwcca(A, B) == pytest.approx(1.0, abs=1e-10)


def _pwcca_reference(X, Y):
    """PWCCA from explicit canonical weights (generalised eigenproblem)."""
    from scipy.linalg import eigh

    X = X - X.mean(0)
    Y = Y - Y.mean(0)
    Sxx, Syy, Sxy = X.T @ X, Y.T @ Y, X.T @ Y
    # Sxy Syy⁻¹ Syx a = ρ² Sxx a
    rho2, A = eigh(Sxy @ np.linalg.solve(Syy, Sxy.T), Sxx)
    order = np.argsort(rho2)[::-1][: min(X.shape[1], Y.shape[1])]
    rho = np.sqrt(np.clip(rho2[order], 0, 1))
    H = X @ A[:, order]
    H /= np.linalg.norm(H, axis=0)
    alpha = np.abs(H.T @ X).sum(axis=1)
    return alpha @ rho / alpha.sum()


def test_kornblith_demo_numbers(kornblith_demo):
    # printed in google-research representation_similarity/Demo.ipynb
    X, Y = kornblith_demo
    assert cka(X, Y) == pytest.approx(0.55761, abs=5e-6)
    assert cka(X, Y, kernel="rbf", threshold=0.5) == pytest.approx(0.65483, abs=5e-6)
    assert cka(X, Y, debiased=True) == pytest.approx(0.51346, abs=5e-6)


def test_debiased_cka_removes_the_width_bias():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 1000))
    Y = rng.normal(size=(50, 1000))
    assert cka(X, Y) > 0.9
    assert abs(cka(X, Y, debiased=True)) < 0.1
