"""KnowledgeIsomorphism against independent references and analytic targets."""

import itertools

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skequiv import KnowledgeIsomorphism

# few epochs: the identities below hold for any parameters, trained or not
QUICK = {"max_epochs": 3, "random_state": 0}


def _relu(x):
    return np.maximum(x, 0.0)


def _numpy_params(model):
    """Parameters of the fitted g as float64 arrays, hidden filters normalised."""
    net = model.module_
    hidden = []

    def array(t):
        return t.detach().cpu().numpy()

    for w in net.hidden_weights:
        w = array(w)
        norm = np.sqrt((w.reshape(len(w), -1) ** 2).sum(1))
        hidden.append(w / norm.reshape(-1, *([1] * (w.ndim - 1))))
    biases = [array(b) for b in net.hidden_biases]
    gates = 1 / (1 + np.exp(-array(net.gate_logits)))
    return hidden, biases, array(net.out_weight), array(net.out_bias), gates


def _conv_same(x, w, b=None):
    """Naive 'same' cross-correlation: x (n, C, H, W), w (O, C, k, k)."""
    k = w.shape[-1]
    pad = k // 2
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    H, W = x.shape[2:]
    out = np.zeros((x.shape[0], w.shape[0], H, W))
    for i in range(k):
        for j in range(k):
            out += np.einsum(
                "nchw,oc->nohw", xp[:, :, i : i + H, j : j + W], w[..., i, j]
            )
    return out if b is None else out + b[:, None, None]


def _reference_forward(model, A, resize=None):
    """g(A) from the fitted parameters, in numpy, with no code of the estimator."""
    hidden, biases, w_out, b_out, gates = _numpy_params(model)
    conv = A.ndim == 4
    x = resize(A) if resize is not None else A
    shape = (1, -1, 1, 1) if conv else (1, -1)
    x = (x - model.x_mean_.reshape(shape)) / model.x_scale_.reshape(shape)
    width = w_out.shape[1]
    pad = [(0, 0), (0, width - x.shape[1])] + [(0, 0)] * (x.ndim - 2)
    x = np.pad(x, pad)

    def layer(z, w, b):
        return _conv_same(z, w, b) if conv else z @ w.T + b

    z = x
    for w, b, p in zip(hidden, biases, gates, strict=True):
        z = x + p * _relu(layer(z, w, b))
    y = layer(z, w_out, b_out) * model.y_scale_
    return y + model.y_mean_.reshape(shape)


def _latent_data(n, n_latent=6, random_state=0):
    rng = np.random.default_rng(random_state)
    return rng.normal(size=(n, n_latent)), rng


# -- the decomposition: exact, and order 0 affine -----------------------------


@pytest.mark.parametrize("hidden_channels", [None, 9])
def test_dense_predict_and_decompose_match_an_independent_forward(hidden_channels):
    A, rng = _latent_data(200)
    B = _relu(A @ rng.normal(size=(6, 3))) + 0.1 * A[:, :3] ** 2
    model = KnowledgeIsomorphism(hidden_channels=hidden_channels, **QUICK).fit(A, B)
    A_new = rng.normal(size=(50, 6))
    reference = _reference_forward(model, A_new)
    assert_allclose(model.predict(A_new), reference, rtol=1e-10, atol=1e-10)
    components = model.decompose(A_new)
    assert components.shape == (3, 50, 3)
    assert_allclose(components.sum(0), reference, rtol=1e-10, atol=1e-10)
    # the higher orders are not trivially zero after training
    assert np.abs(components[1:]).max() > 1e-3


def _average_pool_2x2(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))


def test_conv_decomposition_matches_forward_and_resizes_by_average_pooling():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(24, 3, 8, 8))
    B = _relu(_conv_same(_average_pool_2x2(A), rng.normal(size=(2, 3, 3, 3))))
    model = KnowledgeIsomorphism(**QUICK).fit(A, B)
    A_new = rng.normal(size=(5, 3, 8, 8))
    reference = _reference_forward(model, A_new, resize=_average_pool_2x2)
    assert_allclose(model.predict(A_new), reference, rtol=1e-10, atol=1e-10)
    components = model.decompose(A_new)
    assert components.shape == (3, 5, 2, 4, 4)
    assert_allclose(components.sum(0), reference, rtol=1e-10, atol=1e-10)


def test_upsampled_conv_features_are_interpolated_bilinearly():
    rng = np.random.default_rng(2)
    A, B = rng.normal(size=(12, 2, 3, 3)), rng.normal(size=(12, 1, 6, 6))
    model = KnowledgeIsomorphism(n_orders=1, **QUICK).fit(A, B)
    resize = torch.nn.Upsample(size=(6, 6), mode="bilinear", align_corners=False)

    def upsample(x):
        return resize(torch.as_tensor(x)).numpy()

    reference = _reference_forward(model, A, resize=upsample)
    assert_allclose(model.predict(A), reference, rtol=1e-10, atol=1e-10)


