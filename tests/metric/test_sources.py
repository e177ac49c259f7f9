"""Burst covariances and the callable metric sources."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from skequiv import BurstCovarianceMetric, FunctionMetric, MahalanobisDiffusionMap
from skequiv.metric import MetricData, is_metric_source
from skequiv.metric._burst import burst_covariances

A = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [0.3, 0.3, 0.3]])


def linear(x):
    return x @ A.T


def bent(x):
    return np.c_[
        np.sin(x[:, 0]) + x[:, 1] ** 2, np.exp(0.5 * x[:, 1]), x[:, 0] * x[:, 1]
    ]


def bent_jacobian(x):
    J = np.zeros((x.shape[0], 3, 2))
    J[:, 0, 0] = np.cos(x[:, 0])
    J[:, 0, 1] = 2 * x[:, 1]
    J[:, 1, 1] = 0.5 * np.exp(0.5 * x[:, 1])
    J[:, 2, 0] = x[:, 1]
    J[:, 2, 1] = x[:, 0]
    return J


def test_burst_covariance_of_a_linear_map_is_J_Jt():
    X = np.random.default_rng(0).normal(size=(20, 3))
    Y, C = burst_covariances(linear, X, sigma=0.7, n_bursts=16, random_state=0)
    np.testing.assert_allclose(Y, linear(X))
    # the burst directions are whitened, so this holds exactly, not only on average
    np.testing.assert_allclose(C, np.broadcast_to(A @ A.T, C.shape), atol=1e-10)


def test_burst_covariance_monte_carlo_mean_with_few_bursts():
    # n_bursts <= d: no whitening is possible; the estimate is unbiased over seeds
    X = np.zeros((1, 3))
    estimates = [
        burst_covariances(linear, X, sigma=0.1, n_bursts=3, random_state=s)[1][0]
        for s in range(3000)
    ]
    mean = np.mean(estimates, axis=0)
    # Monte Carlo standard error of the mean ~ |A A^T| / sqrt(3000 * 2) ~ 0.05
    np.testing.assert_allclose(mean, A @ A.T, atol=0.15)


def test_burst_covariance_of_a_nonlinear_map_tends_to_J_Jt():
    X = np.random.default_rng(1).uniform(-1, 1, size=(30, 2))
    _, C = burst_covariances(bent, X, sigma=1e-4, n_bursts=8, random_state=0)
    J = bent_jacobian(X)
    np.testing.assert_allclose(C, np.einsum("nij,nkj->nik", J, J), atol=1e-3)


def test_burst_depends_on_each_sample_alone():
    X = np.random.default_rng(2).normal(size=(12, 2))
    _, C = burst_covariances(bent, X, sigma=0.1, n_bursts=5, random_state=3)
    _, C_rev = burst_covariances(
        bent, X[::-1], sigma=0.1, n_bursts=5, random_state=3, batch_size=5
    )
    np.testing.assert_allclose(C_rev[::-1], C, rtol=1e-12)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"sigma": 0.0, "n_bursts": 4}, "sigma"),
        ({"sigma": 0.1, "n_bursts": 1}, "n_bursts"),
        ({"sigma": 0.1, "n_bursts": 4, "batch_size": 0}, "batch_size"),
    ],
)
def test_burst_rejects_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        burst_covariances(linear, np.zeros((2, 3)), **kw)


def test_burst_rejects_a_function_with_the_wrong_output():
    with pytest.raises(ValueError, match="func"):
        burst_covariances(lambda x: x[:1], np.zeros((2, 3)), sigma=0.1, n_bursts=4)


# the test's own exp overflows on purpose; numpy says so before skequiv refuses
@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")
def test_sources_reject_outputs_that_overflow():
    # exp(1000) overflows float64: an inf observation, Jacobian or covariance
    # must be refused where the user's callable is called, naming it and `X`
    X = np.array([[0.0], [1000.0]])

    def exp(x):
        return np.exp(x)

    with pytest.raises(ValueError, match=r"`func`.*1 of its 2 inputs.*row 1.*`X`"):
        FunctionMetric(exp, exp).fit(X).metric_data(X)
    finite = FunctionMetric(np.tanh, lambda x: np.exp(x)[:, :, None]).fit(X)
    with pytest.raises(ValueError, match=r"`jacobian`.*row 1.*`X`"):
        finite.metric_data(X)
    with pytest.raises(ValueError, match=r"`func`.*`X`"):
        BurstCovarianceMetric(exp, n_bursts=4).fit(X).metric_data(X)
    # finite outputs whose spread squared over sigma^2 exceeds float64
    steep = BurstCovarianceMetric(lambda x: 1e160 * x, n_bursts=4, random_state=0)
    with pytest.raises(ValueError, match=r"covariances of `func` overflow"):
        steep.fit(X[:1]).metric_data(X[:1])


def test_function_metric_returns_observations_and_jacobians():
    X = np.random.default_rng(3).uniform(size=(7, 2))
    src = FunctionMetric(bent, bent_jacobian)
    assert is_metric_source(src)
    md = clone(src).fit(X).metric_data(X)
    assert isinstance(md, MetricData)
    np.testing.assert_allclose(md.observations, bent(X))
    np.testing.assert_allclose(md.jacobians, bent_jacobian(X))
    np.testing.assert_allclose(src.fit(X).transform(X), bent(X))
    bad = FunctionMetric(bent, lambda x: np.zeros((x.shape[0], 2, 2))).fit(X)
    with pytest.raises(ValueError, match="jacobian"):
        bad.metric_data(X)


def test_burst_metric_is_deterministic_for_an_int_seed():
    X = np.random.default_rng(4).uniform(size=(9, 2))
    src = BurstCovarianceMetric(bent, sigma=1e-3, n_bursts=6, random_state=0).fit(X)
    a, b = src.metric_data(X), src.metric_data(X)
    np.testing.assert_array_equal(a.covariances, b.covariances)
    np.testing.assert_allclose(
        a.covariances,
        np.einsum("nij,nkj->nik", bent_jacobian(X), bent_jacobian(X)),
        atol=1e-2,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "source",
    [
        FunctionMetric(bent, bent_jacobian),
        BurstCovarianceMetric(bent, sigma=1e-4, n_bursts=8, random_state=0),
    ],
    ids=["function", "burst"],
)
def test_sources_under_grid_search(source):
    rng = np.random.default_rng(5)
    X = rng.uniform(-1, 1, size=(500, 2)) * [1.0, 0.5]
    target = np.cos(np.pi * (X[:, 0] + 1) / 2)
    pipe = Pipeline(
        [
            ("dmap", MahalanobisDiffusionMap(metric=source, rank=2, random_state=0)),
            ("reg", Ridge(alpha=1e-3)),
        ]
    )
    cv = KFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(pipe, {"dmap__epsilon": [0.02, 0.05]}, cv=cv).fit(X, target)
    # reference: the same splits by hand, the metric data computed directly
    ref = []
    for train, test in cv.split(X):
        md_train = clone(source).fit(X[train]).metric_data(X[train])
        md_test = clone(source).fit(X[train]).metric_data(X[test])
        kw = "jacobians" if md_train.jacobians is not None else "covariances"
        eps = search.best_params_["dmap__epsilon"]
        dmap = MahalanobisDiffusionMap(epsilon=eps, rank=2, random_state=0)
        Z = dmap.fit_transform(md_train.observations, **{kw: getattr(md_train, kw)})
        reg = Ridge(alpha=1e-3).fit(Z, target[train])
        Zt = dmap.transform(md_test.observations, **{kw: getattr(md_test, kw)})
        ref.append(reg.score(Zt, target[test]))
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"][search.best_index_],
        np.mean(ref),
        rtol=1e-8,
    )
    assert search.best_score_ > 0.9
