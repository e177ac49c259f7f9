"""NetworkActivations: activations against hand-written forward passes, hooks,
errors, clone/pickle, and trained weights surviving GridSearchCV."""

import pickle
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
skorch = pytest.importorskip("skorch")

from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.frozen import FrozenEstimator  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from skequiv import NetworkActivations  # noqa: E402

# ---------------------------------------------------------------------------
# networks and their hand-written numpy forward passes (float64)


class MLP(torch.nn.Module):
    def __init__(self, n_in=3, width=16, n_out=2):
        super().__init__()
        self.fc1 = torch.nn.Linear(n_in, width)
        self.act1 = torch.nn.Tanh()
        self.fc2 = torch.nn.Linear(width, 8)
        self.act2 = torch.nn.Softplus()
        self.head = torch.nn.Linear(8, n_out)

    def forward(self, x):
        return self.head(self.act2(self.fc2(self.act1(self.fc1(x)))))


class CNN(torch.nn.Module):
    """(1, 6, 6) images -> conv (3, 6, 6) -> tanh -> conv stride 2 (2, 2, 2) -> 2."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 3, 3, padding=1)
        self.act1 = torch.nn.Tanh()
        self.conv2 = torch.nn.Conv2d(3, 2, 3, stride=2)
        self.flat = torch.nn.Flatten()
        self.head = torch.nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.flat(self.conv2(self.act1(self.conv1(x)))))


def _np(param):
    return param.detach().cpu().double().numpy()


def mlp_forward(module, X):
    """Every layer's output of MLP, by numpy, in float64."""
    out = {}
    out["fc1"] = X @ _np(module.fc1.weight).T + _np(module.fc1.bias)
    out["act1"] = np.tanh(out["fc1"])
    out["fc2"] = out["act1"] @ _np(module.fc2.weight).T + _np(module.fc2.bias)
    out["act2"] = np.logaddexp(0.0, out["fc2"])
    out["head"] = out["act2"] @ _np(module.head.weight).T + _np(module.head.bias)
    out["output"] = out["head"]
    return out


