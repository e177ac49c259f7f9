"""NetworkTransform: array path, metadata routing, network path, errors.

Most tests here check the intrinsic route's mechanics and fix
``candidates="intrinsic"``; ``test_candidates.py`` tests the choice.
"""

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.feature_selection import SelectFromModel
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skequiv import MahalanobisDiffusionMap, NetworkTransform

# unit tests on 100-240 samples with rank-deficient Jacobians: the diffusion
# map rightly says 300 are needed for invariance (tests/embedding asserts it)
pytestmark = pytest.mark.filterwarnings(
    "ignore:Only .* samples with rank-deficient metric data:UserWarning"
)


def _curve(n, seed=0):
    """A curve seen by two observers, with A's Jacobians d(acts_a)/dx."""
    x = np.random.default_rng(seed).uniform(-1, 1, size=(n, 1))
    acts_a = np.hstack([np.tanh(2 * x), x**3 + x])
    jac_a = np.stack([2 / np.cosh(2 * x) ** 2, 3 * x**2 + 1], axis=1)
    acts_b = np.hstack([np.sin(x), np.exp(x)])
    return x, acts_a, jac_a, acts_b


def _knn():
    return KNeighborsRegressor(n_neighbors=5)


def test_passthrough_knn_equals_the_regressor_alone():
    # with no selector and no embedding, T is the regressor itself
    _, A, _, B = _curve(200)
    T = NetworkTransform(
        candidates="intrinsic", embedding="passthrough", regressor=_knn()
    ).fit(A, B)
    np.testing.assert_allclose(T.predict(A), _knn().fit(A, B).predict(A))
    assert T.embedding_ is None and T.selector_ is None
    np.testing.assert_array_equal(T.support_, [0, 1])


def test_default_pipeline_equals_manual_composition():
    _, A, J, B = _curve(300)
    dmap = MahalanobisDiffusionMap(n_components=2, random_state=0)
    T = NetworkTransform(
        candidates="intrinsic", embedding=dmap, regressor=Ridge(1e-6)
    ).fit(A[:200], B[:200], jacobians=J[:200])
    coords = clone(dmap).fit_transform(A[:200], jacobians=J[:200])
    ridge = Ridge(1e-6).fit(coords, B[:200])
    np.testing.assert_allclose(T.regressor_.coef_, ridge.coef_)
    fitted = clone(dmap).fit(A[:200], jacobians=J[:200])
    expected = ridge.predict(fitted.transform(A[200:], jacobians=J[200:]))
    np.testing.assert_allclose(T.predict(A[200:], jacobians=J[200:]), expected)


def test_default_transform_reaches_high_held_out_r2():
    _, A, J, B = _curve(400)
    T = NetworkTransform(
        candidates="intrinsic",
    ).fit(A[:300], B[:300], jacobians=J[:300])
    assert T.score(A[300:], B[300:], jacobians=J[300:]) > 0.95
    assert T.embedding_.n_components == 4  # the documented default


def test_selector_jacobian_rows_are_sliced():
    # three neurons, of which the selector keeps the first and last: the
    # embedding must see exactly those rows of the Jacobians
    _, A, J, B = _curve(200)
    A3 = np.hstack(
        [A[:, :1], 1e-3 * np.random.default_rng(0).normal(size=(200, 1)), A[:, 1:]]
    )
    J3 = np.concatenate([J[:, :1], np.zeros((200, 1, 1)), J[:, 1:]], axis=1)
    selector = SelectFromModel(Ridge(), max_features=2, threshold=-np.inf)
    dmap = MahalanobisDiffusionMap(2, random_state=0)
    T = NetworkTransform(
        candidates="intrinsic", selector=selector, embedding=dmap, regressor=_knn()
    )
    T.fit(A3, B, jacobians=J3)
    np.testing.assert_array_equal(T.support_, [0, 2])
    reference = clone(dmap).fit(A, jacobians=J)
    np.testing.assert_allclose(T.embedding_.eigenvalues_, reference.eigenvalues_)


