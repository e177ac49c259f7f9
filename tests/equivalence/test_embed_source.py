"""NetworkTransform.embed_source + fit_embedded: A's side once, the numbers of fit."""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_selection import SelectKBest, f_regression
from sklearn.neighbors import KNeighborsRegressor

from skequiv import NetworkActivations, NetworkTransform
from skequiv.equivalence import CandidateFailedWarning

pytestmark = pytest.mark.filterwarnings(
    "ignore::skequiv.equivalence.EuclideanMetricWarning",
    "ignore:Only .* samples with rank-deficient metric data",
)


@pytest.fixture(scope="module")
def curve():
    """A's activations on a curve, their Jacobians, and two targets."""
    x = np.random.default_rng(0).uniform(-1, 1, size=(320, 1))
    a = np.hstack([np.tanh(2 * x), x**3 + x])
    jac = np.stack([2 / np.cosh(2 * x) ** 2, 3 * x**2 + 1], axis=1)
    targets = [np.hstack([np.sin(2 * x), np.exp(x)]), np.cos(3 * x).ravel()]
    return a, jac, targets


def assert_same_fit(T, ref, a, metadata):
    assert T.selected_transform_ == ref.selected_transform_
    np.testing.assert_array_equal(
        list(T.candidate_scores_.values()), list(ref.candidate_scores_.values())
    )
    np.testing.assert_array_equal(T.predict(a, **metadata), ref.predict(a, **metadata))


@pytest.mark.parametrize(
    "params",
    [
        {"candidates": "auto"},
        {"candidates": "intrinsic"},
        # each cached candidate selected and fitted on all rows
        {"candidates": ["intrinsic", "ridge"]},
        {"candidates": ["kernel_ridge", "ridge"]},
        # nothing to embed: the intrinsic candidate regresses on A directly
        {"embedding": "passthrough", "regressor": KNeighborsRegressor(5)},
    ],
    ids=["auto", "intrinsic", "intrinsic-ridge", "kernel-ridge", "passthrough"],
)
def test_fit_embedded_is_fit_for_every_target(curve, params):
    a, jac, targets = curve
    train, test = slice(0, 240), slice(240, None)
    params = {**params, "random_state": 0}
    if params.get("embedding") == "passthrough":
        jac = np.zeros_like(jac)[:, :, :0]  # no metric data: nothing takes it
    source = NetworkTransform(**params).embed_source(a[train], **metric(jac, train))
    for y in targets:  # one precomputed A serves several targets
        ref = NetworkTransform(**params).fit(a[train], y[train], **metric(jac, train))
        with warnings.catch_warnings():
            warnings.simplefilter("error", CandidateFailedWarning)
            T = NetworkTransform(**params).fit_embedded(source, y[train])
        assert_same_fit(T, ref, a[test], metric(jac, test))
        assert T.predict(a[test], **metric(jac, test)).shape == y[test].shape
    # the null (permutation_scores) reuses what fit_embedded kept
    perms = [np.random.default_rng(k).permutation(240) for k in range(3)]
    np.testing.assert_array_equal(
        T.permutation_scores(a[test], y[test], permutations=perms, **metric(jac, test)),
        ref.permutation_scores(
            a[test], y[test], permutations=perms, **metric(jac, test)
        ),
    )


def metric(jac, rows):
    """``{"jacobians": jac[rows]}``, or nothing where ``jac`` has no columns."""
    return {"jacobians": jac[rows]} if jac.shape[-1] else {}


def test_the_embedding_is_fitted_once_per_fold_and_once_whole(curve, monkeypatch):
    from skequiv import MahalanobisDiffusionMap

    a, jac, targets = curve
    calls = []
    original = MahalanobisDiffusionMap.fit

    def counting(self, X, *args, **kwargs):
        calls.append(X.shape[0])
        return original(self, X, *args, **kwargs)

    monkeypatch.setattr(MahalanobisDiffusionMap, "fit", counting)
    source = NetworkTransform(cv=3, random_state=0).embed_source(a, jacobians=jac)
    assert sorted(calls) == [213, 213, 214, 320]  # 3 inner folds, all samples
    for y in targets:
        NetworkTransform(cv=3, random_state=0).fit_embedded(source, y)
    assert len(calls) == 4  # none per target


def test_target_free_work_is_done_once_per_fold_and_once_whole(curve, monkeypatch):
    """Kernel eigenpairs and Nyström features: in embed_source, none per target."""
    from skequiv import GeometricHarmonicsRegressor
    from skequiv.equivalence._candidates import MedianGaussianFeatures

    a, jac, targets = curve
    calls = {"eigh": [], "nystroem": []}
    eigendecompose = GeometricHarmonicsRegressor.eigendecompose
    nystroem = MedianGaussianFeatures.fit

    def counting_eigh(self, X):
        calls["eigh"].append(X.shape[0])
        return eigendecompose(self, X)

    def counting_nystroem(self, X, y=None):
        calls["nystroem"].append(X.shape[0])
        return nystroem(self, X, y)

    monkeypatch.setattr(GeometricHarmonicsRegressor, "eigendecompose", counting_eigh)
    monkeypatch.setattr(MedianGaussianFeatures, "fit", counting_nystroem)
    source = NetworkTransform(cv=3, random_state=0).embed_source(a, jacobians=jac)
    for name in calls:  # 3 inner folds, all samples
        assert sorted(calls[name]) == [213, 213, 214, 320], name
    for y in targets:
        T = NetworkTransform(cv=3, random_state=0).fit_embedded(source, y)
        assert T.regressor_ is not None
    assert all(len(c) == 4 for c in calls.values())  # none per target


class _Broken(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        raise RuntimeError("the embedding broke")

    def transform(self, X):
        return X


def test_a_failing_embedding_fails_where_fit_fails(curve):
    a, _, (y, _) = curve
    T = NetworkTransform(embedding=_Broken(), random_state=0)
    source = T.embed_source(a)  # the error is kept, not raised here
    with pytest.warns(CandidateFailedWarning, match="'intrinsic' failed.*broke"):
        T.fit_embedded(source, y)
    assert np.isnan(T.candidate_scores_["intrinsic"])
    single = NetworkTransform(embedding=_Broken(), candidates="intrinsic")
    with pytest.raises(RuntimeError, match="the embedding broke"):
        single.fit_embedded(single.embed_source(a), y)


def test_bad_use_is_a_clear_error(curve):
    a, jac, (y, _) = curve
    source = NetworkTransform(random_state=0).embed_source(a, jacobians=jac)
    with pytest.raises(ValueError, match="other parameters"):
        NetworkTransform(random_state=1).fit_embedded(source, y)
    with pytest.raises(ValueError, match="other parameters"):
        NetworkTransform(cv=4, random_state=0).fit_embedded(source, y)
    with pytest.raises(TypeError, match="what embed_source returned"):
        NetworkTransform().fit_embedded(a, y)
    with pytest.raises(ValueError, match="selector"):
        NetworkTransform(selector=SelectKBest(f_regression, k=1)).embed_source(a)
    with pytest.raises(ValueError, match="source_a=None"):
        NetworkTransform(source_a=NetworkActivations(None)).embed_source(a)
    with pytest.raises(ValueError, match="RandomState"):
        NetworkTransform(random_state=np.random.RandomState(0)).embed_source(a)
    with pytest.raises(ValueError, match="jacobians"):
        NetworkTransform().embed_source(a, jacobians=jac[:10])