def conv2d(x, weight, bias, stride=1, padding=0):
    """Naive cross-correlation, x (n, C, H, W), weight (O, C, k, k)."""
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    k = weight.shape[-1]
    h_out = (x.shape[2] - k) // stride + 1
    w_out = (x.shape[3] - k) // stride + 1
    out = np.empty((x.shape[0], weight.shape[0], h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            patch = x[:, :, i * stride : i * stride + k, j * stride : j * stride + k]
            out[:, :, i, j] = np.einsum("ncab,ocab->no", patch, weight) + bias
    return out


def cnn_forward(module, X):
    """Every layer's output of CNN for images X (n, 1, 6, 6), in float64."""
    out = {}
    out["conv1"] = conv2d(X, _np(module.conv1.weight), _np(module.conv1.bias), 1, 1)
    out["act1"] = np.tanh(out["conv1"])
    out["conv2"] = conv2d(
        out["act1"], _np(module.conv2.weight), _np(module.conv2.bias), 2
    )
    out["flat"] = out["conv2"].reshape(len(X), -1)
    out["head"] = out["flat"] @ _np(module.head.weight).T + _np(module.head.bias)
    out["output"] = out["head"]
    return out


ARCHITECTURES = {
    "mlp": (MLP, mlp_forward, (3,), ("fc1", "act1", "act2", "output")),
    "cnn": (CNN, cnn_forward, (1, 6, 6), ("conv1", "act1", "conv2", "output")),
}


def make_data(shape, n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, *shape)).astype(np.float32)
    y = np.stack([np.sin(X.reshape(n, -1).sum(1)), X.reshape(n, -1)[:, 0]], 1)
    return X, y.astype(np.float32)


def train_skorch(module_cls, shape, seed=0):
    torch.manual_seed(seed)
    X, y = make_data(shape, seed=seed)
    net = skorch.NeuralNetRegressor(
        module_cls,
        max_epochs=3,
        lr=0.05,
        batch_size=16,
        train_split=None,
        verbose=0,
    )
    return net.fit(X, y)


@pytest.fixture(scope="module")
def trained():
    """Per architecture: a fitted skorch net (trained briefly)."""
    return {
        name: train_skorch(spec[0], spec[2]) for name, spec in ARCHITECTURES.items()
    }


def wrap(kind, skorch_net):
    if kind == "module":
        return skorch_net.module_
    if kind == "skorch":
        return skorch_net
    return FrozenEstimator(skorch_net)


def no_hooks_anywhere(module):
    from torch.nn.modules import module as module_lib

    for sub in module.modules():
        for hooks in (
            sub._forward_hooks,
            sub._forward_pre_hooks,
            sub._backward_hooks,
            sub._forward_hooks_with_kwargs,
            sub._forward_hooks_always_called,
        ):
            if len(hooks):
                return False
    return not (
        module_lib._global_forward_hooks or module_lib._global_forward_pre_hooks
    )


def snapshot(module):
    return (
        {k: v.detach().clone() for k, v in module.state_dict().items()},
        [m.training for m in module.modules()],
    )


def assert_unchanged(module, before):
    state, flags = before
    after = module.state_dict()
    assert state.keys() == after.keys()
    for key, value in state.items():
        assert torch.equal(value, after[key]), key
        assert after[key].dtype == value.dtype and after[key].device == value.device
    assert [m.training for m in module.modules()] == flags
    assert no_hooks_anywhere(module)


# ---------------------------------------------------------------------------
# Done when 1: activations equal a hand-written forward pass


@pytest.mark.parametrize("kind", ["module", "skorch", "frozen"])
@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_activations_equal_hand_written_forward(trained, arch, kind):
    _, forward, shape, layers = ARCHITECTURES[arch]
    skorch_net = trained[arch]
    module = skorch_net.module_
    X, _ = make_data(shape, n=23, seed=1)
    before = snapshot(module)

    acts = NetworkActivations(wrap(kind, skorch_net), layers=layers, batch_size=5)
    got = acts.fit(X).transform(X)

    ref = forward(module, X.astype(np.float64))
    expected = np.hstack([ref[name].reshape(len(X), -1) for name in layers])
    assert got.shape == expected.shape
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert_unchanged(module, before)


def test_output_is_what_the_skorch_net_predicts(trained):
    net = trained["mlp"]
    X, _ = make_data((3,), n=17, seed=2)
    got = NetworkActivations(FrozenEstimator(net)).fit(X).transform(X)
    np.testing.assert_allclose(got, net.predict(X), rtol=1e-6, atol=1e-6)


def test_conv_maps_flatten_in_c_order_and_input_shape_reshapes_rows(trained):
    module = trained["cnn"].module_
    X, _ = make_data((1, 6, 6), n=7, seed=3)
    ref = cnn_forward(module, X.astype(np.float64))["conv1"]  # (n, 3, 6, 6)
    acts = NetworkActivations(module, layers="conv1", input_shape=(1, 6, 6))
    got = acts.fit(X.reshape(7, 36)).transform(X.reshape(7, 36))
    assert acts.layer_shapes_ == {"conv1": (3, 6, 6)}
    # neuron k is channel k // 36, row (k // 6) % 6, column k % 6
    for k in (0, 5, 6, 40, 107):
        np.testing.assert_allclose(
            got[:, k], ref[:, k // 36, (k // 6) % 6, k % 6], rtol=1e-5, atol=1e-6
        )
    nd = NetworkActivations(module, layers="conv1").fit(X)
    np.testing.assert_array_equal(nd.transform(X), got)
    assert nd.input_shape_ == (1, 6, 6) and nd.n_features_in_ == 1


def test_neuron_subset_by_index_and_name(trained):
    module = trained["mlp"].module_
    X, _ = make_data((3,), n=11, seed=4)
    layers = ("act1", "output")
    full = NetworkActivations(module, layers=layers).fit(X).transform(X)
    by_index = NetworkActivations(module, layers=layers, neurons=[17, 3, 0, 16])
    by_name = NetworkActivations(
        module, layers=layers, neurons=["output:1", "act1:3", "act1:0", "output:0"]
    )
    mixed = NetworkActivations(module, layers=layers, neurons=np.array([17, 3, 0, 16]))
    for acts in (by_index, by_name, mixed):
        got = acts.fit(X).transform(X)
        np.testing.assert_array_equal(got, full[:, [17, 3, 0, 16]])
        assert list(acts.get_feature_names_out()) == [
            "output:1",
            "act1:3",
            "act1:0",
            "output:0",
        ]


def test_feature_names_and_pandas_output(trained):
    pd = pytest.importorskip("pandas")
    module = trained["mlp"].module_
    X, _ = make_data((3,), n=6, seed=5)
    acts = NetworkActivations(module, layers=("fc2", "output")).set_output(
        transform="pandas"
    )
    frame = acts.fit(pd.DataFrame(X, columns=["a", "b", "c"])).transform(
        pd.DataFrame(X, columns=["a", "b", "c"])
    )
    assert list(frame.columns) == [f"fc2:{i}" for i in range(8)] + [
        "output:0",
        "output:1",
    ]
    assert list(acts.feature_names_in_) == ["a", "b", "c"]


def test_dtype_float64_and_default(trained):
    module = trained["mlp"].module_
    X, _ = make_data((3,), n=9, seed=6)
    before = snapshot(module)
    got64 = NetworkActivations(module, layers="act1", dtype="float64").fit(X)
    out = got64.transform(X)
    assert out.dtype == np.float64
    np.testing.assert_allclose(
        out, mlp_forward(module, X.astype(np.float64))["act1"], rtol=1e-12, atol=1e-12
    )
    assert_unchanged(module, before)  # the net itself stays float32
    same = NetworkActivations(module, layers="act1", dtype=torch.float64).fit(X)
    np.testing.assert_array_equal(same.transform(X), out)


def test_eval_mode_during_call_and_training_flags_restored():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 6),
        torch.nn.BatchNorm1d(6),
        torch.nn.Dropout(0.5),
        torch.nn.Linear(6, 2),
    )
    net[1].running_mean.uniform_(-1, 1)
    net[1].running_var.uniform_(0.5, 2)
    net.train()
    X, _ = make_data((3,), n=12, seed=7)
    before = snapshot(net)
    acts = NetworkActivations(net, layers=("1", "output")).fit(X)
    first = acts.transform(X)
    np.testing.assert_array_equal(acts.transform(X), first)  # no dropout noise
    net.eval()
    with torch.no_grad():
        h = net[1](net[0](torch.from_numpy(X)))
        expected = np.hstack([h.numpy(), net[3](h).numpy()])
    net.train()
    np.testing.assert_allclose(first, expected, rtol=1e-6, atol=1e-6)
    assert_unchanged(net, before)


