"""Regression tasks for the seed paper's experiments (a) and (b), in numpy only.

(a) scalar functions of a scalar input, (b) planar vector fields R² → R².
Nothing here imports torch.
"""

import numbers
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from skequiv._compat import Interval, StrOptions, validate_params

# name -> (function of a 1-D array, short description). Monotonic ones first.
SCALAR_FUNCTIONS = {
    "identity": (lambda x: x, "x (monotonic)"),
    "tanh": (lambda x: np.tanh(2.0 * x), "tanh(2x) (monotonic)"),
    "cubic": (lambda x: x**3 + 0.5 * x, "x³ + x/2 (monotonic)"),
    "exp": (lambda x: np.exp(x), "exp(x) (monotonic)"),
    "square": (lambda x: x**2, "x² (non-monotonic, even)"),
    "shifted_square": (
        lambda x: (x - 0.3) ** 2,
        "(x − 0.3)² (non-monotonic; neither it nor x² is a function of the other)",
    ),
    "sine": (lambda x: np.sin(np.pi * x), "sin(πx) (non-monotonic)"),
    "cosine": (lambda x: np.cos(np.pi * x), "cos(πx) (non-monotonic, even)"),
    "gaussian": (
        lambda x: np.exp(-4.0 * x**2),
        "exp(−4x²) (non-monotonic bump, even)",
    ),
}


def _duffing(X):
    # The Duffing oscillator's vector field (x, v) -> (v, x − x³ − δv), δ = 0.2:
    # x − x³ takes each value in (−0.385, 0.385) three times on [−1, 1], so the
    # output does not determine the input.
    x, v = X[:, 0], X[:, 1]
    return np.column_stack([v, x - x**3 - 0.2 * v])


def _rotation(X):
    # A twist: rotation by an angle that grows with the radius, (r, θ) -> (r, θ + r²).
    # Smooth, nonlinear and injective.
    x, y = X[:, 0], X[:, 1]
    angle = x**2 + y**2
    c, s = np.cos(angle), np.sin(angle)
    return np.column_stack([c * x - s * y, s * x + c * y])


def _saddle(X):
    # A saddle at the origin with quadratic terms, (x + 0.4y², −y + 0.4x²).
    # Injective on [−1, 1]²: equal images force |Δx| ≤ 0.8|Δy| ≤ 0.64|Δx|.
    x, y = X[:, 0], X[:, 1]
    return np.column_stack([x + 0.4 * y**2, -y + 0.4 * x**2])


def _complex_square(X):
    # z -> z², i.e. (x, y) -> (x² − y², 2xy): 2-to-1, since z and −z agree.
    x, y = X[:, 0], X[:, 1]
    return np.column_stack([x**2 - y**2, 2.0 * x * y])


# name -> (field, description, whether the field is injective on [-1, 1]²)
VECTOR_FIELDS = {
    "duffing": (
        _duffing,
        "Duffing field (x, v) ↦ (v, x − x³ − 0.2v); not injective",
        False,
    ),
    "complex_square": (
        _complex_square,
        "z ↦ z²: (x, y) ↦ (x² − y², 2xy); 2-to-1, not injective",
        False,
    ),
    "rotation": (
        _rotation,
        "radius-dependent rotation (twist) by r² radians; injective",
        True,
    ),
    "saddle": (
        _saddle,
        "saddle with quadratic terms, (x + 0.4y², −y + 0.4x²); injective on [−1, 1]²",
        True,
    ),
}


def _check_n_samples(n_samples, name="n_samples"):
    if (
        isinstance(n_samples, bool)
        or not isinstance(n_samples, numbers.Integral)
        or n_samples < 1
    ):
        raise ValueError(f"{name} must be an integer >= 1, got {n_samples!r}.")
    return int(n_samples)


def _check_domain(domain):
    try:
        low, high = (float(v) for v in domain)
    except (TypeError, ValueError):
        raise ValueError(
            f"domain must be a pair (low, high) of finite numbers, got {domain!r}."
        ) from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(
            f"domain must be a pair (low, high) of finite numbers with low < high, "
            f"got {domain!r}."
        )
    return low, high


def _check_noise(noise):
    if (
        isinstance(noise, bool)
        or not isinstance(noise, numbers.Real)
        or not np.isfinite(noise)
        or noise < 0
    ):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}.")
    return float(noise)


def _resolve(name_or_callable, table, kind):
    """Return (callable, name) for a name in ``table`` or a callable."""
    if callable(name_or_callable):
        return name_or_callable, getattr(name_or_callable, "__name__", "callable")
    if isinstance(name_or_callable, str) and name_or_callable in table:
        return table[name_or_callable][0], name_or_callable
    raise ValueError(
        f"Unknown {kind} {name_or_callable!r}; valid names are "
        f"{sorted(table)}, or pass a callable."
    )


_TASK_CONSTRAINTS = {
    "n_samples": [Interval(Integral, 1, None, closed="left")],
    # a pair (low, high); its values are checked by _check_domain
    "domain": ["array-like"],
    "noise": [Interval(Real, 0, None, closed="left")],
    "random_state": ["random_state"],
}


