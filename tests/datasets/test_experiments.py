"""load_experiment: the trained network pairs learn their tasks; caching; errors."""

import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.metrics import r2_score  # noqa: E402
from sklearn.neighbors import KNeighborsRegressor  # noqa: E402

from skequiv._compat import InvalidParameterError  # noqa: E402
from skequiv.datasets import load_experiment  # noqa: E402
from skequiv.datasets._experiments import _CACHE  # noqa: E402


def predict(net, X):
    with torch.no_grad():
        return net(torch.as_tensor(X, dtype=torch.float32)).numpy()


def neurons(net, layer, X):
    with torch.no_grad():
        captured = {}
        handle = net.get_submodule(layer).register_forward_hook(
            lambda module, inputs, output: captured.setdefault("out", output)
        )
        try:
            net(torch.as_tensor(X, dtype=torch.float32))
        finally:
            handle.remove()
    return captured["out"].flatten(1).numpy()


def same_weights(net_1, net_2):
    pairs = zip(net_1.state_dict().values(), net_2.state_dict().values(), strict=True)
    return all(torch.equal(a, b) for a, b in pairs)


@pytest.fixture(scope="module")
def scalar():
    return load_experiment("scalar")


def test_scalar_experiment_contents(scalar):
    assert scalar.X_train.shape == (1000, 1) and scalar.X_test.shape == (500, 1)
    assert scalar.y_train.shape == (1000, 1)
    np.testing.assert_array_equal(scalar.intrinsic_train, scalar.X_train)
    assert scalar.intrinsic_dimension == 1
    assert scalar.hidden_layers == ("act_0", "act_1")
    assert scalar.output_layer == "output"
    assert scalar.task_a == scalar.task_b == "sine"
    assert "sin(πx)" in scalar.DESCR
    # different widths and different seeds
    assert scalar.net_a.hidden_0.out_features != scalar.net_b.hidden_0.out_features
    assert scalar.params_a["random_state"] != scalar.params_b["random_state"]
    for layer in scalar.hidden_layers:
        assert neurons(scalar.net_a, layer, scalar.X_test).shape[0] == 500


def test_scalar_networks_learn_sine(scalar):
    truth = np.sin(np.pi * scalar.X_test)  # independent of the generator
    for net in (scalar.net_a, scalar.net_b):
        assert r2_score(truth, predict(net, scalar.X_test)) >= 0.98
    assert scalar.test_score_a >= 0.98 and scalar.test_score_b >= 0.98


def test_scalar_one_way_and_neither_pairs():
    one_way = load_experiment(
        "scalar", n_train=400, n_test=200, function="identity", function_b="square"
    )
    X = one_way.X_test
    np.testing.assert_allclose(one_way.y_test_b, X**2)
    assert r2_score(X, predict(one_way.net_a, X)) >= 0.98
    assert r2_score(X**2, predict(one_way.net_b, X)) >= 0.98
    neither = load_experiment(
        "scalar",
        n_train=400,
        n_test=200,
        function="square",
        function_b="shifted_square",
    )
    X = neither.X_test
    assert r2_score((X - 0.3) ** 2, predict(neither.net_b, X)) >= 0.98
    assert neither.task_a == "square" and neither.task_b == "shifted_square"


def test_callable_task():
    def half(x):
        return x / 2

    data = load_experiment("scalar", n_train=300, n_test=100, function=half)
    assert data.task_a == "half"
    assert r2_score(data.X_test / 2, predict(data.net_a, data.X_test)) >= 0.98


def test_cache_returns_fresh_copies(scalar):
    first = load_experiment("scalar")
    with torch.no_grad():
        for p in first.net_a.parameters():
            p.zero_()
    first.X_train[:] = 0
    second = load_experiment("scalar")
    assert same_weights(second.net_a, scalar.net_a)
    assert not same_weights(second.net_a, first.net_a)
    np.testing.assert_array_equal(second.X_train, scalar.X_train)
    assert second.net_a is not scalar.net_a


