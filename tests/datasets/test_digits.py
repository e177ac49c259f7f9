"""load_experiment("digits"): skorch digit classifiers that learn their tasks."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from scipy.special import softmax  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.frozen import FrozenEstimator  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from skequiv import NetworkActivations  # noqa: E402
from skequiv.datasets import load_experiment  # noqa: E402
from skequiv.datasets._digits import _NETS  # noqa: E402
from skequiv.datasets._experiments import _CACHE  # noqa: E402


def weights(net):
    return [p.detach().clone() for p in net.module_.parameters()]


def same_weights(net_1, net_2):
    pairs = zip(weights(net_1), weights(net_2), strict=True)
    return all(torch.equal(a, b) for a, b in pairs)


def accuracy(net, X, y):
    # skorch's own predict path, not the module forward the experiment scores with
    return float(np.mean(net.predict(X) == y))


def forget(n_train):
    """Drop the cached digits builds of this size only (other tests keep theirs)."""
    for key in [k for k in _CACHE if k[:2] == ("digits", n_train)]:
        del _CACHE[key]
    for key in [k for k in _NETS if k[0] == n_train]:
        del _NETS[key]


@pytest.fixture(scope="module")
def mlp():
    return load_experiment("digits")


@pytest.fixture(scope="module")
def cnn():
    return load_experiment("digits", architecture="cnn")


def test_inputs_are_the_bundled_digits_split_by_class(mlp):
    images, digits = load_digits(return_X_y=True)
    assert mlp.X_train.shape == (1347, 64) and mlp.X_test.shape == (450, 64)
    assert mlp.X_train.dtype == np.float32
    # each row is one bundled image scaled by 1/16, with its own label
    lookup = {row.tobytes(): [] for row in images}
    for row, digit in zip(images, digits, strict=True):
        lookup[row.tobytes()].append(digit)
    for X, labels in ((mlp.X_train, mlp.digit_train), (mlp.X_test, mlp.digit_test)):
        assert X.min() == 0 and X.max() == 1
        for row, digit in zip(X.astype(np.float64) * 16, labels, strict=True):
            assert digit in lookup[row.tobytes()]
    # disjoint and stratified: every digit in both, in its overall proportion
    train_rows = {row.tobytes() for row in mlp.X_train}
    assert not any(row.tobytes() in train_rows for row in mlp.X_test)
    share = np.bincount(digits) / digits.size
    np.testing.assert_allclose(np.bincount(mlp.digit_test) / 450, share, atol=0.005)
    np.testing.assert_array_equal(mlp.y_train, mlp.digit_train)
    np.testing.assert_array_equal(mlp.y_test_b, mlp.digit_test)


def test_mlp_pair_learns_the_digit(mlp):
    assert mlp.task_a == mlp.task_b == "digit"
    assert mlp.architecture == "mlp"
    assert mlp.hidden_layers == ("act_0",) and mlp.output_layer == "output"
    for net, score in ((mlp.net_a, mlp.test_score_a), (mlp.net_b, mlp.test_score_b)):
        assert isinstance(net, FrozenEstimator)
        measured = accuracy(net, mlp.X_test, mlp.digit_test)
        assert measured >= 0.94
        assert score == pytest.approx(measured)
    # other widths and other seeds
    widths = [
        NetworkActivations(net, layers="act_0").fit(mlp.X_train).layer_shapes_
        for net in (mlp.net_a, mlp.net_b)
    ]
    assert widths == [{"act_0": (64,)}, {"act_0": (48,)}]
    assert mlp.params_a["random_state"] != mlp.params_b["random_state"]
    assert "held-out accuracy" in mlp.DESCR and "act_0" in mlp.DESCR


def test_output_layer_is_the_logits_before_softmax(mlp):
    reader = NetworkActivations(mlp.net_a, layers=mlp.output_layer).fit(mlp.X_train)
    logits = reader.transform(mlp.X_test).astype(np.float64)
    assert logits.shape == (450, 10)
    proba = mlp.net_a.predict_proba(mlp.X_test)
    np.testing.assert_allclose(softmax(logits, axis=1), proba, atol=1e-5)
    assert np.abs(logits.sum(axis=1) - 1).max() > 0.5  # not probabilities


def test_networks_survive_clone_and_pickle(mlp):
    expected = mlp.net_a.predict(mlp.X_test)
    pipeline = clone(make_pipeline(mlp.net_a))
    np.testing.assert_array_equal(
        pipeline.fit(mlp.X_train).predict(mlp.X_test), expected
    )
    reader = clone(NetworkActivations(mlp.net_a, layers="output")).fit(mlp.X_train)
    np.testing.assert_array_equal(reader.transform(mlp.X_test).argmax(1), expected)
    restored = pickle.loads(pickle.dumps(mlp.net_a))
    np.testing.assert_array_equal(restored.predict(mlp.X_test), expected)


def test_cache_returns_fresh_copies_and_shares_net_a(mlp):
    first = load_experiment("digits")
    with torch.no_grad():
        for p in first.net_a.module_.parameters():
            p.zero_()
    first.X_test[:] = 0
    again = load_experiment("digits")
    assert same_weights(again.net_a, mlp.net_a)
    np.testing.assert_array_equal(again.X_test, mlp.X_test)
    # net_a depends on its own task only: the same network in another pair
    parity = load_experiment("digits", task_b="parity")
    assert same_weights(parity.net_a, mlp.net_a)
    assert parity.net_a.estimator is not mlp.net_a.estimator


def test_parity_network_predicts_parity(mlp):
    data = load_experiment("digits", task_b="parity")
    parity = data.digit_test % 2
    np.testing.assert_array_equal(data.y_test_b, parity)
    np.testing.assert_array_equal(data.y_train_b, data.digit_train % 2)
    np.testing.assert_array_equal(data.net_b.classes_, [0, 1])
    assert accuracy(data.net_b, data.X_test, parity) >= 0.95
    assert data.test_score_b >= 0.95
    # two logits: odd (1) against even (0)
    reader = NetworkActivations(data.net_b, layers="output").fit(data.X_train)
    assert reader.transform(data.X_test).shape == (450, 2)


def test_parity_and_above_four_are_different_partitions():
    data = load_experiment("digits", task="parity", task_b="above_four")
    assert accuracy(data.net_a, data.X_test, data.digit_test % 2) >= 0.95
    above = (data.digit_test > 4).astype(int)
    assert accuracy(data.net_b, data.X_test, above) >= 0.94
    # one net's labels say nothing about the other's: agreement near 1/2
    agreement = np.mean(
        data.net_a.predict(data.X_test) == data.net_b.predict(data.X_test)
    )
    assert 0.3 < agreement < 0.7


def test_shuffled_labels_generalise_to_nothing():
    data = load_experiment("digits", task_b="shuffled")
    # trained on a permutation of the true training digits...
    np.testing.assert_array_equal(np.sort(data.y_train_b), np.sort(data.digit_train))
    assert np.mean(data.y_train_b == data.digit_train) < 0.2
    # ...it is at chance (0.1; sd 0.014 on 450 images) on the true test digits
    assert accuracy(data.net_b, data.X_test, data.digit_test) <= 0.2
    assert data.test_score_b <= 0.2
    assert accuracy(data.net_a, data.X_test, data.digit_test) >= 0.94


def test_same_seed_same_networks_global_rng_untouched():
    kwargs = {"n_train": 300, "n_test": 100, "random_state": 11}
    forget(300)
    state = torch.get_rng_state()
    first = load_experiment("digits", **kwargs)
    assert torch.equal(torch.get_rng_state(), state)  # neither seeded nor consumed
    forget(300)  # retrain, so equality does not come from the caches
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(12345)  # another global state changes nothing
        second = load_experiment("digits", **kwargs)
    assert same_weights(first.net_a, second.net_a)
    assert same_weights(first.net_b, second.net_b)
    np.testing.assert_array_equal(first.X_train, second.X_train)
    np.testing.assert_array_equal(
        first.net_b.predict_proba(first.X_test),
        second.net_b.predict_proba(first.X_test),
    )
    other = load_experiment("digits", **{**kwargs, "random_state": 12})
    assert not same_weights(first.net_a, other.net_a)
    assert not np.array_equal(first.X_train, other.X_train)


def test_split_is_shared_across_architectures_and_tasks():
    kwargs = {"n_train": 200, "n_test": 50, "random_state": 5}
    mlp = load_experiment("digits", **kwargs, task="above_four")
    cnn = load_experiment("digits", **kwargs, architecture="cnn", task="parity")
    np.testing.assert_array_equal(mlp.X_train, cnn.X_train)
    np.testing.assert_array_equal(mlp.digit_test, cnn.digit_test)


@pytest.mark.slow
def test_cnn_pair_learns_the_digit_with_1024_unit_conv_maps(cnn):
    assert cnn.hidden_layers == ("act_0", "act_1", "act_2")
    shapes = []
    for net in (cnn.net_a, cnn.net_b):
        assert accuracy(net, cnn.X_test, cnn.digit_test) >= 0.94
        reader = NetworkActivations(net, layers=cnn.hidden_layers).fit(cnn.X_train)
        shapes.append(reader.layer_shapes_)
        conv = NetworkActivations(net, layers="act_1").fit(cnn.X_train)
        assert conv.transform(cnn.X_test[:20]).shape == (20, 1024)
    assert shapes == [
        {"act_0": (8, 8, 8), "act_1": (16, 8, 8), "act_2": (64,)},
        {"act_0": (12, 8, 8), "act_1": (16, 8, 8), "act_2": (48,)},
    ]
    assert cnn.test_score_a >= 0.94 and cnn.test_score_b >= 0.94


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_train": 5}, r"n_train must be at least 10 for the digits"),
        ({"n_test": 9}, r"n_test must be at least 10 for the digits"),
        ({"n_train": 1500, "n_test": 400}, r"n_train \+ n_test must be at most 1797"),
        ({"function": "sine"}, r"function= applies to the experiment 'scalar'"),
        ({"field_b": "duffing"}, r"field_b= applies to the experiment 'vector"),
    ],
)
def test_invalid_digits_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_experiment("digits", **kwargs)


@pytest.mark.parametrize(
    ("option", "value"),
    [("architecture", "cnn"), ("task", "parity"), ("task_b", "parity")],
)
def test_digits_options_rejected_elsewhere(option, value):
    with pytest.raises(
        ValueError, match=f"{option}= applies to the experiment 'digits'"
    ):
        load_experiment("scalar", **{option: value})