def test_layer_before_an_inplace_relu_keeps_its_own_values():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.ReLU(inplace=True), torch.nn.Linear(8, 1)
    )
    X, _ = make_data((3,), n=10, seed=8)
    got = NetworkActivations(net, layers=("0", "1")).fit(X).transform(X)
    with torch.no_grad():
        pre = net[0](torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(got[:, :8], pre, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got[:, 8:], np.maximum(pre, 0), rtol=1e-6, atol=1e-6)
    assert (got[:, :8] < 0).any()


def test_batching_does_not_change_results(trained):
    module = trained["cnn"].module_
    X, _ = make_data((1, 6, 6), n=13, seed=9)
    ref = NetworkActivations(module, layers=("act1", "output"), batch_size=1000)
    small = clone(ref).set_params(batch_size=4)
    np.testing.assert_allclose(
        small.fit(X).transform(X), ref.fit(X).transform(X), rtol=1e-6, atol=1e-6
    )


# ---------------------------------------------------------------------------
# Done when 3: no hook survives a call, also one that raised


class Tripwire(torch.nn.Module):
    """Raises once armed (a stand-in for any forward pass that fails)."""

    def __init__(self):
        super().__init__()
        self.armed = False

    def forward(self, x):
        if self.armed:
            raise RuntimeError("tripwire")
        return x


class TripNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 4)
        self.trip = Tripwire()
        self.out = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.out(self.trip(self.fc(x)))