def test_same_seed_same_networks_other_seed_other_networks():
    kwargs = {"n_train": 200, "n_test": 50}
    a = load_experiment("scalar", **kwargs, random_state=7)
    _CACHE.clear()  # retrain, so equality does not come from the cache
    b = load_experiment("scalar", **kwargs, random_state=7)
    c = load_experiment("scalar", **kwargs, random_state=8)
    assert same_weights(a.net_a, b.net_a) and same_weights(a.net_b, b.net_b)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not same_weights(a.net_a, c.net_a)
    assert not np.array_equal(a.X_train, c.X_train)


def test_random_state_instance_draws_a_seed():
    data = load_experiment(
        "scalar", n_train=100, n_test=20, random_state=np.random.RandomState(0)
    )
    assert data.X_train.shape == (100, 1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "scalar", "function": "nope"}, r"Unknown function 'nope'"),
        ({"name": "scalar", "function_b": "nope"}, r"Unknown function 'nope'"),
        ({"name": "vector_field", "field": "nope"}, r"Unknown field 'nope'"),
        ({"name": "scalar", "field": "duffing"}, "field= applies to the experiment"),
        ({"name": "rotating_object", "function": "sine"}, "function= applies"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_experiment(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "parameter", "got"),
    [
        ({"name": "mnist"}, "name", "'mnist'"),
        ({"name": "scalar", "n_train": 1}, "n_train", "1"),
        ({"name": "scalar", "n_train": 2.5}, "n_train", "2.5"),
        ({"name": "scalar", "n_test": 0}, "n_test", "0"),
        ({"name": "scalar", "function": 3}, "function", "3"),
        ({"name": "digits", "architecture": "resnet"}, "architecture", "'resnet'"),
        ({"name": "digits", "task": "odd"}, "task", "'odd'"),
        ({"name": "digits", "task_b": 3}, "task_b", "3"),
        ({"name": "scalar", "random_state": "0"}, "random_state", "'0'"),
        ({"name": "scalar", "verbose": "yes"}, "verbose", "'yes'"),
    ],
)
def test_bad_parameter_is_named_with_the_value(kwargs, parameter, got):
    # raised before anything is trained: validate_params, as for estimators
    with pytest.raises(
        InvalidParameterError,
        match=rf"The '{parameter}' parameter of load_experiment must be .*"
        rf"Got {re.escape(got)} instead",
    ):
        load_experiment(**kwargs)


@pytest.mark.slow
def test_vector_field_experiment():
    data = load_experiment("vector_field")
    assert data.X_train.shape == (2000, 2) and data.X_test.shape == (1000, 2)
    assert data.intrinsic_dimension == 2
    x, v = data.X_test.T
    truth = np.c_[v, x - x**3 - 0.2 * v]
    for net in (data.net_a, data.net_b):
        assert r2_score(truth, predict(net, data.X_test)) >= 0.98
    assert data.net_a.hidden_0.out_features != data.net_b.hidden_0.out_features


@pytest.mark.slow
def test_rotating_object_experiment():
    data = load_experiment("rotating_object")
    assert data.X_train.shape == (500, 1, 32, 32)
    assert data.X_train.dtype == np.float32
    assert data.intrinsic_train.shape == (500, 1)
    assert data.hidden_layers == ("encoder", "code")
    assert data.code_layer == "code"
    circle_train = np.c_[np.cos(data.intrinsic_train), np.sin(data.intrinsic_train)]
    circle_test = np.c_[np.cos(data.intrinsic_test), np.sin(data.intrinsic_test)]
    for net in (data.net_a, data.net_b):
        recon = predict(net, data.X_test)
        assert np.mean((recon - data.X_test) ** 2) < 0.1 * data.X_test.var()
        # the code is a smooth, injective image of the circle of angles
        code_train = neurons(net, "code", data.X_train)
        code_test = neurons(net, "code", data.X_test)
        knn = KNeighborsRegressor(n_neighbors=5).fit(code_train, circle_train)
        assert r2_score(circle_test, knn.predict(code_test)) >= 0.9
    assert data.net_a.code.out_features != data.net_b.code.out_features
