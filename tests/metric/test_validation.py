"""One validator for metric data: shapes, dtypes and degenerate values."""

import numpy as np
import pytest

from skequiv import MahalanobisDiffusionMap
from skequiv.metric import check_metric_data, precision_factors

# 60-sample fits exist only to reach the validation under test; the
# diffusion map's small-sample warning about invariance is beside the point
pytestmark = pytest.mark.filterwarnings(
    "ignore:Only .* samples with rank-deficient metric data:UserWarning"
)


def _data(n=30, m=3, d=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, m)), rng.normal(size=(n, m, d))


def test_two_dimensional_jacobians_are_read_one_way_everywhere():
    # (n, d) for one observed feature, (n, m) for one intrinsic direction
    J, _ = check_metric_data(np.ones((5, 4)), n_samples=5, n_features=1)
    assert J.shape == (5, 1, 4)
    J, _ = check_metric_data(np.ones((5, 3)), n_samples=5, n_features=3)
    assert J.shape == (5, 3, 1)
    with pytest.raises(ValueError, match=r"jacobians.*\(5, 3, d\)"):
        check_metric_data(np.ones((5, 4)), n_samples=5, n_features=3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"jacobians": np.zeros((30, 3, 2))}, r"`jacobians` are zero.*round"),
        ({"jacobians": np.ones((30, 3, 2)) * (1 + 1j)}, r"`jacobians` is complex"),
        ({"jacobians": np.ones((30, 3, 2)) * 1e200}, r"`jacobians`.*overflow"),
        (
            {"jacobians": np.full((30, 3, 2), "a")},
            r"`jacobians` must be a numeric array",
        ),
        ({"covariances": np.zeros((30, 3, 3))}, r"`covariances` are zero"),
        ({"covariances": np.ones((30, 3, 3)) * 1e250}, r"`covariances`.*magnitude"),
        (
            {"jacobians": np.ones((30, 3, 2)), "covariances": np.ones((30, 3, 3))},
            "not both",
        ),
    ],
)
def test_degenerate_metric_data_names_the_parameter_and_the_fix(kwargs, match):
    Y, _ = _data()
    with pytest.raises(ValueError, match=match):
        check_metric_data(**kwargs, n_samples=30, n_features=3)
    with pytest.raises(ValueError, match=match):  # the same error from the estimator
        MahalanobisDiffusionMap(2, epsilon=1.0).fit(Y, **kwargs)


@pytest.mark.parametrize(
    "eigenvalues, kind",
    [([-1.0, -2.0, -3.0], "negative definite"), ([2.0, 1.0, -0.5], "indefinite")],
)
def test_covariances_that_are_not_semidefinite_are_rejected(eigenvalues, kind):
    Y, _ = _data()
    U, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))
    C = np.repeat((U * eigenvalues) @ U.T[None], 30, axis=0)
    with pytest.raises(ValueError, match=f"positive semi-definite.*{kind}"):
        precision_factors(covariances=C)
    with pytest.raises(ValueError, match=f"positive semi-definite.*{kind}"):
        MahalanobisDiffusionMap(2, epsilon=1.0).fit(Y, covariances=C)


def test_all_zero_jacobians_at_transform_are_rejected():
    Y, J = _data(n=60)
    dmap = MahalanobisDiffusionMap(2, epsilon=2.0, random_state=0).fit(Y, jacobians=J)
    with pytest.raises(ValueError, match="`jacobians` are zero"):
        dmap.transform(Y[:5], jacobians=np.zeros((5, 3, 2)))


def test_auto_regularization_is_relative_to_the_median_largest_eigenvalue():
    rng = np.random.default_rng(2)
    J = rng.normal(size=(40, 4, 2))
    lam = 1e-3 * np.median([np.linalg.norm(Ji, 2) ** 2 for Ji in J])
    P, _ = precision_factors(jacobians=J, regularization="auto")
    ref = np.stack([np.linalg.inv(Ji @ Ji.T + lam * np.eye(4)) for Ji in J])
    np.testing.assert_allclose(
        np.einsum("nri,nrj->nij", P, P), ref, rtol=1e-9, atol=1e-12
    )
    # and scale-free: J -> 1000 J gives the precisions / 1000^2
    P_big, _ = precision_factors(jacobians=1e3 * J, regularization="auto")
    np.testing.assert_allclose(
        np.einsum("nri,nrj->nij", P_big, P_big) * 1e6, ref, rtol=1e-9, atol=1e-12
    )