@validate_params(
    {
        **_TASK_CONSTRAINTS,
        "function": [StrOptions(set(SCALAR_FUNCTIONS)), callable],
    },
    prefer_skip_nested_validation=True,
)
def make_scalar_task(
    n_samples=1000, *, function="sine", domain=(-1.0, 1.0), noise=0.0, random_state=None
):
    """Sample a scalar function of a scalar input: experiment (a) of the seed paper.

    Inputs are drawn uniformly from ``domain``; targets are ``function(x)`` plus
    optional Gaussian noise. Networks trained on such data are the simplest case
    of the equivalence question: the intrinsic dimension is d = 1, and for a
    non-monotonic function the output alone does not determine the input, so
    internal neurons are needed to reconstruct it.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of samples, at least 1.
    function : str or callable, default="sine"
        The function learned. Monotonic names: ``"identity"`` (x), ``"tanh"``
        (tanh 2x), ``"cubic"`` (x³ + x/2), ``"exp"``. Non-monotonic names:
        ``"square"`` (x²), ``"shifted_square"`` ((x − 0.3)²), ``"sine"``
        (sin πx), ``"cosine"`` (cos πx), ``"gaussian"`` (exp(−4x²)).
        A callable receives a 1-D float array of inputs and returns an array
        of the same length. Useful pairs: ``"identity"`` and ``"square"`` (the
        second output is a function of the first, not the converse);
        ``"square"`` and ``"shifted_square"`` (neither is a function of the
        other on [−1, 1]).
    domain : tuple of two floats, default=(-1.0, 1.0)
        Interval ``(low, high)`` the inputs are drawn from, ``low < high``.
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to the targets.
    random_state : int, RandomState instance or None, default=None
        Seed for the inputs and the noise.

    Returns
    -------
    X : ndarray of shape (n_samples, 1)
        Inputs, float64.
    y : ndarray of shape (n_samples, 1)
        Targets, float64 (2-D, since the networks have one output neuron).

    See Also
    --------
    make_vector_field_task : Experiment (b), planar vector fields.
    load_experiment : Data plus a pair of trained networks.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv.datasets import make_scalar_task
    >>> X, y = make_scalar_task(5, function="square", random_state=0)
    >>> X.shape, y.shape
    ((5, 1), (5, 1))
    >>> bool(np.allclose(y, X**2))
    True
    """
    n_samples = _check_n_samples(n_samples)
    func, _ = _resolve(function, SCALAR_FUNCTIONS, "function")
    low, high = _check_domain(domain)
    noise = _check_noise(noise)
    rng = check_random_state(random_state)

    x = rng.uniform(low, high, size=n_samples)
    y = np.asarray(func(x), dtype=np.float64)
    if y.shape not in {(n_samples,), (n_samples, 1)}:
        raise ValueError(
            f"function must map a 1-D array of {n_samples} inputs to {n_samples} "
            f"values; it returned shape {y.shape}."
        )
    y = y.reshape(n_samples, 1)
    if noise > 0:
        y = y + noise * rng.standard_normal(y.shape)
    return x.reshape(n_samples, 1), y


@validate_params(
    {**_TASK_CONSTRAINTS, "field": [StrOptions(set(VECTOR_FIELDS)), callable]},
    prefer_skip_nested_validation=True,
)
def make_vector_field_task(
    n_samples=1000, *, field="duffing", domain=(-1.0, 1.0), noise=0.0, random_state=None
):
    """Sample a planar vector field R² → R²: experiment (b) of the seed paper.

    Inputs are drawn uniformly from the square ``domain × domain``; targets are
    the field's values there, plus optional Gaussian noise. The intrinsic
    dimension is d = 2; for the non-injective fields the output does not
    determine the input, so internal neurons are needed to reconstruct it
    (at most 2d + 1 = 5 of them, by Whitney's theorem).

    Parameters
    ----------
    n_samples : int, default=1000
        Number of samples, at least 1.
    field : str or callable, default="duffing"
        The vector field learned:

        - ``"duffing"``: (x, v) ↦ (v, x − x³ − 0.2v), the Duffing oscillator;
          not injective (x − x³ takes values three times).
        - ``"complex_square"``: z ↦ z², (x, y) ↦ (x² − y², 2xy); 2-to-1.
        - ``"rotation"``: rotation by r² radians about the origin (a twist);
          injective.
        - ``"saddle"``: (x, y) ↦ (x + 0.4y², −y + 0.4x²), a saddle with
          quadratic terms; injective on [−1, 1]².

        A callable receives an array of shape (n, 2) and returns one of
        shape (n, 2).
    domain : tuple of two floats, default=(-1.0, 1.0)
        Interval ``(low, high)`` for each input coordinate, ``low < high``.
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to the targets.
    random_state : int, RandomState instance or None, default=None
        Seed for the inputs and the noise.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
        Inputs, float64.
    Y : ndarray of shape (n_samples, 2)
        Field values, float64.

    See Also
    --------
    make_scalar_task : Experiment (a), scalar functions.
    load_experiment : Data plus a pair of trained networks.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv.datasets import make_vector_field_task
    >>> X, Y = make_vector_field_task(4, field="complex_square", random_state=0)
    >>> X.shape, Y.shape
    ((4, 2), (4, 2))
    >>> bool(np.allclose(Y[:, 1], 2 * X[:, 0] * X[:, 1]))
    True
    """
    n_samples = _check_n_samples(n_samples)
    func, _ = _resolve(field, VECTOR_FIELDS, "field")
    low, high = _check_domain(domain)
    noise = _check_noise(noise)
    rng = check_random_state(random_state)

    X = rng.uniform(low, high, size=(n_samples, 2))
    Y = np.asarray(func(X), dtype=np.float64)
    if Y.shape != (n_samples, 2):
        raise ValueError(
            f"field must map an array of shape ({n_samples}, 2) to one of the same "
            f"shape; it returned shape {Y.shape}."
        )
    if noise > 0:
        Y = Y + noise * rng.standard_normal(Y.shape)
    return X, Y
