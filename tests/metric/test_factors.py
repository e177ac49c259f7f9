"""Precision factors against numpy's pseudo-inverse."""

import numpy as np
import pytest

from skequiv.metric._factors import precision_factors


def _precisions(P):
    return np.einsum("nri,nrj->nij", P, P)


@pytest.mark.parametrize("m, d", [(5, 2), (3, 3), (2, 4)])
def test_factors_from_jacobians_give_the_pseudo_inverse(m, d):
    J = np.random.default_rng(0).normal(size=(40, m, d))
    P, ranks = precision_factors(jacobians=J)
    ref = np.stack([np.linalg.pinv(Ji @ Ji.T) for Ji in J])
    np.testing.assert_allclose(_precisions(P), ref, rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(ranks, min(m, d))
    P_cov, ranks_cov = precision_factors(covariances=np.einsum("nij,nkj->nik", J, J))
    np.testing.assert_allclose(_precisions(P_cov), ref, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(ranks_cov, min(m, d))


def test_rank_and_relative_tolerance_truncate_like_pinv():
    rng = np.random.default_rng(1)
    U, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    C = np.stack([U @ np.diag([4.0, 1.0, 1e-3, 1e-9]) @ U.T] * 3)
    P, ranks = precision_factors(covariances=C, rank=0.01)
    np.testing.assert_allclose(
        _precisions(P)[0], np.linalg.pinv(C[0], rtol=0.01), rtol=1e-8, atol=1e-8
    )
    np.testing.assert_array_equal(ranks, 2)
    P3, ranks3 = precision_factors(covariances=C, rank=3)
    np.testing.assert_array_equal(ranks3, 3)
    np.testing.assert_allclose(
        _precisions(P3)[0], np.linalg.pinv(C[0], rtol=1e-4), rtol=1e-6, atol=1e-6
    )


def test_regularization_gives_the_ridge_inverse():
    J = np.random.default_rng(2).normal(size=(10, 4, 2))
    lam = 0.3
    P, ranks = precision_factors(jacobians=J, regularization=lam)
    ref = np.stack([np.linalg.inv(Ji @ Ji.T + lam * np.eye(4)) for Ji in J])
    np.testing.assert_allclose(_precisions(P), ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(ranks, 4)


def test_dead_sample_has_rank_zero_and_zero_factor():
    J = np.random.default_rng(3).normal(size=(5, 3, 2))
    J[2] = 0.0
    P, ranks = precision_factors(jacobians=J)
    np.testing.assert_array_equal(ranks, [2, 2, 0, 2, 2])
    assert np.all(P[2] == 0)


@pytest.mark.parametrize("rank", [0, -1, 1.0, 1.5, "2"])
def test_invalid_rank(rank):
    with pytest.raises(ValueError, match="rank"):
        precision_factors(jacobians=np.ones((2, 2, 2)), rank=rank)


@pytest.mark.parametrize("rank", [0.05, 1])
def test_regularised_truncation_of_tall_jacobians_matches_covariances(rank):
    # m = 5 observations of d = 2 intrinsic coordinates: the Jacobian has fewer
    # columns than rows, and C = J J^T has three zero eigenvalues that no rank
    # rule keeps, so both routes must give the same regularised precision
    rng = np.random.default_rng(3)
    J = rng.standard_normal((20, 5, 2))
    C = J @ J.transpose(0, 2, 1)
    Pj, rj = precision_factors(jacobians=J, rank=rank, regularization=0.1)
    Pc, rc = precision_factors(covariances=C, rank=rank, regularization=0.1)
    np.testing.assert_array_equal(rj, rc)
    np.testing.assert_allclose(
        Pj.transpose(0, 2, 1) @ Pj, Pc.transpose(0, 2, 1) @ Pc, atol=1e-10
    )
