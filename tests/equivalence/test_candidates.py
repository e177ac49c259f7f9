"""NetworkTransform's choice of map by inner cross-validation, and what it says."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skequiv import NetworkTransform
from skequiv.equivalence import CandidateFailedWarning, EuclideanMetricWarning

pytestmark = pytest.mark.filterwarnings(
    "ignore::skequiv.equivalence.EuclideanMetricWarning"
)


def _clusters(n=600, seed=0):
    """Ten clusters in 10-D (like logits) and a smooth nonlinear image of them."""
    rng = np.random.default_rng(seed)
    centres = 4 * rng.normal(size=(10, 10))
    a = centres[rng.integers(0, 10, n)] + 0.5 * rng.normal(size=(n, 10))
    b = (
        np.tanh(a[:, :6] @ rng.normal(size=(6, 8)) / 4)
        + 0.1 * np.sin(a[:, 6:8].sum(1))[:, None]
    )
    return a, b


def _ridge_score(a_tr, b_tr, a_te, b_te):
    ridge = make_pipeline(StandardScaler(), RidgeCV(np.logspace(-4, 4, 17)))
    pred = ridge.fit(a_tr, b_tr).predict(a_te)
    r2 = 1 - ((b_te - pred) ** 2).sum(0) / ((b_te - b_te.mean(0)) ** 2).sum(0)
    return float(r2.mean())


def test_the_chosen_map_has_the_best_inner_score_and_beats_ridge_held_out():
    a, b = _clusters()
    T = NetworkTransform(random_state=0).fit(a[:450], b[:450])
    scores = T.candidate_scores_
    assert set(scores) == {"intrinsic", "kernel_ridge", "ridge"}
    finite = {k: v for k, v in scores.items() if np.isfinite(v)}
    assert T.selected_transform_ == max(finite, key=finite.get)
    reference = _ridge_score(a[:450], b[:450], a[450:], b[450:])
    assert T.score(a[450:], b[450:]) >= reference  # the nonlinear map is better
    assert T.selected_transform_ != "ridge"


def test_a_single_candidate_skips_the_inner_cv():
    a, b = _clusters(200)
    T = NetworkTransform(candidates="ridge").fit(a, b)
    assert T.selected_transform_ == "ridge" and T.embedding_ is None
    assert np.isnan(T.candidate_scores_["ridge"])
    # the reference: the same ridge map fitted by scikit-learn directly
    ref = make_pipeline(StandardScaler(), RidgeCV(np.logspace(-6, 4, 21)))
    np.testing.assert_allclose(T.predict(a), ref.fit(a, b).predict(a), rtol=1e-6)


class _Broken(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        raise RuntimeError("the embedding broke")

    def transform(self, X):  # pragma: no cover - never fitted
        return X


def test_a_failing_candidate_warns_and_is_left_out():
    a, b = _clusters(200)
    with pytest.warns(
        CandidateFailedWarning, match="'intrinsic' failed.*embedding broke"
    ) as record:
        T = NetworkTransform(embedding=_Broken(), random_state=0).fit(a, b)
    # raised inside the inner cross-validation, it points at the caller's line
    assert {w.filename for w in record} == {__file__}
    assert np.isnan(T.candidate_scores_["intrinsic"])
    assert T.selected_transform_ in ("kernel_ridge", "ridge")


def test_a_single_failing_candidate_raises_its_own_error():
    a, b = _clusters(200)
    with pytest.raises(RuntimeError, match="the embedding broke"):
        NetworkTransform(embedding=_Broken(), candidates="intrinsic").fit(a, b)


def test_every_candidate_failing_raises(monkeypatch):
    from skequiv.equivalence import _network_transform

    def broken(self, *args):
        raise RuntimeError(f"{args[0]} broke")

    monkeypatch.setattr(_network_transform.NetworkTransform, "_fold_score", broken)
    a, b = _clusters(200)
    with pytest.warns(CandidateFailedWarning):
        with pytest.raises(ValueError, match=r"every candidate failed.*broke"):
            NetworkTransform(random_state=0).fit(a, b)


def test_unknown_candidate_is_a_clear_error():
    a, b = _clusters(100)
    with pytest.raises(ValueError, match="candidates"):
        NetworkTransform(candidates=["ridge", "lasso"]).fit(a, b)


torch = pytest.importorskip("torch")


def _net():
    gen = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(1, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2)
    )
    for p in net.parameters():
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=gen))
    return net.double()


@pytest.mark.filterwarnings("default::skequiv.equivalence.EuclideanMetricWarning")
def test_a_pipeline_from_activations_says_it_runs_euclidean():
    from sklearn.pipeline import Pipeline

    from skequiv import NetworkActivations

    X = np.random.default_rng(0).uniform(-1, 1, size=(120, 1))
    pipe = Pipeline(
        [
            ("acts", NetworkActivations(_net(), layers=("output",), dtype="float64")),
            ("T", NetworkTransform(random_state=0)),
        ]
    )
    with pytest.warns(EuclideanMetricWarning, match=r"Euclidean.*network path"):
        pipe.fit(X, np.sin(3 * X))


def test_y_on_the_network_path_with_source_b_is_an_error():
    from skequiv import NetworkActivations

    X = np.random.default_rng(0).uniform(-1, 1, size=(120, 1))
    source = NetworkActivations(_net(), layers=("output",), dtype="float64")
    T = NetworkTransform(source_a=source, source_b=source, candidates="ridge")
    with pytest.raises(ValueError, match="y would be ignored"):
        T.fit(X, X)
    T.fit(X)
    assert T.score(X) > 0.99  # B is A here
    with pytest.raises(ValueError, match="y would be ignored"):
        T.score(X, X)