@pytest.fixture(scope="module")
def relu_fit():
    """A model fitted to a target that needs nonlinearity, and held-out data."""
    Z, rng = _latent_data(2000)
    B = _relu(Z @ rng.normal(size=(6, 4)))
    model = KnowledgeIsomorphism(
        hidden_channels=32, batch_size=128, lr=3e-3, max_epochs=150, random_state=0
    ).fit(Z[:1500], B[:1500])
    return model, Z[1500:], B[1500:]


def test_order_zero_is_affine_and_no_better_than_the_best_linear_map(relu_fit):
    model, A, B = relu_fit
    order0 = model.decompose(A)[0]
    # exactly affine in A: a least-squares affine fit reproduces it
    affine = LinearRegression().fit(A, order0)
    assert_allclose(affine.predict(A), order0, atol=1e-9 * np.abs(order0).max())
    # so it cannot beat the best affine map of the held-out data itself
    best = LinearRegression().fit(A, B).score(A, B)
    r2_order0 = 1 - ((B - order0) ** 2).sum() / ((B - B.mean(0)) ** 2).sum()
    assert r2_order0 <= best + 1e-12


def test_variance_profile_matches_numpy_moments(relu_fit):
    model, A, B = relu_fit
    profile = model.variance_profile(A, B)
    components = model.decompose(A)
    var_b = B.var(0).mean()
    assert_allclose(
        profile.variance_by_order, components.var(axis=1).mean(axis=1) / var_b
    )
    centred = components - components.mean(axis=1, keepdims=True)
    cov = np.einsum("inj,knj->ik", centred, centred) / centred[0].size
    assert_allclose(profile.covariance_by_order, cov / var_b, atol=1e-12)
    residual = B - model.predict(A)
    assert_allclose(profile.unexplained_variance, residual.var(0).mean() / var_b)
    r2 = 1 - (residual**2).sum() / ((B - B.mean(0)) ** 2).sum()
    assert_allclose(model.score(A, B), r2)


# -- analytic targets -----------------------------------------------------------


def test_linear_target_is_explained_by_order_zero():
    A, rng = _latent_data(1200, n_latent=8)
    B = A @ rng.normal(size=(8, 5)) + 3.0
    model = KnowledgeIsomorphism(random_state=0).fit(A[:900], B[:900])
    assert model.score(A[900:], B[900:]) >= 0.99
    profile = model.variance_profile(A[900:], B[900:])
    assert profile.variance_by_order[0] == pytest.approx(1.0, abs=0.02)
    assert profile.variance_by_order[1:].max() < 0.01
    assert profile.unexplained_variance < 0.01


def test_nonlinear_target_needs_the_higher_orders(relu_fit):
    model, A, B = relu_fit
    assert model.score(A, B) >= 0.95
    profile = model.variance_profile(A, B)
    assert profile.variance_by_order[1:].sum() > 0.05
    assert (model.gates_ > 0.05).all()
    # the best linear map alone falls clearly short
    assert LinearRegression().fit(A, B).score(A, B) < 0.9


def test_independent_target_is_unexplained():
    A, rng = _latent_data(1200)
    B = rng.normal(size=(1200, 4))
    model = KnowledgeIsomorphism(random_state=0).fit(A[:900], B[:900])
    assert abs(model.score(A[900:], B[900:])) < 0.05
    assert model.variance_profile(A[900:], B[900:]).unexplained_variance > 0.95
    assert model.unexplained_variance_ > 0.9


# -- estimator contract ---------------------------------------------------------


def test_random_state_is_deterministic_and_leaves_torch_global_rng_alone():
    A, rng = _latent_data(150)
    B = _relu(A @ rng.normal(size=(6, 2)))
    before = torch.random.get_rng_state()
    first = KnowledgeIsomorphism(**QUICK).fit(A, B).predict(A)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert_allclose(KnowledgeIsomorphism(**QUICK).fit(A, B).predict(A), first)
    other = KnowledgeIsomorphism(max_epochs=3, random_state=1).fit(A, B).predict(A)
    assert not np.allclose(other, first)


def test_one_dimensional_target_keeps_its_shape():
    A, rng = _latent_data(100)
    y = A @ rng.normal(size=6)
    model = KnowledgeIsomorphism(**QUICK).fit(A, y)
    assert model.predict(A).shape == (100,)
    assert model.decompose(A).shape == (3, 100)


def test_composes_with_pipelines_and_cross_validation():
    A, rng = _latent_data(240)
    B = A @ rng.normal(size=(6, 3))
    pipe = make_pipeline(StandardScaler(), KnowledgeIsomorphism(**QUICK))
    scores = cross_val_score(clone(pipe), A, B, cv=3)
    assert scores.shape == (3,)
    assert (scores > 0.95).all()


