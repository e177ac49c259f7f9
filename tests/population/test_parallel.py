"""pairwise_similarity on joblib backends and a Dask cluster: same numbers."""

import threading
import time

import joblib
import numpy as np
import pytest
import torch
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsRegressor

from skequiv import NetworkActivations, NetworkTransform
from skequiv.population import (
    EquivalenceScore,
    available_measures,
    pairwise_similarity,
)


def linear_cka(X, Y):
    """Kornblith et al. (2019), linear CKA from centred cross-covariances."""
    X, Y = X - X.mean(0), Y - Y.mean(0)
    return np.linalg.norm(X.T @ Y) ** 2 / (
        np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y)
    )


class CKA:
    symmetric = True

    def prepare(self, X):
        X = X - X.mean(axis=0)
        return X / np.linalg.norm(X.T @ X) ** 0.5

    def compare(self, a, b):
        return float(np.linalg.norm(a.T @ b) ** 2)


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).uniform(-1, 1, size=(120, 2))


@pytest.fixture(scope="module")
def networks(X, nets):
    funcs = [lambda X: np.sin(3 * X[:, :1]), lambda X: X[:, :1] * X[:, 1:]]
    return [nets.fitted_net(funcs[k % 2], X, seed=k, width=8) for k in range(5)]


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        dashboard_address=":0",  # a free port: each xdist worker starts its own cluster
    )
    with cluster, distributed.Client(cluster) as client:
        yield client


# The paper's route on the small test population fits diffusion maps on 60-90
# training rows and warns that invariance under y -> A y needs ~300; these tests
# are about where the pairs run, not about the score.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Only [0-9]+ samples with rank-deficient metric data:UserWarning"
)

MEASURES = {
    "cka": CKA(),
    **{name: name for name in available_measures() if name != "equivalence"},
    # a cheap transform: these tests are about where pairs run, not the score;
    # all three candidates run (the kernel ridge one through scikit-learn's
    # pairwise_kernels, which splits its work over nested joblib jobs)
    # seeded: its inner cross-validation draws random numbers, and with
    # random_state=None two runs may differ whatever backend runs them
    "equivalence": EquivalenceScore(
        NetworkTransform(embedding="passthrough", regressor=Ridge(), random_state=0)
    ),
    # the paper's route: Jacobians, diffusion maps (ARPACK), geometric harmonics
    "equivalence_default": EquivalenceScore(),
}


def names(*only):
    """Measure names as test parameters; the paper's route (seconds a pair) is slow."""
    slow = pytest.mark.slow
    return [
        pytest.param(n, marks=slow) if n == "equivalence_default" else n
        for n in only or MEASURES
    ]


@pytest.fixture(scope="module")
def serial(networks, X):
    """The n_jobs=1 matrix of each measure, computed once (the paper's route on
    three networks: it costs seconds a pair)."""
    cache = {}

    def matrix(name):
        if name not in cache:
            nets = networks[:3] if name == "equivalence_default" else networks
            cache[name] = (
                nets,
                pairwise_similarity(
                    nets,
                    X,
                    measure=MEASURES[name],
                    layers="1",
                    n_jobs=1,
                    progress=False,
                ),
            )
        return cache[name]

    return matrix


@pytest.mark.parametrize("name", names())
def test_dask_cluster_gives_exactly_the_serial_matrix(client, serial, X, name):
    nets, expected = serial(name)
    with joblib.parallel_config(backend="dask"):
        on_dask = pairwise_similarity(
            nets, X, measure=MEASURES[name], layers="1", n_jobs=-1, progress=False
        )
    np.testing.assert_array_equal(on_dask, expected)


@pytest.mark.parametrize("name", names("equivalence", "equivalence_default"))
@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_joblib_backends_give_exactly_the_serial_matrix(serial, X, backend, name):
    nets, expected = serial(name)
    with joblib.parallel_config(backend=backend):
        parallel = pairwise_similarity(
            nets, X, measure=MEASURES[name], layers="1", n_jobs=2, progress=False
        )
    np.testing.assert_array_equal(parallel, expected)


class _FirstPairsFinishLast:
    """A directed measure whose first pairs take longest (threads reorder them)."""

    symmetric = False

    def __init__(self):
        self.calls = []

    def prepare(self, X):
        return np.asarray(X, dtype=np.float64)

    def compare(self, a, b):
        self.calls.append(None)
        # pairs are submitted row by row: the earlier the pair, the longer
        time.sleep(0.002 * max(0, 16 - len(self.calls)))
        return float(a.mean() - 2 * b.mean())


def test_the_matrix_does_not_depend_on_completion_order():
    rng = np.random.default_rng(0)
    acts = [rng.normal(loc=i, size=(30, 4)) for i in range(4)]
    means = np.array([a.mean() for a in acts])
    expected = means[:, None] - 2 * means[None, :]
    with joblib.parallel_config(backend="threading"):
        matrix = pairwise_similarity(
            acts, measure=_FirstPairsFinishLast(), n_jobs=4, progress=False
        )
    np.testing.assert_array_equal(matrix, expected)


