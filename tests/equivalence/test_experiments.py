"""The issue's acceptance criteria on the seed paper's three experiments.

Each test asserts one "done when" item of the equivalence test, on networks
trained on the spot by :func:`skequiv.datasets.load_experiment` (shared through
the session fixtures in ``conftest.py``). Numbers are held-out: transforms are
fitted on training inputs and scored on the experiment's test inputs.
"""

import pytest
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from skequiv import (
    MahalanobisDiffusionMap,
    NetworkActivations,
    NetworkTransform,
    WhitneyFeatureSelector,
    equivalence_report,
)

from .conftest import angle_features

pytestmark = [
    pytest.mark.slow,
    # experiment (a) fits on 267 training pairs (and grid-search folds of
    # 107) with rank-1 Jacobians: below the 300 the diffusion map asks for
    # invariance under y -> A y, which these tests do not rely on
    pytest.mark.filterwarnings(
        "ignore:Only .* samples with rank-deficient metric data:UserWarning"
    ),
]

TOL = 0.95
N_PERMUTATIONS = 149  # smallest attainable p-value 1/150 < 0.01


def _outputs(data, layers=None):
    layers = layers or (data.output_layer,)
    return (
        NetworkActivations(data.net_a, layers=layers),
        NetworkActivations(data.net_b, layers=layers),
    )


def _assert_rejects_the_null(source_a, source_b, X):
    # the permutation test on a subsample: each of the 149 shuffles refits the
    # transforms both ways, so 300 samples keep it to seconds
    report = equivalence_report(
        source_a,
        source_b,
        X,
        n_permutations=N_PERMUTATIONS,
        n_bootstrap=0,
        random_state=0,
    )
    print(report)
    assert report.p_value < 0.01


# ---------------------------------------------------------------- 1. same task
def test_a_scalar_same_task_is_equivalent_and_rejects_the_null(scalar):
    out_a, out_b = _outputs(scalar)
    report = equivalence_report(
        out_a,
        out_b,
        scalar.X_train[:300],
        n_permutations=N_PERMUTATIONS,
        n_bootstrap=200,
        random_state=0,
    )
    print(report)
    assert report.score_ab >= TOL and report.score_ba >= TOL
    assert report.verdict == "equivalent"
    assert report.p_value < 0.01


def test_b_vector_field_same_task_is_equivalent(vector_field):
    out_a, out_b = _outputs(vector_field)
    report = equivalence_report(
        out_a,
        out_b,
        vector_field.X_train[:1000],
        n_permutations=0,
        n_bootstrap=200,
        random_state=0,
    )
    print(report)
    assert report.score_ab >= TOL and report.score_ba >= TOL
    assert report.verdict == "equivalent"
    _assert_rejects_the_null(out_a, out_b, vector_field.X_train[:300])


def test_c_rotating_object_same_task_is_equivalent(rotating_object):
    data = rotating_object
    code_a, code_b = _outputs(data, layers=(data.code_layer,))
    report = equivalence_report(
        code_a,
        code_b,
        data.X_train,
        n_permutations=0,
        n_bootstrap=200,
        random_state=0,
    )
    print(report)
    assert report.score_ab >= TOL and report.score_ba >= TOL
    assert report.verdict == "equivalent"
    _assert_rejects_the_null(code_a, code_b, data.X_train[:300])


# ------------------------------------------------------------ 2. different tasks
def test_one_way_pair_gets_one_way(scalar_one_way):
    # A learns x, B learns x²: B's output is a function of A's, not conversely
    out_a, out_b = _outputs(scalar_one_way)
    report = equivalence_report(
        out_a,
        out_b,
        scalar_one_way.X_train,
        n_permutations=0,
        n_bootstrap=0,
        random_state=0,
    )
    print(report)
    assert report.verdict == "one-way"
    assert report.direction == "A->B"
    assert report.score_ab >= TOL > report.score_ba


def test_neither_pair_is_not_equivalent(scalar_neither):
    # x² and (x − 0.3)²: each output value comes from two inputs, different ones
    out_a, out_b = _outputs(scalar_neither)
    report = equivalence_report(
        out_a,
        out_b,
        scalar_neither.X_train,
        n_permutations=0,
        n_bootstrap=0,
        random_state=0,
    )
    print(report)
    assert report.verdict == "not equivalent"
    assert report.score_ab < TOL and report.score_ba < TOL


# the null is tested on plain arrays (no Jacobians): Euclidean, as it warns
@pytest.mark.filterwarnings("ignore::skequiv.equivalence.EuclideanMetricWarning")
def test_independent_targets_do_not_reject_the_null(scalar):
    # B's outputs at inputs drawn independently of A's: no correspondence
    out_a, out_b = _outputs(scalar)
    X = scalar.X_train[:300]
    X_other = scalar.X_train[400:700]
    a = out_a.fit(X).transform(X)
    b = out_b.fit(X_other).transform(X_other)
    report = equivalence_report(
        a, b, n_permutations=N_PERMUTATIONS, n_bootstrap=0, random_state=0
    )
    print(report)
    assert report.p_value > 0.05
    assert report.verdict == "not equivalent"


