"""The directed score: network i's side prepared once, numbers of a direct fit."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from skequiv import MahalanobisDiffusionMap, NetworkActivations, NetworkTransform
from skequiv.equivalence import EuclideanMetricWarning
from skequiv.population import EquivalenceScore, pairwise_similarity


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(1).uniform(-1, 1, size=(160, 2))


@pytest.fixture(scope="module")
def networks(X, nets):
    funcs = [
        lambda X: np.sin(3 * X[:, :1]) + X[:, 1:],
        lambda X: X[:, :1] * X[:, 1:],
        lambda X: np.c_[np.cos(2 * X[:, 0]), X[:, 1] ** 2],
    ]
    return [nets.fitted_net(f, X, seed=k, width=6) for k, f in enumerate(funcs)]


def direct(net_i, net_j, X, train, test, **params):
    """What a user gets from NetworkTransform on the network path, pair by pair."""
    T = NetworkTransform(
        source_a=NetworkActivations(net_i, layers="1"),
        source_b=NetworkActivations(net_j, layers="1"),
        random_state=0,
        **params,
    )
    return T.fit(X[train]).score(X[test])


def test_each_entry_is_the_direct_network_path_fit(networks, X):
    pair = networks[1:]  # 1 and 2 outputs
    score = EquivalenceScore()  # NetworkTransform(random_state=0)
    with warnings.catch_warnings():
        # network sources bring their Jacobians: the Mahalanobis metric is used
        warnings.simplefilter("error", EuclideanMetricWarning)
        M = pairwise_similarity(pair, X, measure=score, layers="1", progress=False)
    train, test = score.split(len(X))
    expected = [[direct(a, b, X, train, test) for b in pair] for a in pair]
    np.testing.assert_allclose(M, expected, rtol=0, atol=1e-10)
    assert M[0, 1] != M[1, 0]


pytestmark = pytest.mark.filterwarnings(
    "ignore:Only .* samples with rank-deficient metric data"
)


class CountingMap(MahalanobisDiffusionMap):
    fits = 0

    def fit(self, X, y=None, *, jacobians=None, covariances=None):
        type(self).fits += 1
        return super().fit(X, jacobians=jacobians, covariances=covariances)


def test_embeddings_are_fitted_once_per_network(networks, X, monkeypatch):
    from skequiv import GeometricHarmonicsRegressor
    from skequiv.equivalence._candidates import MedianGaussianFeatures

    # and geometric harmonics' kernel eigenpairs and the Nyström features
    counts = {"eigh": 0, "nystroem": 0}
    eigendecompose, nystroem = (
        GeometricHarmonicsRegressor.eigendecompose,
        MedianGaussianFeatures.fit,
    )

    def counting_eigh(self, Z):
        counts["eigh"] += 1
        return eigendecompose(self, Z)

    def counting_nystroem(self, Z, y=None):
        counts["nystroem"] += 1
        return nystroem(self, Z, y)

    monkeypatch.setattr(GeometricHarmonicsRegressor, "eigendecompose", counting_eigh)
    monkeypatch.setattr(MedianGaussianFeatures, "fit", counting_nystroem)
    # one per inner fold and one on all training rows, for each network
    transform = NetworkTransform(
        embedding=CountingMap(n_components=4), cv=3, random_state=0
    )
    CountingMap.fits = 0
    M = pairwise_similarity(
        networks, X, measure=EquivalenceScore(transform), layers="1", progress=False
    )
    # a refit per pair would make len(networks) ** 2 * 3 fold fits
    assert CountingMap.fits == len(networks) * (3 + 1)
    assert counts == {"eigh": len(networks) * 4, "nystroem": len(networks) * 4}
    train, test = EquivalenceScore().split(len(X))
    assert M[2, 0] == pytest.approx(
        direct(
            networks[2],
            networks[0],
            X,
            train,
            test,
            embedding=CountingMap(n_components=4),
        ),
        abs=1e-10,
    )


def test_array_sources_give_the_direct_array_path_fit(networks, X):
    acts = [NetworkActivations(n, layers="1").fit(X).transform(X) for n in networks]
    score = EquivalenceScore()
    with pytest.warns(EuclideanMetricWarning):  # arrays bring no Jacobians
        M = pairwise_similarity(acts[:2], measure=score, progress=False)
    train, test = score.split(len(X))
    T = NetworkTransform(random_state=0)
    with pytest.warns(EuclideanMetricWarning):
        T.fit(acts[1][train], acts[0][train])
    assert M[1, 0] == pytest.approx(T.score(acts[1][test], acts[0][test]), abs=1e-10)


@pytest.mark.parametrize(
    "transform, uses",
    [
        (None, True),
        (NetworkTransform(embedding=MahalanobisDiffusionMap()), True),
        (NetworkTransform(embedding="passthrough"), False),
        (NetworkTransform(candidates=["ridge", "kernel_ridge"]), False),
        (Ridge(), False),
    ],
)
def test_jacobians_are_read_only_where_a_diffusion_map_uses_them(transform, uses):
    assert EquivalenceScore(transform).uses_metric_data is uses