def test_nested_joblib_calls_run_in_the_task(client, networks, X):
    # the cause of a former ~1e-9 difference on Dask: a task's nested joblib
    # calls saw the whole cluster (parallel_config(backend="dask")) and
    # scikit-learn split its kernels into slices that round differently
    class NestedJobs(CKA):
        symmetric = False

        def compare(self, a, b):
            return float(joblib.effective_n_jobs(None))

    with joblib.parallel_config(backend="dask"):
        M = pairwise_similarity(
            networks[:2], X, measure=NestedJobs(), n_jobs=-1, progress=False
        )
    np.testing.assert_array_equal(M, 1.0)


def test_network_sources_match_their_activations(networks, X):
    acts = [
        NetworkActivations(net, layers=("1",)).fit(X).transform(X) for net in networks
    ]
    expected = [[linear_cka(a, b) for b in acts] for a in acts]
    kinds = [
        networks[0],
        NetworkActivations(networks[1], layers=("1",)),
        acts[2],
        torch.as_tensor(acts[3]),
        networks[4],
    ]
    M = pairwise_similarity(kinds, X, measure=CKA(), layers="1", progress=False)
    np.testing.assert_allclose(M, expected, rtol=1e-6)
    np.testing.assert_allclose(np.diag(M), 1.0, rtol=1e-6)


def test_per_source_layers(networks, X):
    M = pairwise_similarity(
        networks[:2], X, measure=CKA(), layers=[["1"], ["output"]], progress=False
    )
    a = NetworkActivations(networks[0], layers="1").fit(X).transform(X)
    b = NetworkActivations(networks[1], layers="output").fit(X).transform(X)
    assert M[0, 1] == pytest.approx(linear_cka(a, b), rel=1e-6)


class Locked(torch.nn.Module):
    """A module that holds a lock: it cannot be pickled, even by cloudpickle."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 3)
        self.lock = threading.Lock()

    def forward(self, x):
        return self.linear(x)


def test_unpicklable_module_under_processes_is_refused_up_front(X, networks):
    with (
        joblib.parallel_config(backend="loky"),
        pytest.raises(TypeError, match=r"sources\[1\].*cannot be pickled.*activations"),
    ):
        pairwise_similarity([networks[0], Locked()], X, measure=CKA(), n_jobs=2)
    # in one process (threads) it is fine
    with joblib.parallel_config(backend="threading"):
        M = pairwise_similarity([networks[0], Locked()], X, measure=CKA(), n_jobs=2)
    assert M.shape == (2, 2)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"measure": "no such measure"}, ValueError, "not a known measure"),
        ({"measure": object()}, TypeError, "prepare"),
        ({"layers": [["1"], ["1"], ["1"]]}, ValueError, "one per source"),
    ],
)
def test_bad_arguments(networks, X, kwargs, error, match):
    with pytest.raises(error, match=match):
        pairwise_similarity(networks[:2], X, progress=False, **kwargs)


def test_bad_populations(networks, X):
    with pytest.raises(ValueError, match="at least 2"):
        pairwise_similarity(networks[:1], X, measure=CKA())
    with pytest.raises(ValueError, match=r"sources\[0\].*could not be evaluated"):
        pairwise_similarity(networks[:2], X[:, :1], measure=CKA())
    with pytest.raises(ValueError, match="different numbers of samples"):
        pairwise_similarity([X, X[:50]], measure=CKA())
    with pytest.raises(ValueError, match="X=None"):
        pairwise_similarity(networks[:2], measure=CKA())
    with pytest.raises(ValueError, match="test_size"):
        pairwise_similarity([X[:4], X[:4]], measure=EquivalenceScore(Ridge()))


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((60, 3)), r"sources\[1\]: the activations are constant"),
        (1e200, r"sources\[1\]: .*magnitude [0-9.]+e\+200.*rescale"),
        (1e-200, r"sources\[1\]: .*underflow.*rescale"),
        (np.full((60, 3), "x"), r"sources\[1\]: .*must be numeric.*<U1"),
    ],
)
def test_activations_no_measure_can_compare_are_refused_naming_the_source(
    X, bad, match
):
    # refused where they enter, for every measure, before any pair is compared
    acts = np.tanh(X[:60]) @ np.ones((X.shape[1], 3)) + np.arange(3)
    bad = acts * bad if isinstance(bad, float) else bad
    for measure in (CKA(), EquivalenceScore(Ridge())):
        with pytest.raises(ValueError, match=match):
            pairwise_similarity([acts, bad, acts], measure=measure, progress=False)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(
    "transform",
    [
        NetworkTransform(embedding="passthrough", regressor=KNeighborsRegressor(10)),
        None,  # the default: the paper's route among the candidates, with Jacobians
    ],
    ids=["knn", "default"],
)
def test_digit_classifier_predicts_parity_classifier_not_the_converse(transform):
    from skequiv.datasets import load_experiment

    data = load_experiment("digits", architecture="mlp", task_b="parity")
    X = np.vstack([data.X_train, data.X_test])[:800]
    M = pairwise_similarity(
        [data.net_a, FrozenEstimator(data.net_b.estimator)],
        X,
        measure=EquivalenceScore(transform),
        progress=False,
    )
    assert M[0, 1] > 0.9  # parity is a function of the digit
    assert M[1, 0] < 0.5  # the digit is not a function of parity
    assert M[0, 1] - M[1, 0] > 0.5