def test_one_dimensional_target_predict_is_1d_transform_is_2d():
    x, A, _, _ = _curve(150)
    y = np.sin(3 * x[:, 0])
    T = NetworkTransform(
        candidates="intrinsic", embedding="passthrough", regressor=_knn()
    ).fit(A, y)
    assert T.predict(A).shape == (150,)
    assert T.transform(A).shape == (150, 1)
    assert T.n_outputs_ == 1
    assert T.get_feature_names_out().tolist() == ["networktransform0"]


def test_score_is_r2_over_varying_outputs():
    _, A, _, B = _curve(200)
    B_dead = np.hstack([B, np.zeros((200, 1))])  # a dead unit in B
    T = NetworkTransform(
        candidates="intrinsic", embedding="passthrough", regressor=_knn()
    ).fit(A[:150], B_dead[:150])
    pred = T.predict(A[150:])
    expected = r2_score(B[150:], pred[:, :2])
    assert T.score(A[150:], B_dead[150:]) == pytest.approx(expected)


def test_grid_search_with_routed_jacobians_matches_a_manual_loop():
    _, A, J, B = _curve(240)
    base = NetworkTransform(
        candidates="intrinsic",
        embedding=MahalanobisDiffusionMap(2, random_state=0),
        regressor=_knn(),
    )
    grid = {"embedding__epsilon": [0.02, 0.2]}
    cv = KFold(3, shuffle=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        est = (
            clone(base)
            .set_fit_request(jacobians=True)
            .set_score_request(jacobians=True)
        )
        search = GridSearchCV(est, grid, cv=cv).fit(A, B, jacobians=J)
    for i, eps in enumerate(grid["embedding__epsilon"]):
        scores = []
        for train, test in cv.split(A):
            T = clone(base).set_params(embedding__epsilon=eps)
            T.fit(A[train], B[train], jacobians=J[train])
            scores.append(T.score(A[test], B[test], jacobians=J[test]))
        assert search.cv_results_["mean_test_score"][i] == pytest.approx(
            np.mean(scores)
        )


def test_works_in_a_pipeline():
    _, A, _, B = _curve(200)
    pipe = make_pipeline(
        StandardScaler(),
        NetworkTransform(
            candidates="intrinsic", embedding="passthrough", regressor=_knn()
        ),
    )
    assert cross_val_score(pipe, A, B, cv=3).min() > 0.9


@pytest.mark.parametrize(
    "kwargs, fit_args, match",
    [
        ({}, {"y": None}, "requires y"),
        (
            {"embedding": "passthrough"},
            {"jacobians": np.ones((10, 2, 1))},
            "does not accept them",
        ),
        ({}, {"jacobians": np.ones((10, 3, 1))}, "must have shape"),
        (
            {},
            {"jacobians": np.ones((10, 2, 1)), "covariances": np.ones((10, 2, 2))},
            "not both",
        ),
    ],
)
def test_errors_name_the_problem(kwargs, fit_args, match):
    A = np.random.default_rng(0).normal(size=(10, 2))
    y = fit_args.pop("y", A)
    with pytest.raises(ValueError, match=match):
        NetworkTransform(candidates="intrinsic", **kwargs).fit(A, y, **fit_args)


def test_source_b_without_source_a_is_an_error():
    with pytest.raises(ValueError, match="needs source_a"):
        NetworkTransform(candidates="intrinsic", source_b=StandardScaler()).fit(
            np.ones((5, 2))
        )


# ---------------------------------------------------------------- network path
torch = pytest.importorskip("torch")


def _nets():
    gen = torch.Generator().manual_seed(0)

    def mlp(width):
        net = torch.nn.Sequential()
        net.add_module("hidden", torch.nn.Linear(1, width))
        net.add_module("act", torch.nn.Tanh())
        net.add_module("out", torch.nn.Linear(width, 1))
        for p in net.parameters():
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=gen))
        return net.double()

    return mlp(8), mlp(6)