# ------------------------------------------------------- 3. Whitney: 2d+1 neurons
def _selected(data, source_b=None, *, k_max, pool=None):
    pool = pool or data.hidden_layers
    return NetworkTransform(
        source_a=NetworkActivations(data.net_a, layers=pool),
        source_b=source_b,
        selector=WhitneyFeatureSelector(random_state=0),
        random_state=0,
    )


def _check_whitney(
    data,
    *,
    n,
    k_max,
    target_train,
    target_test,
    hidden_b,
    output_only_fails=True,
    pool=None,
):
    X, X_test = data.X_train[:n], data.X_test
    if output_only_fails:
        output_only = NetworkTransform(
            source_a=NetworkActivations(data.net_a), source_b=hidden_b, random_state=0
        ).fit(X)
        score = output_only.score(X_test)
        print(f"output only -> B's hidden layer: R² = {score:.4f}")
        assert score < 0.8
    to_b = _selected(data, hidden_b, k_max=k_max, pool=pool).fit(X)
    score_b = to_b.score(X_test)
    to_input = _selected(data, k_max=k_max, pool=pool).fit(X, target_train[:n])
    score_x = to_input.score(X_test, target_test)
    print(
        f"{len(to_b.support_)} neurons {to_b.support_} -> B: R² = {score_b:.4f}; "
        f"curve {to_b.selector_.scores_}"
    )
    print(
        f"{len(to_input.support_)} neurons {to_input.support_} -> input: "
        f"R² = {score_x:.4f}; curve {to_input.selector_.scores_}"
    )
    assert len(to_b.support_) <= k_max and len(to_input.support_) <= k_max
    assert score_b >= TOL
    assert score_x >= TOL


def test_a_scalar_needs_internal_neurons(scalar):
    _check_whitney(
        scalar,
        n=400,
        k_max=3,
        target_train=scalar.intrinsic_train,
        target_test=scalar.intrinsic_test,
        hidden_b=NetworkActivations(scalar.net_b, layers=(scalar.hidden_layers[-1],)),
    )


def test_b_vector_field_needs_internal_neurons(vector_field):
    data = vector_field
    _check_whitney(
        data,
        n=800,
        k_max=5,
        pool=(data.hidden_layers[-1],),
        target_train=data.intrinsic_train,
        target_test=data.intrinsic_test,
        hidden_b=NetworkActivations(data.net_b, layers=(data.hidden_layers[-1],)),
    )


# On a closed curve of 375 training images, 64 neighbours span a sixth of the
# circle, and the scale on their edges is 11x below the all-pairs scale, which
# the diffusion map flags (its heuristic also fires at 17-45x on lines whose
# first coordinate is still cos(pi t) to |corr| >= 0.98). Here the
# coordinates do not localise: the held-out scores below reach 0.95.
@pytest.mark.filterwarnings(
    "ignore:The kNN graph .* is too small to choose the kernel scale:UserWarning"
)
def test_c_rotating_object_three_neurons_suffice(rotating_object):
    # the autoencoder's output is the image, which determines the angle, so
    # there is no output-only failure to show here; the claim is 2d + 1 = 3
    data = rotating_object
    _check_whitney(
        data,
        n=500,
        k_max=3,
        output_only_fails=False,
        target_train=angle_features(data.intrinsic_train),
        target_test=angle_features(data.intrinsic_test),
        hidden_b=NetworkActivations(data.net_b, layers=(data.code_layer,)),
    )


# ------------------------------------------------------ 4. model selection works
def test_cross_val_score_on_the_network_path(scalar):
    out_a, out_b = _outputs(scalar)
    T = NetworkTransform(source_a=out_a, source_b=out_b, random_state=0)
    scores = cross_val_score(
        T, scalar.X_train[:400], cv=KFold(3, shuffle=True, random_state=0)
    )
    print(scores)
    assert scores.shape == (3,) and scores.min() >= TOL


def test_grid_search_on_the_network_path_selects_sensible_values(scalar):
    # target: B's last hidden layer, which A's output cannot determine
    # (sin(πx) is not monotonic); pool: A's last hidden layer. Epsilon: the
    # data-driven choice against a far too wide kernel, which blurs the curve.
    data = scalar
    layer = (data.hidden_layers[-1],)
    T = NetworkTransform(
        source_a=NetworkActivations(data.net_a, layers=layer),
        source_b=NetworkActivations(data.net_b, layers=layer),
        selector=WhitneyFeatureSelector(cv=3, random_state=0),
        embedding=MahalanobisDiffusionMap(n_components=4, random_state=0),
    )
    grid = {
        "selector__n_features_to_select": [1, 3],
        "embedding__epsilon": ["bgh", 100.0],
    }
    search = GridSearchCV(T, grid, cv=KFold(3, shuffle=True, random_state=0))
    search.fit(data.X_train[:240])
    print(search.cv_results_["mean_test_score"], search.best_params_)
    assert search.best_params_["embedding__epsilon"] == "bgh"
    assert search.best_score_ >= TOL
    assert search.score(data.X_test) >= TOL
