"""WhitneyFeatureSelector on synthetic neuron pools with known structure."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, cross_val_score
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skequiv import GeometricHarmonicsRegressor, WhitneyFeatureSelector

N_GENUINE = 20


def _pool(n=800, seed=0):
    """x in [-1, 1], N_GENUINE tanh neurons, then 2 constant, 1 dead, 2 duplicates.

    The "network" (weights w, biases b) is the same for every ``seed``; the
    seed draws the samples x.
    """
    net = np.random.default_rng(2)
    w = net.uniform(0.5, 2.5, N_GENUINE) * net.choice([-1, 1], N_GENUINE)
    b = net.uniform(-1, 1, N_GENUINE)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    genuine = np.tanh(np.outer(x, w) + b)
    extra = np.c_[
        np.full(n, 0.7),  # constant
        0.2 + 1e-13 * rng.normal(size=n),  # constant up to round-off
        np.zeros(n),  # dead
        3 * genuine[:, 4] - 1,  # duplicate of 4 (affine copy)
        -genuine[:, 11],  # duplicate of 11 (sign flip)
    ]
    return x, np.c_[genuine, extra]


def _assert_genuine_neurons_are_distinct(X):
    corr = np.abs(np.corrcoef(X[:, :N_GENUINE], rowvar=False))
    np.fill_diagonal(corr, 0)
    assert corr.max() < 1 - 1e-5  # else the test pool itself has duplicates


def test_drops_constant_dead_and_duplicate_neurons_and_selects_three():
    x, X = _pool()
    _assert_genuine_neurons_are_distinct(X)
    y = np.sin(3 * np.pi * x)  # non-monotonic target
    sel = WhitneyFeatureSelector(random_state=0).fit(X, np.c_[x, y])
    n = N_GENUINE
    assert set(sel.dropped_) == {n, n + 1, n + 2, n + 3, n + 4}
    assert sel.dropped_[n].startswith("constant")
    assert sel.dropped_[n + 2].startswith("constant")
    assert sel.dropped_[n + 3].startswith("duplicate of feature 4")
    assert sel.dropped_[n + 4].startswith("duplicate of feature 11")
    assert sel.candidates_.sum() == n
    assert sel.intrinsic_dimension_ == 1
    assert sel.intrinsic_dimension_estimate_ == pytest.approx(1, abs=0.3)
    assert sel.n_features_to_select_ == 3
    assert sel.support_.sum() == 3
    assert not sel.support_[n:].any()
    assert sel.transform(X).shape == (X.shape[0], 3)
    assert sel.scores_.shape == (3,)

    # the proof: x and the non-monotonic y are reconstructed from the three
    # neurons on held-out samples, by a regressor the selector did not use
    x_new, X_new = _pool(n=400, seed=1)
    Z, Z_new = sel.transform(X), sel.transform(X_new)
    y_new = np.sin(3 * np.pi * x_new)
    for target, target_new in [(x, x_new), (y, y_new)]:
        reg = GeometricHarmonicsRegressor().fit(Z, target)
        assert r2_score(target_new, reg.predict(Z_new)) >= 0.95


def test_the_one_neuron_that_determines_y_is_picked_first():
    rng = np.random.default_rng(2)
    u = rng.uniform(-1, 1, size=(600, 2))
    W = rng.normal(size=(2, 15))
    X = np.tanh(u @ W + rng.uniform(-0.5, 0.5, 15))
    y = np.sin(4 * X[:, 9])
    sel = WhitneyFeatureSelector(intrinsic_dimension=2, random_state=0).fit(X, y)
    assert sel.selection_order_[0] == 9
    assert sel.ranking_[9] == 1
    assert sel.n_features_to_select_ == 5


def _naive_greedy(estimator, X, y, cv, k_max):
    """Forward selection written out: add the feature with the best CV score."""
    selected, scores = [], []
    for _ in range(k_max):
        best_j, best_score = None, -np.inf
        for j in range(X.shape[1]):
            if j in selected:
                continue
            s = cross_val_score(estimator, X[:, [*selected, j]], y, cv=cv).mean()
            if s > best_score:
                best_j, best_score = j, s
        selected.append(best_j)
        scores.append(best_score)
    return selected, np.array(scores)


def test_float_target_returns_the_smallest_k_that_reaches_it():
    rng = np.random.default_rng(3)
    u = rng.uniform(-1, 1, size=(300, 3))
    X = np.c_[u, np.tanh(u @ rng.normal(size=(3, 3))), rng.normal(size=(300, 2))]
    y = u[:, 0] + 0.6 * u[:, 1] ** 2 + 0.3 * np.sin(3 * u[:, 2])
    cv = KFold(4, shuffle=True, random_state=0)
    est = make_pipeline(StandardScaler(), KNeighborsRegressor(7, weights="distance"))
    order, curve = _naive_greedy(est, X, y, cv, k_max=5)
    for target in [curve[0] - 0.01, (curve[1] + curve[2]) / 2, curve[3] - 1e-9]:
        expected_k = int(np.argmax(curve >= target)) + 1
        sel = WhitneyFeatureSelector(
            1.0, target_score=target, estimator=est, cv=cv
        ).fit(X, y)
        assert sel.n_features_to_select_ == expected_k
        np.testing.assert_array_equal(sel.selection_order_, order[:expected_k])
        np.testing.assert_allclose(sel.scores_, curve[:expected_k], rtol=1e-12)


def test_unreached_target_warns_and_keeps_the_best_k():
    x, X = _pool(n=200)
    noise = np.random.default_rng(1).normal(size=x.size)  # no neuron predicts it
    sel = WhitneyFeatureSelector(4, target_score=0.5, random_state=0)
    with pytest.warns(
        UserWarning, match=r"No subset of up to 4 features reached"
    ) as record:
        sel.fit(X, noise)
    assert {w.filename for w in record} == {__file__}  # the caller's line
    assert sel.n_features_to_select_ == int(np.argmax(sel.scores_)) + 1
    assert sel.scores_.size == 4


def test_unreachable_r2_target_is_refused():
    x, X = _pool(n=60)
    with pytest.raises(ValueError, match=r"target_score=3.0 can never be reached"):
        WhitneyFeatureSelector(target_score=3.0).fit(X, x)


@pytest.mark.parametrize("value", [0, -1, 0.0, -0.5, 1.5, float("nan")])
def test_n_features_to_select_rejects_zero_negative_and_beyond_one(value):
    x, X = _pool(n=60)
    with pytest.raises(ValueError, match="n_features_to_select"):
        WhitneyFeatureSelector(value).fit(X, x)


@pytest.mark.parametrize(("fraction", "expected"), [(0.5, 12), (0.2, 5), (0.01, 1)])
def test_float_n_features_to_select_is_a_fraction_as_in_scikit_learn(
    fraction, expected
):
    # the same number SequentialFeatureSelector selects: int(fraction * 25),
    # at least one
    x, X = _pool(n=100)
    sel = WhitneyFeatureSelector(fraction, random_state=0).fit(X, x)
    assert X.shape[1] == 25
    assert sel.n_features_to_select_ == expected
    assert sel.support_.sum() == expected


def test_fewer_usable_neurons_than_2d_plus_1_warns_and_keeps_them_all():
    x, X = _pool(n=200)
    # two genuine neurons and a constant one, for d = 2: 2d+1 = 5 asked for
    X = np.column_stack([X[:, :2], np.full(len(x), 0.7)])
    sel = WhitneyFeatureSelector(intrinsic_dimension=2, random_state=0)
    with pytest.warns(
        UserWarning,
        match=r"Cannot select 5 features \(2d\+1 with d=2\): only 2 of the features",
    ):
        sel.fit(X, x)
    np.testing.assert_array_equal(sel.get_support(), [True, True, False])


def test_random_strategy_is_deterministic_under_random_state():
    x, X = _pool(n=300)
    kw = dict(strategy="random", n_random_draws=3)
    a = WhitneyFeatureSelector(random_state=7, **kw).fit(X, x)
    b = WhitneyFeatureSelector(random_state=7, **kw).fit(X, x)
    np.testing.assert_array_equal(a.support_, b.support_)
    np.testing.assert_array_equal(a.scores_, b.scores_)
    assert a.n_features_to_select_ == 3
    assert not a.support_[N_GENUINE:].any()
    supports = {
        tuple(
            np.flatnonzero(
                WhitneyFeatureSelector(random_state=s, **kw).fit(X, x).support_
            )
        )
        for s in range(6)
    }
    assert len(supports) > 1  # the seed matters


def test_single_generic_draw_is_a_prefix_of_a_permutation():
    x, X = _pool(n=300)
    sel = WhitneyFeatureSelector(
        strategy="random", n_random_draws=1, random_state=0
    ).fit(X, x)
    assert len(set(sel.selection_order_)) == 3
    assert sel.scores_.min() > 0.9  # generic tanh neurons determine x


def test_given_dimension_and_int_k():
    x, X = _pool(n=300)
    sel = WhitneyFeatureSelector(intrinsic_dimension=2, random_state=0).fit(X, x)
    assert sel.intrinsic_dimension_estimate_ is None
    assert sel.n_features_to_select_ == 5
    sel = WhitneyFeatureSelector(4, random_state=0).fit(X, x)
    assert sel.n_features_to_select_ == 4 and sel.scores_.shape == (4,)
    ranks = sel.ranking_[sel.selection_order_]
    np.testing.assert_array_equal(ranks, [1, 2, 3, 4])
    assert (np.delete(sel.ranking_, sel.selection_order_) == 5).all()


def test_more_features_than_available_are_clipped_with_a_warning():
    x, X = _pool(n=200)
    with pytest.warns(UserWarning, match=f"only {N_GENUINE} of the features"):
        sel = WhitneyFeatureSelector(50, random_state=0).fit(X, x)
    assert sel.n_features_to_select_ == N_GENUINE


def test_all_constant_pool_is_an_error():
    with pytest.raises(ValueError, match="All features of X are constant"):
        WhitneyFeatureSelector().fit(np.ones((20, 3)), np.arange(20.0))


@pytest.mark.parametrize("strategy", ["greedy", "random"])
def test_default_fast_path_equals_the_pipeline_it_stands_for(strategy):
    # the default estimator is scored by a written-out shortcut; the same
    # pipeline passed explicitly goes through clone/fit/score per subset
    x, X = _pool(n=150)
    X = np.vstack([X, X[:10]])  # repeated samples: zero neighbour distances
    x = np.r_[x, x[:10]]
    y = np.c_[x, np.sin(3 * np.pi * x), np.zeros_like(x)]  # incl. a constant target
    explicit = make_pipeline(
        StandardScaler(), KNeighborsRegressor(5, weights="distance")
    )
    kw = dict(n_features_to_select=4, strategy=strategy, random_state=0)
    fast = WhitneyFeatureSelector(**kw).fit(X, y)
    slow = WhitneyFeatureSelector(estimator=explicit, **kw).fit(X, y)
    np.testing.assert_array_equal(fast.selection_order_, slow.selection_order_)
    np.testing.assert_allclose(fast.scores_, slow.scores_, rtol=1e-10)


def test_parallel_equals_serial():
    x, X = _pool(n=300)
    a = WhitneyFeatureSelector(random_state=0, n_jobs=1).fit(X, x)
    b = WhitneyFeatureSelector(random_state=0, n_jobs=2).fit(X, x)
    np.testing.assert_array_equal(a.selection_order_, b.selection_order_)
    np.testing.assert_allclose(a.scores_, b.scores_)


def test_one_and_two_dimensional_targets_and_clone():
    x, X = _pool(n=300)
    sel = WhitneyFeatureSelector(random_state=0)
    one = clone(sel).fit(X, x)
    two = clone(sel).fit(X, x[:, None])
    np.testing.assert_array_equal(one.support_, two.support_)


def test_feature_names_of_a_dataframe():
    pd = pytest.importorskip("pandas")
    x, X = _pool(n=300)
    frame = pd.DataFrame(X, columns=[f"hidden:{i}" for i in range(X.shape[1])])
    sel = WhitneyFeatureSelector(random_state=0).fit(frame, x)
    names = sel.get_feature_names_out()
    assert len(names) == 3 and all(name.startswith("hidden:") for name in names)


def test_verbose_progress_bar_and_plot(capsys):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    x, X = _pool(n=200)
    sel = WhitneyFeatureSelector(1.0, target_score=0.999, verbose=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sel.fit(X, x)
    assert "greedy selection" in capsys.readouterr().err
    ax = sel.plot_scores()
    assert len(ax.lines[0].get_xdata()) == sel.scores_.size
    assert ax.get_xlabel() == "number of neurons k"
