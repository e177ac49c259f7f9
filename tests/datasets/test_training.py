"""train_mlp and train_autoencoder: names, seeding, learning, errors."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.metrics import r2_score  # noqa: E402

from skequiv.datasets import (  # noqa: E402
    make_rotating_object,
    make_scalar_task,
    train_autoencoder,
    train_mlp,
)
from skequiv.datasets._tasks import SCALAR_FUNCTIONS  # noqa: E402


def predict(net, X):
    with torch.no_grad():
        return net(torch.as_tensor(X, dtype=torch.float32)).numpy()


def weights(net):
    return [p.detach().numpy().copy() for p in net.parameters()]


@pytest.fixture(scope="module")
def small_task():
    return make_scalar_task(200, function="square", random_state=0)


def test_mlp_layer_names_dtype_and_mode(small_task):
    X, y = small_task
    net = train_mlp(X, y, hidden_layer_sizes=(5, 7, 3), max_epochs=3, random_state=0)
    names = [name for name, _ in net.named_children()]
    assert names == [
        "hidden_0",
        "act_0",
        "hidden_1",
        "act_1",
        "hidden_2",
        "act_2",
        "output",
    ]
    assert [net.get_submodule(f"hidden_{i}").out_features for i in range(3)] == [
        5,
        7,
        3,
    ]
    assert isinstance(net.act_0, torch.nn.Tanh)
    assert net.output.out_features == 1
    assert not net.training
    assert all(p.dtype == torch.float32 for p in net.parameters())
    assert len(net.loss_curve_) == 3


@pytest.mark.parametrize(
    ("activation", "module"), [("relu", "ReLU"), ("softplus", "Softplus")]
)
def test_mlp_activation_choice(small_task, activation, module):
    X, y = small_task
    net = train_mlp(X, y, activation=activation, max_epochs=1, random_state=0)
    assert type(net.act_1).__name__ == module


def test_mlp_same_seed_same_weights_other_seed_other_weights(small_task):
    X, y = small_task
    kwargs = {"hidden_layer_sizes": (8,), "max_epochs": 20, "batch_size": 50}
    a = weights(train_mlp(X, y, **kwargs, random_state=1))
    b = weights(train_mlp(X, y, **kwargs, random_state=1))
    c = weights(train_mlp(X, y, **kwargs, random_state=2))
    for wa, wb in zip(a, b, strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not all(np.array_equal(wa, wc) for wa, wc in zip(a, c, strict=True))


def test_mlp_does_not_touch_torch_global_state(small_task):
    X, y = small_task
    state = torch.random.get_rng_state()
    threads = torch.get_num_threads()
    train_mlp(
        X, y, hidden_layer_sizes=(4,), max_epochs=2, batch_size=64, random_state=0
    )
    assert torch.equal(state, torch.random.get_rng_state())
    assert torch.get_num_threads() == threads


def test_mlp_maps_raw_inputs_to_raw_targets():
    # far from zero mean and unit scale: the folded standardisation must undo it
    rng = np.random.default_rng(0)
    X = rng.uniform([100, -0.01], [110, 0.01], size=(400, 2))
    y = np.c_[1000 + 50 * (X[:, 0] - 105), 3e-3 * X[:, 1] / 0.01]
    net = train_mlp(X, y, hidden_layer_sizes=(16,), max_epochs=400, random_state=0)
    # a wrongly folded mean or scale would be off by orders of magnitude
    scores = r2_score(y, predict(net, X), multioutput="raw_values")
    assert np.all(scores > 0.99), scores


def test_mlp_one_dimensional_target():
    X, y = make_scalar_task(300, function="identity", random_state=0)
    net = train_mlp(
        X, y.ravel(), hidden_layer_sizes=(8,), max_epochs=300, random_state=0
    )
    assert predict(net, X).shape == (300, 1)
    assert r2_score(y, predict(net, X)) > 0.99


@pytest.mark.parametrize("function", ["sine", "square"])
def test_mlp_learns_non_monotonic_functions(function):
    X, y = make_scalar_task(1000, function=function, random_state=0)
    X_test, y_test = make_scalar_task(500, function=function, random_state=1)
    net = train_mlp(X, y, hidden_layer_sizes=(24, 24), max_epochs=800, random_state=0)
    assert r2_score(y_test, predict(net, X_test)) >= 0.98


@pytest.mark.slow
@pytest.mark.parametrize("function", sorted(SCALAR_FUNCTIONS))
def test_mlp_learns_every_named_function(function):
    X, y = make_scalar_task(1000, function=function, random_state=0)
    X_test, y_test = make_scalar_task(500, function=function, random_state=1)
    net = train_mlp(X, y, random_state=0)
    assert r2_score(y_test, predict(net, X_test)) >= 0.98


def test_mlp_minibatch_training_learns(small_task):
    X, y = small_task
    net = train_mlp(
        X, y, hidden_layer_sizes=(16,), max_epochs=150, batch_size=32, random_state=0
    )
    assert r2_score(y, predict(net, X)) > 0.98


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"hidden_layer_sizes": 8}, r"'hidden_layer_sizes' .* array-like\. Got 8 "),
        ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes"),
        ({"activation": "swish"}, r"'activation' .* among .*'tanh'.* Got 'swish'"),
        ({"max_epochs": 0}, r"'max_epochs' .* \[1, inf\)\. Got 0 "),
        ({"lr": -1.0}, r"'lr' .* \(0\.0, inf\)\. Got -1\.0 "),
        ({"batch_size": 0}, "batch_size"),
        ({"weight_decay": -0.1}, r"'weight_decay' .* \[0\.0, inf\)\. Got -0\.1 "),
    ],
)
def test_mlp_invalid_arguments(small_task, kwargs, match):
    X, y = small_task
    with pytest.raises(ValueError, match=match):
        train_mlp(X, y, **kwargs)


def test_mlp_invalid_data():
    X, y = make_scalar_task(20, random_state=0)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        train_mlp(X, y[:10])
    X_nan = X.copy()
    X_nan[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        train_mlp(X_nan, y)
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        train_mlp(X[:1], y[:1])


def test_mlp_divergence_is_reported(small_task):
    X, y = small_task
    with pytest.raises(RuntimeError, match="lower lr"):
        train_mlp(
            X, 1e30 * np.r_[y[:-1], [[1e10]]], lr=1e30, max_epochs=50, random_state=0
        )


@pytest.fixture(scope="module")
def small_images():
    return make_rotating_object(30, size=16, random_state=0)[0]


def test_autoencoder_structure(small_images):
    net = train_autoencoder(
        small_images, code_size=3, hidden_size=10, max_epochs=1, random_state=0
    )
    assert [n for n, _ in net.named_children()] == ["encoder", "code", "decoder"]
    images = torch.as_tensor(small_images)
    with torch.no_grad():
        hidden = net.encoder(images)
        code = net.code(hidden)
        out = net(images)
    assert hidden.shape == (30, 10) and code.shape == (30, 3)
    assert out.shape == images.shape
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    assert not net.training
    assert isinstance(net.get_submodule("encoder.conv_0"), torch.nn.Conv2d)


def test_autoencoder_accepts_three_dimensional_images(small_images):
    net = train_autoencoder(small_images[:, 0], max_epochs=1, random_state=0)
    assert net(torch.as_tensor(small_images)).shape == small_images.shape


def test_autoencoder_seeding(small_images):
    kwargs = {"max_epochs": 2, "batch_size": 8}
    state = torch.random.get_rng_state()
    a = weights(train_autoencoder(small_images, **kwargs, random_state=5))
    b = weights(train_autoencoder(small_images, **kwargs, random_state=5))
    c = weights(train_autoencoder(small_images, **kwargs, random_state=6))
    assert torch.equal(state, torch.random.get_rng_state())
    for wa, wb in zip(a, b, strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not all(np.array_equal(wa, wc) for wa, wc in zip(a, c, strict=True))


@pytest.mark.parametrize(
    ("images", "kwargs", "match"),
    [
        (np.zeros((5, 1, 30, 30)), {}, "divisible by 4"),
        (np.zeros((5, 1, 4, 4)), {}, ">= 8"),
        (np.zeros((5, 2, 16, 16)), {}, r"shape \(n_samples, 1, size, size\)"),
        (np.zeros((5, 16, 12)), {}, r"got \(5, 1, 16, 12\)"),
        (np.zeros((5, 256)), {}, "shape"),
        (np.zeros((5, 1, 16, 16)), {"code_size": 0}, "code_size"),
        (np.zeros((5, 1, 16, 16)), {"channels": (8,)}, "channels must be two"),
        (
            np.zeros((5, 1, 16, 16)),
            {"channels": 8},
            r"'channels' .* array-like\. Got 8 ",
        ),
        (np.zeros((5, 1, 16, 16)), {"activation": "nope"}, "activation"),
    ],
)
def test_autoencoder_invalid_arguments(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_autoencoder(images, **kwargs)
