"""The digits experiment: equivalence on classifiers as researchers train them.

Each test compares against an independent reference: a linear ridge map
(scikit-learn's ``RidgeCV`` on standardised activations) fitted on the very
split the report used. The networks are trained once per session
(``conftest.py``).
"""

import numpy as np
import pytest
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skequiv import NetworkActivations, equivalence_report
from skequiv.equivalence._report import VERDICTS

pytestmark = [
    pytest.mark.slow,
    # the intrinsic candidate's metric on saturating tanh/ReLU units has
    # sample-dependent rank; the diffusion map says so, expectedly
    pytest.mark.filterwarnings("ignore:The local metric has different ranks"),
]

N_PERMUTATIONS = 99  # p-value floor 0.01


def _sources(data, layer):
    return (
        NetworkActivations(data.net_a, layers=(layer,)),
        NetworkActivations(data.net_b, layers=(layer,)),
    )


def _report(data, layer, **kwargs):
    source_a, source_b = _sources(data, layer)
    kwargs = {
        "n_permutations": N_PERMUTATIONS,
        "n_bootstrap": 300,
        "random_state": 0,
        **kwargs,
    }
    report = equivalence_report(source_a, source_b, data.X_train, **kwargs)
    print(report)
    return report


def _ridge_scores(data, layer, report):
    """Held-out R² both ways of a ridge map fitted on the report's split."""
    source_a, source_b = _sources(data, layer)
    a = source_a.fit(data.X_train).transform(data.X_train)
    b = source_b.fit(data.X_train).transform(data.X_train)
    train, test = report.train_index, report.test_index
    scores = []
    for src, dst in ((a, b), (b, a)):
        ridge = make_pipeline(StandardScaler(), RidgeCV(np.logspace(-4, 4, 17)))
        ridge.fit(src[train], dst[train])
        pred, truth = ridge.predict(src[test]), dst[test]
        varying = truth.var(0) > 1e-12 * truth.var(0).max()  # dead units left out
        truth, pred = truth[:, varying], pred[:, varying]
        r2 = 1 - ((truth - pred) ** 2).sum(0) / ((truth - truth.mean(0)) ** 2).sum(0)
        scores.append(float(np.mean(r2)))
    return scores


def _assert_equivalent_and_beats_ridge(data, layer):
    report = _report(data, layer)
    ridge_ab, ridge_ba = _ridge_scores(data, layer, report)
    print(f"ridge on the same split: A→B {ridge_ab:.4f}, B→A {ridge_ba:.4f}")
    assert report.verdict == "equivalent"
    assert report.score_ab >= ridge_ab and report.score_ba >= ridge_ba
    assert report.p_value == pytest.approx(1 / (N_PERMUTATIONS + 1))


@pytest.mark.parametrize("layer", ["output", "act_0"])
def test_same_task_mlps_are_equivalent_and_beat_ridge(digits_mlp, layer):
    _assert_equivalent_and_beats_ridge(digits_mlp, layer)


@pytest.mark.parametrize("layer", ["output", "act_2"])
def test_same_task_cnns_are_equivalent_and_beat_ridge(digits_cnn, layer):
    _assert_equivalent_and_beats_ridge(digits_cnn, layer)


def test_digit_to_parity_is_one_way(digits_mlp_parity):
    # the parity is a function of the digit's logits; the digit is not of
    # the parity's two logits
    report = _report(digits_mlp_parity, "output")
    assert report.verdict == "one-way" and report.direction == "A->B"
    assert report.score_ba < 0.6


def test_shuffled_labels_are_not_equivalent(digits_mlp_shuffled):
    report = _report(digits_mlp_shuffled, "output")
    assert report.verdict == "not equivalent"
    assert report.interval_ab[1] < 0.95 and report.interval_ba[1] < 0.95


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.filterwarnings("ignore::skequiv.equivalence.EuclideanMetricWarning")
@pytest.mark.parametrize("n", [300, 322, 1797])
def test_logits_and_probabilities_run_at_any_n(digits_mlp, n):
    data = digits_mlp
    X = np.vstack([data.X_train, data.X_test])[:n]
    a_src, b_src = _sources(data, "output")
    logits_a = a_src.fit(X).transform(X)
    logits_b = b_src.fit(X).transform(X)
    from sklearn.naive_bayes import GaussianNB

    # GaussianNB's probabilities are 0 or 1 to many digits: the hard case
    nb = GaussianNB().fit(data.X_train, data.y_train).predict_proba(X)
    pairs = {
        "logits": (logits_a, logits_b),
        "probabilities": (_softmax(logits_a), _softmax(logits_b)),
        "GaussianNB vs net": (nb, _softmax(logits_b)),
    }
    for name, (a, b) in pairs.items():
        report = equivalence_report(
            a, b, n_permutations=19, n_bootstrap=50, random_state=0
        )
        assert np.isfinite([report.score_ab, report.score_ba]).all(), name
        assert report.verdict in VERDICTS, name


@pytest.mark.filterwarnings("ignore::skequiv.equivalence.EuclideanMetricWarning")
def test_grid_search_over_epsilon_is_finite_and_reproduces_the_default(digits_mlp):
    from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

    from skequiv import MahalanobisDiffusionMap, NetworkTransform

    data = digits_mlp
    X = data.X_train[:600]
    a_src, b_src = _sources(data, "output")
    a, b = a_src.fit(X).transform(X), b_src.fit(X).transform(X)
    cv = KFold(3, shuffle=True, random_state=0)
    # the default embedding, spelled out with constructor parameters only
    explicit = NetworkTransform(
        embedding=MahalanobisDiffusionMap(n_components=4, random_state=0),
        candidates="intrinsic",
    )
    # logits lie tens apart: ε (a squared length) of 10² to 10⁴
    grid = {"embedding__epsilon": ["bgh", 100.0, 1000.0, 10000.0]}
    search = GridSearchCV(explicit, grid, cv=cv, error_score="raise").fit(a, b)
    scores = search.cv_results_["mean_test_score"]
    print(dict(zip(grid["embedding__epsilon"], scores, strict=True)))
    assert np.all(np.isfinite(scores))
    default = NetworkTransform(candidates="intrinsic", random_state=0)
    assert scores[0] == pytest.approx(cross_val_score(default, a, b, cv=cv).mean())
    # a kernel far too narrow for the data fails loudly, naming the fix
    too_small = GridSearchCV(
        explicit, {"embedding__epsilon": [1.0]}, cv=cv, error_score="raise"
    )
    with pytest.raises(ValueError, match="epsilon=1 is so small"):
        too_small.fit(a, b)
