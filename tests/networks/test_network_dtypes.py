"""NetworkActivations at the edges of the compute dtype, and Jacobians that
autograd cannot see (issue 16, items 2 and 8)."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skequiv import NetworkActivations  # noqa: E402


class Rounded(torch.nn.Module):
    """A piecewise-constant network: its derivative is zero almost everywhere."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 3)

    def forward(self, x):
        return torch.round(4 * self.fc(x))


class Relu(torch.nn.Module):
    """``relu(x0 + x1)``: the Jacobian is exactly zero where ``x0 + x1 < 0``."""

    def forward(self, x):
        return torch.relu(x.sum(1, keepdim=True))


def _linear32():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh())


def _X(n=12):
    return np.random.default_rng(0).normal(size=(n, 2))


def test_float64_beyond_float32_range_is_refused_not_nan():
    acts = NetworkActivations(_linear32()).fit(_X())
    for method in (acts.transform, acts.jacobian, acts.metric_data):
        with pytest.raises(ValueError, match=r"X has values up to 2.33e\+300.*dtype="):
            method(_X() * 1e300)
    with pytest.raises(ValueError, match=r"beyond the largest torch\.float32"):
        NetworkActivations(_linear32()).fit(_X() * 1e300)


def test_float64_compute_dtype_takes_what_float32_cannot():
    X = _X() * 1e300
    acts = NetworkActivations(_linear32(), dtype="float64").fit(X)
    out = acts.transform(X)
    # tanh of huge pre-activations saturates at +-1, exactly
    assert np.all(np.isfinite(out)) and np.allclose(np.abs(out), 1.0)


def test_underflow_to_zero_warns():
    acts = NetworkActivations(_linear32()).fit(_X())
    with pytest.warns(UserWarning, match=r"underflow to zero.*dtype='float64'"):
        acts.transform(_X() * 1e-300)


def test_in_range_float64_input_is_silent_and_matches_float32_input():
    acts = NetworkActivations(_linear32()).fit(_X())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = acts.transform(_X())
    b = acts.transform(_X().astype(np.float32))
    np.testing.assert_array_equal(a, b)


def test_overflow_inside_the_network_is_refused():
    class Square(torch.nn.Module):
        def forward(self, x):
            return x**4  # finite input, overflowing output in float32

    acts = NetworkActivations(Square()).fit(_X())
    with pytest.raises(ValueError, match=r"non-finite activations .* at 12 of 12"):
        acts.transform(_X() * 1e20)


def test_jacobians_of_a_rounding_network_warn_and_point_to_bursts():
    acts = NetworkActivations(Rounded()).fit(_X())
    with pytest.warns(UserWarning, match=r"zero at all 12 samples.*metric='burst'"):
        J = acts.jacobian(_X())
    assert not J.any()  # what autograd returns: the warning is the point
    with pytest.warns(UserWarning, match="zero at all 12 samples"):
        acts.metric_data(_X())


def test_burst_metric_of_a_rounding_network_is_silent_and_nonzero():
    acts = NetworkActivations(
        Rounded(), metric="burst", sigma=0.3, n_bursts=16, random_state=0
    ).fit(_X())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = acts.metric_data(_X())
    assert data.covariances.any()


def test_some_zero_jacobians_are_counted():
    X = np.array([[1.0, 1.0], [-1.0, -1.0], [2.0, 0.0], [-3.0, 1.0]])
    acts = NetworkActivations(Relu(), dtype="float64").fit(X)
    with pytest.warns(UserWarning, match=r"zero at 2 of 4 samples \(first: sample 1\)"):
        J = acts.jacobian(X)
    np.testing.assert_array_equal(J[:, 0, :], [[1, 1], [0, 0], [1, 1], [0, 0]])


def test_smooth_network_jacobians_are_silent():
    acts = NetworkActivations(_linear32()).fit(_X())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        acts.jacobian(_X())