def _sources(**kwargs_a):
    from skequiv import NetworkActivations

    net_a, net_b = _nets()
    return (
        NetworkActivations(net_a, layers=("act",), dtype="float64", **kwargs_a),
        NetworkActivations(net_b, layers=("act",), dtype="float64"),
    )


def test_network_path_equals_the_array_path_on_computed_activations():
    source_a, source_b = _sources()
    X = np.random.default_rng(0).uniform(-1, 1, size=(200, 1))
    dmap = MahalanobisDiffusionMap(3, random_state=0)
    selector = SelectFromModel(Ridge(), max_features=3, threshold=-np.inf)
    T = NetworkTransform(
        candidates="intrinsic",
        source_a=source_a,
        source_b=source_b,
        selector=selector,
        embedding=dmap,
        regressor=Ridge(1e-3),
    ).fit(X[:150])
    # the reference: activations and Jacobians computed here, array path
    fa = clone(source_a).fit(X)
    A, J = fa.transform(X), fa.jacobian(X)
    B = clone(source_b).fit(X).transform(X)
    ref = NetworkTransform(
        candidates="intrinsic", selector=selector, embedding=dmap, regressor=Ridge(1e-3)
    )
    ref.fit(A[:150], B[:150], jacobians=J[:150])
    np.testing.assert_array_equal(T.support_, ref.support_)
    assert T.metric_source_.neurons == [int(i) for i in T.support_]
    np.testing.assert_allclose(
        T.predict(X[150:]), ref.predict(A[150:], jacobians=J[150:]), atol=1e-8
    )
    assert T.score(X[150:]) == pytest.approx(
        ref.score(A[150:], B[150:], jacobians=J[150:]), abs=1e-8
    )


def test_network_path_with_a_neuron_subset_maps_selection_back():
    source_a, source_b = _sources(neurons=[7, 5, 3, 1])
    X = np.random.default_rng(1).uniform(-1, 1, size=(120, 1))
    selector = SelectFromModel(Ridge(), max_features=2, threshold=-np.inf)
    T = NetworkTransform(
        candidates="intrinsic",
        source_a=source_a,
        source_b=source_b,
        selector=selector,
        embedding=MahalanobisDiffusionMap(2, random_state=0),
        regressor=_knn(),
    ).fit(X)
    assert T.metric_source_.neurons == [[7, 5, 3, 1][i] for i in T.support_]


def test_network_path_cross_val_score_and_grid_search_without_y():
    source_a, source_b = _sources()
    X = np.random.default_rng(2).uniform(-1, 1, size=(150, 1))
    T = NetworkTransform(
        candidates="intrinsic",
        source_a=source_a,
        source_b=source_b,
        embedding=MahalanobisDiffusionMap(2, random_state=0),
        regressor=_knn(),
    )
    scores = cross_val_score(T, X, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.9)
    search = GridSearchCV(T, {"embedding__n_components": [1, 2]}, cv=3).fit(X)
    # the reference: the same folds scored by hand for each value
    manual = [
        cross_val_score(clone(T).set_params(embedding__n_components=k), X, cv=3).mean()
        for k in (1, 2)
    ]
    assert search.best_params_["embedding__n_components"] == 1 + int(np.argmax(manual))
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], manual)
    assert search.score(X) > 0.9


def test_network_path_with_y_as_target_and_no_source_b():
    source_a, _ = _sources()
    X = np.random.default_rng(3).uniform(-1, 1, size=(150, 1))
    T = NetworkTransform(
        candidates="intrinsic",
        source_a=source_a,
        embedding="passthrough",
        regressor=_knn(),
    )
    assert T.fit(X[:100], X[:100]).score(X[100:], X[100:]) > 0.95
    with pytest.raises(ValueError, match="needs the target as y"):
        clone(T).fit(X)
    with pytest.raises(ValueError, match="do not pass them"):
        clone(T).fit(X, X, jacobians=np.ones((150, 8, 1)))
