"""The numpy task generators: values against the formulas, seeding, errors."""

import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from skequiv.datasets import make_scalar_task, make_vector_field_task
from skequiv.datasets._tasks import SCALAR_FUNCTIONS, VECTOR_FIELDS

# independent references, written out again rather than read from the module
SCALAR_REFERENCE = {
    "identity": lambda x: x,
    "tanh": lambda x: np.tanh(2 * x),
    "cubic": lambda x: x**3 + x / 2,
    "exp": np.exp,
    "square": lambda x: x * x,
    "shifted_square": lambda x: (x - 0.3) * (x - 0.3),
    "sine": lambda x: np.sin(np.pi * x),
    "cosine": lambda x: np.cos(np.pi * x),
    "gaussian": lambda x: np.exp(-4 * x * x),
}
MONOTONIC = {"identity", "tanh", "cubic", "exp"}


def test_reference_covers_every_function():
    assert set(SCALAR_REFERENCE) == set(SCALAR_FUNCTIONS)


@pytest.mark.parametrize("function", sorted(SCALAR_FUNCTIONS))
def test_scalar_task_values_and_shapes(function):
    X, y = make_scalar_task(300, function=function, random_state=0)
    assert X.shape == y.shape == (300, 1)
    assert X.dtype == y.dtype == np.float64
    assert X.min() >= -1 and X.max() <= 1
    np.testing.assert_allclose(y[:, 0], SCALAR_REFERENCE[function](X[:, 0]))


@pytest.mark.parametrize("function", sorted(SCALAR_FUNCTIONS))
def test_scalar_task_monotonicity_as_documented(function):
    x = np.linspace(-1, 1, 2001)[:, None]
    y = SCALAR_FUNCTIONS[function][0](x[:, 0])
    steps = np.diff(y)
    assert (function in MONOTONIC) == bool(np.all(steps > 0))


def test_scalar_pairs_one_way_and_neither():
    x = np.array([-0.5, 0.5])
    square, shifted = (SCALAR_FUNCTIONS[n][0] for n in ("square", "shifted_square"))
    # equal x² but different x: x² is not invertible, (x − 0.3)² separates them
    assert square(x)[0] == square(x)[1]
    assert shifted(x)[0] != shifted(x)[1]
    # equal (x − 0.3)² at 0.3 ± 0.4, different x²
    x = np.array([-0.1, 0.7])
    assert np.isclose(shifted(x)[0], shifted(x)[1])
    assert not np.isclose(square(x)[0], square(x)[1])


def test_scalar_task_domain_noise_and_callable():
    X, y = make_scalar_task(
        4000, function=lambda x: 2 * x, domain=(2, 5), noise=0.1, random_state=0
    )
    assert X.min() >= 2 and X.max() <= 5
    residual = y[:, 0] - 2 * X[:, 0]
    assert residual.std() == pytest.approx(0.1, rel=0.05)
    assert abs(residual.mean()) < 0.01


def test_scalar_task_is_seeded():
    a = make_scalar_task(50, random_state=3)
    b = make_scalar_task(50, random_state=3)
    c = make_scalar_task(50, random_state=4)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_vector_fields_against_formulas():
    X, Y = make_vector_field_task(200, field="duffing", random_state=0)
    x, v = X.T
    np.testing.assert_allclose(Y, np.c_[v, x - x**3 - 0.2 * v])
    X, Y = make_vector_field_task(200, field="complex_square", random_state=0)
    z = X[:, 0] + 1j * X[:, 1]
    np.testing.assert_allclose(Y[:, 0] + 1j * Y[:, 1], z**2)
    X, Y = make_vector_field_task(200, field="rotation", random_state=0)
    r2 = (X**2).sum(axis=1)
    np.testing.assert_allclose(
        Y[:, 0] + 1j * Y[:, 1], (X[:, 0] + 1j * X[:, 1]) * np.exp(1j * r2)
    )
    X, Y = make_vector_field_task(200, field="saddle", random_state=0)
    np.testing.assert_allclose(
        Y, np.c_[X[:, 0] + 0.4 * X[:, 1] ** 2, -X[:, 1] + 0.4 * X[:, 0] ** 2]
    )


def test_vector_field_injectivity_as_documented():
    # duffing and complex_square send distinct inputs to one output
    for name, points in {
        "duffing": [(-1.0, 0.0), (0.0, 0.0), (1.0, 0.0)],
        "complex_square": [(0.3, 0.6), (-0.3, -0.6)],
    }.items():
        Y = VECTOR_FIELDS[name][0](np.array(points))
        np.testing.assert_allclose(Y - Y[0], 0, atol=1e-12)
        assert VECTOR_FIELDS[name][2] is False
    # the injective ones: no two grid points closer in output than 1/10 of input
    g = np.linspace(-1, 1, 31)
    X = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    for name in ("rotation", "saddle"):
        func, _, injective = VECTOR_FIELDS[name]
        assert injective
        Y = func(X)
        dx, dy = cdist(X, X), cdist(Y, Y)
        off = ~np.eye(len(X), dtype=bool)
        assert (dy[off] / dx[off]).min() > 0.1, name


def test_vector_field_task_noise_and_callable():
    X, Y = make_vector_field_task(
        3000, field=lambda X: X[:, ::-1], noise=0.2, random_state=1
    )
    assert X.shape == Y.shape == (3000, 2)
    assert (Y - X[:, ::-1]).std() == pytest.approx(0.2, rel=0.05)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: make_scalar_task(function="nope"),
            r"'function' .* of make_scalar_task .*'sine'.* Got 'nope'",
        ),
        (
            lambda: make_vector_field_task(field="nope"),
            r"'field' .*'duffing'.* or a callable\. Got 'nope'",
        ),
        (
            lambda: make_scalar_task(0),
            r"'n_samples' .* an int in the range \[1, inf\)\. Got 0 ",
        ),
        (lambda: make_scalar_task(2.5), r"'n_samples' .* an int .* Got 2\.5 "),
        (lambda: make_vector_field_task(-3), "'n_samples' .* Got -3 "),
        (lambda: make_scalar_task(domain=(1, -1)), "low < high"),
        (lambda: make_scalar_task(domain=(0, np.nan)), "domain"),
        (lambda: make_scalar_task(domain=3), r"'domain' .* an array-like\. Got 3 "),
        (lambda: make_scalar_task(noise=-1), r"'noise' .* \[0\.0, inf\)\. Got -1 "),
        (lambda: make_scalar_task(10, function=lambda x: x[:3]), "returned shape"),
        (
            lambda: make_vector_field_task(10, field=lambda X: X[:, 0]),
            r"returned shape \(10,\)",
        ),
    ],
)
def test_invalid_arguments_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_generators_do_not_import_torch():
    code = (
        "import sys; from skequiv.datasets import make_scalar_task, "
        "make_vector_field_task, make_rotating_object; "
        "make_scalar_task(5); make_vector_field_task(5); make_rotating_object(2); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