def test_early_stopping_stops_and_records_its_curves():
    A, rng = _latent_data(300)
    B = rng.normal(size=(300, 2))  # nothing to learn: validation loss rises
    model = KnowledgeIsomorphism(n_iter_no_change=3, random_state=0).fit(A, B)
    assert model.n_epochs_ < model.max_epochs
    assert len(model.validation_loss_curve_) == model.n_epochs_
    no_stop = KnowledgeIsomorphism(early_stopping=False, max_epochs=4, random_state=0)
    assert no_stop.fit(A, B).validation_loss_curve_ == []
    assert no_stop.n_epochs_ == 4


# -- bad input ------------------------------------------------------------------


@pytest.fixture
def dense():
    rng = np.random.default_rng(0)
    return rng.normal(size=(20, 3)), rng.normal(size=(20, 2))


def test_nan_is_refused(dense):
    A, B = dense
    A_nan, B_nan = A.copy(), B.copy()
    A_nan[0, 0] = B_nan[1, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        KnowledgeIsomorphism().fit(A_nan, B)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        KnowledgeIsomorphism().fit(A, B_nan)


@pytest.mark.parametrize(
    ("X_shape", "y_shape", "match"),
    [
        ((20, 3), (19, 2), "X has 20 samples and y has 19"),
        ((20, 3, 4), (20, 2), "X .network A's features. must be 2-D"),
        ((20, 3), (20, 2, 2), "y .network B's features. must be 1-D, 2-D"),
        ((20, 3, 4, 4), (20, 2), "both be conv features"),
        ((20, 3), (20, 2, 4, 4), "both be conv features"),
        ((1, 3), (1, 2), "1 sample"),
    ],
)
def test_bad_shapes_get_clear_errors(X_shape, y_shape, match):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=match):
        KnowledgeIsomorphism().fit(rng.normal(size=X_shape), rng.normal(size=y_shape))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"device": "banana"}, "device='banana' is not a torch device"),
        ({"device": "meta"}, "device='meta' is not supported"),
        ({"kernel_size": 2}, "kernel_size must be odd"),
        ({"alpha": [0.1, 0.2, 0.3]}, r"one per gate, shape \(2,\)"),
        ({"n_orders": 0}, "The 'n_orders' parameter"),
    ],
)
def test_bad_parameters_get_clear_errors(dense, params, match):
    with pytest.raises(ValueError, match=match):
        KnowledgeIsomorphism(**params).fit(*dense)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present here")
def test_unavailable_cuda_is_refused(dense):
    with pytest.raises(ValueError, match=r"torch\.cuda\.is_available\(\) is False"):
        KnowledgeIsomorphism(device="cuda").fit(*dense)


def test_predict_refuses_features_of_another_shape(dense):
    A, B = dense
    model = KnowledgeIsomorphism(**QUICK).fit(A, B)
    with pytest.raises(ValueError, match="expecting 3 features"):
        model.predict(A[:, :2])
    with pytest.raises(ValueError, match="fitted on features of shape"):
        model.predict(A.reshape(20, 3, 1, 1))
    with pytest.raises(ValueError, match="y has features of shape"):
        model.score(A, B[:, :1])


def test_verbose_shows_a_progress_bar(capsys):
    A, rng = _latent_data(80)
    KnowledgeIsomorphism(verbose=1, **QUICK).fit(A, A @ rng.normal(size=(6, 2)))
    err = capsys.readouterr().err
    assert "KnowledgeIsomorphism" in err and "epoch" in err


def _tanh_net(rng, widths=(4, 8, 3)):
    layers = []
    for n_in, n_out in itertools.pairwise(widths):
        linear = torch.nn.Linear(n_in, n_out)
        with torch.no_grad():
            linear.weight.copy_(torch.as_tensor(rng.normal(size=(n_out, n_in))))
            linear.bias.zero_()
        layers += [linear, torch.nn.Tanh()]
    return torch.nn.Sequential(*layers[:-1])


def test_pipeline_from_network_activations_under_cross_validation():
    from skequiv import NetworkActivations

    rng = np.random.default_rng(0)
    net_a, net_b = _tanh_net(rng), _tanh_net(rng)
    X = rng.uniform(-1, 1, size=(240, 4))
    B = NetworkActivations(net_b, layers="0").fit(X).transform(X)
    pipe = make_pipeline(
        NetworkActivations(net_a, layers="0"), KnowledgeIsomorphism(**QUICK)
    )
    # first-layer pre-activations of two nets on 4 inputs (8 units each, rank
    # 4) are linear maps of each other: order 0 explains them on every split
    scores = cross_val_score(pipe, X, B, cv=3)
    assert (scores > 0.99).all()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fit_decomposes_exactly():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(40, 3, 8, 8))
    B = _relu(_conv_same(_average_pool_2x2(A), rng.normal(size=(2, 3, 3, 3))))
    model = KnowledgeIsomorphism(device="cuda", **QUICK).fit(A, B)
    assert next(model.module_.parameters()).is_cuda
    reference = _reference_forward(model, A, resize=_average_pool_2x2)
    assert_allclose(model.decompose(A).sum(0), reference, rtol=1e-10, atol=1e-10)
    assert_allclose(model.predict(A), reference, rtol=1e-10, atol=1e-10)