class SharedNet(torch.nn.Module):
    """Applies `block` twice: its activations are ambiguous."""

    def __init__(self):
        super().__init__()
        self.block = torch.nn.Tanh()
        self.fc = torch.nn.Linear(3, 3)

    def forward(self, x):
        return self.block(self.fc(self.block(x)))


def test_no_hook_remains_after_successful_calls(trained):
    module = trained["mlp"].module_
    X, _ = make_data((3,), n=8, seed=10)
    for metric in ("jacobian", "burst"):
        acts = NetworkActivations(
            module, layers=("act1", "act2", "output"), metric=metric, n_bursts=4
        )
        acts.fit(X)
        assert no_hooks_anywhere(module)
        acts.transform(X)
        assert no_hooks_anywhere(module)
        acts.jacobian(X)
        assert no_hooks_anywhere(module)
        acts.metric_data(X)
        assert no_hooks_anywhere(module)


@pytest.mark.parametrize("method", ["transform", "jacobian", "metric_data", "burst"])
def test_no_hook_remains_after_a_call_that_raised(method):
    torch.manual_seed(0)
    net = TripNet()
    X, _ = make_data((3,), n=6, seed=11)
    acts = NetworkActivations(
        net,
        layers=("fc", "trip", "output"),
        metric="burst" if method == "burst" else "jacobian",
        n_bursts=3,
    ).fit(X)
    net.trip.armed = True
    call = getattr(acts, "metric_data" if method == "burst" else method)
    with pytest.raises(RuntimeError, match="tripwire"):
        call(X)
    assert no_hooks_anywhere(net)
    with pytest.raises(ValueError, match="could not be evaluated"):
        clone(acts).fit(X)
    assert no_hooks_anywhere(net)


def test_layers_after_the_last_requested_one_are_not_run():
    torch.manual_seed(0)
    net = TripNet()
    X, _ = make_data((3,), n=6, seed=16)
    acts = NetworkActivations(net, layers="fc").fit(X)
    expected = acts.transform(X)
    net.trip.armed = True  # anything after `fc` would now raise
    np.testing.assert_array_equal(acts.transform(X), expected)
    assert acts.jacobian(X).shape == (6, 4, 3)
    with pytest.raises(ValueError, match="tripwire"):
        clone(acts).set_params(layers=("fc", "output")).fit(X)
    assert no_hooks_anywhere(net)


def test_no_hook_remains_after_the_hook_itself_raised():
    torch.manual_seed(0)
    net = SharedNet()
    X, _ = make_data((3,), n=5, seed=12)
    with pytest.raises(ValueError, match="called 2 times"):
        NetworkActivations(net, layers=("block",)).fit(X)
    assert no_hooks_anywhere(net)
    # bypass fit's check to reach the hook's own guard inside a call (with the
    # output requested, so the forward pass runs past the first call)
    acts = NetworkActivations(net, layers=("fc", "output")).fit(X)
    acts.layers = ("block", "output")
    acts.layer_shapes_ = {"block": (3,), "output": (3,)}
    for method in (acts.transform, acts.jacobian):
        with pytest.raises(ValueError, match="called more than once"):
            method(X)
        assert no_hooks_anywhere(net)


# ---------------------------------------------------------------------------
# clear errors


def test_unknown_layer_lists_the_valid_names(trained):
    X, _ = make_data((3,), n=4)
    with pytest.raises(
        ValueError, match=r"Unknown layer 'fc9'.*'output', 'fc1', 'act1'"
    ):
        NetworkActivations(trained["mlp"], layers=("fc1", "fc9")).fit(X)


def test_unfitted_skorch_net_is_a_clear_error():
    X, _ = make_data((3,), n=4)
    net = skorch.NeuralNetRegressor(MLP)
    with pytest.raises(NotFittedError, match=r"not fitted.*FrozenEstimator"):
        NetworkActivations(net).fit(X)
    with pytest.raises(NotFittedError, match="not fitted"):
        NetworkActivations(FrozenEstimator(net)).fit(X)


