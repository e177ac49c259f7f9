"""Every public name: covered here, deterministic, leaves its inputs alone,
and (estimators, reports) survives pickling with the same results."""

import pickle

import numpy as np
import pytest

import skequiv

from ._outcomes import origin
from ._subjects import COVERED_ELSEWHERE, SUBJECTS, curve, data_for, small_net

# every public name runs on tiny data (40-60 samples, arrays without
# Jacobians): the diffusion map's small-sample and Euclidean-metric warnings,
# and Lasso's non-convergence on random units, are expected and beside the
# contract (same result twice, inputs untouched, pickling)
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:Only .* samples with rank-deficient metric data:UserWarning"
    ),
    pytest.mark.filterwarnings("ignore::skequiv.equivalence.EuclideanMetricWarning"),
    pytest.mark.filterwarnings(
        "ignore:Objective did not converge:sklearn.exceptions.ConvergenceWarning"
    ),
]


def test_every_public_name_is_covered():
    covered = {subject.name.split("[")[0] for subject in SUBJECTS}
    missing = set(skequiv._PUBLIC) - covered - set(COVERED_ELSEWHERE)
    assert not missing, (
        f"public names without a subject in tests/properties/_subjects.py: "
        f"{sorted(missing)}"
    )


@pytest.mark.parametrize("subject", SUBJECTS, ids=repr)
def test_same_result_twice_and_inputs_untouched(subject):
    data = data_for(subject)
    before = {key: value.copy() for key, value in data.items()}
    first = subject(data)
    second = subject(data)
    for key, value in data.items():
        np.testing.assert_array_equal(value, before[key], err_msg=f"{key} mutated")
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def _fitted():
    """name -> (fitted object, function of it giving arrays)."""
    d = curve(60)
    X, J, Y, Z, t = d["X"], d["J"], d["Y"], d["Z"], d["t"]
    transform = skequiv.NetworkTransform(random_state=0).fit(X, Y)
    report = skequiv.equivalence_report(
        X, Y, n_permutations=3, n_bootstrap=10, random_state=0
    )
    return {
        "MahalanobisDiffusionMap": (
            skequiv.MahalanobisDiffusionMap(2, random_state=0).fit(X, jacobians=J),
            lambda m: m.transform(X[:7], jacobians=J[:7]),
        ),
        "NetworkActivations": (
            skequiv.NetworkActivations(small_net()).fit(X),
            lambda m: (m.transform(X), m.jacobian(X[:5])),
        ),
        "GeometricHarmonicsRegressor": (
            skequiv.GeometricHarmonicsRegressor().fit(X, Y),
            lambda m: m.predict(X + 0.01),
        ),
        "WhitneyFeatureSelector": (
            skequiv.WhitneyFeatureSelector(3, cv=3, random_state=0).fit(Z, t),
            lambda m: m.transform(Z),
        ),
        "NetworkTransform": (transform, lambda m: m.predict(X + 0.01)),
        "NeuronMatching": (
            skequiv.NeuronMatching().fit(X, Y),
            lambda m: (m.transform(X), m.score(X, Y)),
        ),
        "SparseNeuronPrediction": (
            skequiv.SparseNeuronPrediction(alpha=1e-3).fit(X, Y),
            lambda m: m.predict(X),
        ),
        "NeuronCoclustering": (
            skequiv.NeuronCoclustering(n_clusters=2, n_init=2, random_state=0).fit(
                X, Y
            ),
            lambda m: m.transform(X),
        ),
        "EquivalenceReport": (
            report,
            lambda r: (r.score_ab, r.score_ba, r.null_scores_ab, r.p_value),
        ),
    }


def test_pickled_objects_give_the_same_results():
    for name, (obj, results) in _fitted().items():
        restored = pickle.loads(pickle.dumps(obj))
        before, after = results(obj), results(restored)
        before = before if isinstance(before, tuple) else (before,)
        after = after if isinstance(after, tuple) else (after,)
        for a, b in zip(before, after, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)


def test_plots_draw_what_they_are_given_and_refuse_anything_else():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = curve(60)
    X, Y = d["X"], d["Y"]
    matching = skequiv.NeuronMatching().fit(X, Y)
    coclustering = skequiv.NeuronCoclustering(n_clusters=2, n_init=2).fit(X, Y)
    path = skequiv.sparse_prediction_path(X, Y, alphas=4, cv=2)
    cases = [
        (skequiv.plot_similarity_matrix, matching, "matching"),
        (skequiv.plot_matched_similarity, matching, "matching"),
        (skequiv.plot_coclusters, coclustering, "coclustering"),
        (skequiv.plot_sparse_prediction_path, path, "path"),
    ]
    unfitted = {"matching": skequiv.NeuronMatching(), "path": None}
    unfitted["coclustering"] = skequiv.NeuronCoclustering()
    try:
        for plot, good, param in cases:
            assert plot(good) is not None
            for bad in (X, None, "figure", unfitted[param], cases[0][1]):
                if bad is good:
                    continue
                with pytest.raises((TypeError, ValueError)) as info:
                    plot(bad)
                message = str(info.value)
                # validate_params (in scikit-learn) names the parameter itself
                validated = f"The '{param}' parameter of {plot.__name__}" in message
                unfitted_message = "not fitted" in message
                assert validated or unfitted_message or "skequiv" in origin(info.value)
                assert validated or unfitted_message or f"`{param}`" in message
    finally:
        plt.close("all")