def test_clone_of_a_raw_skorch_net_loses_weights_and_says_so(trained):
    X, _ = make_data((3,), n=4)
    acts = NetworkActivations(trained["mlp"])
    acts.fit(X)  # the original is fitted
    with pytest.raises(NotFittedError, match="FrozenEstimator"):
        clone(acts).fit(X)


@pytest.mark.parametrize(
    "neurons, match",
    [
        ([18], "Neuron index 18 .* out of range.*indices 0 to 17"),
        ([-1], "Neuron index -1 .* out of range"),
        (["act1:16"], "'act1:16' .* out of range: layer 'act1' has 16"),
        (["fc2:0"], "must be 'layer:index' with layer one of"),
        (["act1:x"], "'x' is not an integer"),
        ([1.5], "integer indices or 'layer:index' names"),
        ([True], "boolean"),
        ([2, "act1:2"], "more than once"),
        ([], "empty"),
    ],
)
def test_bad_neurons(trained, neurons, match):
    X, _ = make_data((3,), n=4)
    acts = NetworkActivations(
        trained["mlp"], layers=("act1", "output"), neurons=neurons
    )
    with pytest.raises((ValueError, TypeError), match=match):
        acts.fit(X)


def test_bad_inputs(trained):
    module = trained["mlp"].module_
    X, _ = make_data((3,), n=6)
    acts = NetworkActivations(module, layers="act1").fit(X)
    with pytest.raises(ValueError, match="X has 4 features"):
        acts.transform(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"Expected a 2-dimensional|Expected 2D"):
        acts.transform(np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        acts.jacobian(np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match=r"could not convert|numeric"):
        acts.transform(np.array([["a", "b", "c"]]))
    with pytest.raises(ValueError, match=r"could not be evaluated.*per-sample shape"):
        NetworkActivations(module).fit(np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"input_shape`=\(2, 2\) needs 2-D X with 4"):
        NetworkActivations(module, input_shape=(2, 2)).fit(X)
    cnn = NetworkActivations(CNN()).fit(np.zeros((2, 1, 6, 6), np.float32))
    with pytest.raises(ValueError, match=r"per-sample shape \(1, 5, 6\), but"):
        cnn.transform(np.zeros((2, 1, 5, 6), np.float32))


def test_bad_parameters(trained):
    module = trained["mlp"].module_
    X, _ = make_data((3,), n=4)
    cases = [
        (dict(dtype="int32"), ValueError, "`dtype` must be None, one of"),
        (dict(dtype=torch.int64), ValueError, "`dtype` must be None"),
        (dict(device="gpu7"), ValueError, "is not a torch device"),
        (dict(layers=()), ValueError, "`layers` is empty"),
        (dict(layers=("act1", "act1")), ValueError, "names a layer twice"),
        (dict(layers=(3,)), TypeError, "layer names"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(metric="nope"), ValueError, "metric"),
    ]
    for params, error, match in cases:
        with pytest.raises(error, match=match):
            NetworkActivations(module, **params).fit(X)
    with pytest.raises(TypeError, match="`net` must be a fitted skorch NeuralNet"):
        NetworkActivations(LinearRegression()).fit(X)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            NetworkActivations(module, device="cuda").fit(X)


def test_layers_that_cannot_be_read():
    class TupleOut(torch.nn.Module):
        def forward(self, x):
            return x, x

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.pair = TupleOut()
            self.unused = torch.nn.Linear(3, 3)
            self.fc = torch.nn.Linear(3, 7)

        def forward(self, x):
            return self.fc(self.pair(x)[0]).T  # output is (7, batch)

    X, _ = make_data((3,), n=5)
    with pytest.raises(TypeError, match="'pair' returned tuple, not a tensor"):
        NetworkActivations(Net(), layers="pair").fit(X)
    with pytest.raises(ValueError, match="'unused' is not called"):
        NetworkActivations(Net(), layers="unused").fit(X)
    with pytest.raises(ValueError, match="'output' returned a tensor of shape"):
        NetworkActivations(Net()).fit(X)
    assert NetworkActivations(Net(), layers="fc").fit(X).transform(X).shape == (5, 7)


# ---------------------------------------------------------------------------
# clone, pickle, import


def test_clone_and_pickle_keep_the_weights(trained):
    X, _ = make_data((3,), n=9, seed=13)
    for net in (trained["mlp"].module_, FrozenEstimator(trained["mlp"])):
        acts = NetworkActivations(net, layers=("act2", "output")).fit(X)
        expected = acts.transform(X)
        np.testing.assert_array_equal(clone(acts).fit(X).transform(X), expected)
        restored = pickle.loads(pickle.dumps(acts))
        np.testing.assert_array_equal(restored.transform(X), expected)
        params = acts.get_params(deep=False)
        for name, value in vars(acts).items():
            if name not in params:  # fitted state: plain data only
                assert not callable(value), name
                assert not isinstance(value, torch.Tensor | torch.nn.Module), name


def test_importing_networks_does_not_import_torch():
    code = (
        "import sys, skequiv, skequiv.networks; "
        "from skequiv import NetworkActivations; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False"]


# ---------------------------------------------------------------------------
# Done when 4: a frozen, pre-trained skorch net keeps its weights in every split


def test_grid_search_over_a_frozen_skorch_pipeline_keeps_trained_weights(trained):
    net = trained["mlp"]
    X, _ = make_data((3,), n=60, seed=14)
    target = net.predict(X).astype(np.float64)  # what the trained net says
    pipe = Pipeline(
        [
            ("acts", NetworkActivations(FrozenEstimator(net))),
            ("reg", LinearRegression()),
        ]
    )

    def weights_kept(estimator, X_test, y_test):
        # the pipeline reproduces the trained net only if its weights survived
        acts = estimator.named_steps["acts"].transform(X_test)
        return -float(np.max(np.abs(acts - net.predict(X_test))))

    search = GridSearchCV(
        pipe,
        {"acts__batch_size": [7, 64], "reg__fit_intercept": [True, False]},
        cv=KFold(3, shuffle=True, random_state=0),
        scoring={"kept": weights_kept, "r2": "r2"},
        refit="r2",
        error_score="raise",
    ).fit(X, target)
    results = search.cv_results_
    for split in range(3):
        # float32 rounding differs with the batch size; untrained nets differ O(1)
        assert np.all(results[f"split{split}_test_kept"] > -1e-6)
        assert np.all(results[f"split{split}_test_r2"] > 1 - 1e-8)
    np.testing.assert_allclose(search.predict(X), target, rtol=1e-4, atol=1e-4)

    # without FrozenEstimator every split would get an untrained clone
    with pytest.raises(NotFittedError, match="FrozenEstimator"):
        GridSearchCV(
            Pipeline([("acts", NetworkActivations(net)), ("reg", LinearRegression())]),
            {"reg__fit_intercept": [True]},
            cv=3,
            error_score="raise",
        ).fit(X, target)


# ---------------------------------------------------------------------------
# Done when 6: CUDA


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_cuda_matches_cpu(trained, arch):
    _, _, shape, layers = ARCHITECTURES[arch]
    net = FrozenEstimator(trained[arch])
    X, _ = make_data(shape, n=21, seed=15)
    cpu = NetworkActivations(net, layers=layers, dtype="float64").fit(X)
    gpu = clone(cpu).set_params(device="cuda").fit(X)
    np.testing.assert_allclose(
        gpu.transform(X), cpu.transform(X), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(gpu.jacobian(X), cpu.jacobian(X), rtol=1e-10, atol=1e-12)
    burst = dict(metric="burst", n_bursts=5, random_state=0)
    np.testing.assert_allclose(
        clone(gpu).set_params(**burst).fit(X).metric_data(X).covariances,
        clone(cpu).set_params(**burst).fit(X).metric_data(X).covariances,
        rtol=1e-6,
        atol=1e-8,
    )
    assert no_hooks_anywhere(trained[arch].module_)
