"""Activations as units × samples: dense columns or conv channels, read in chunks.

Li et al. (2016) compare *units*: the columns of a dense layer, or the
channels of a convolutional layer, where every (input, spatial position) pair
is one sample. This module turns either layout into a stream of
``(samples, units)`` float64 blocks without copying the whole array, so that
statistics over millions of samples need only one block in memory at a time.
"""

import math
import numbers
import warnings

import numpy as np

from skequiv._compat import Interval, validate_data
from skequiv.utils._warnings import user_stacklevel

# target size of one float64 block of a chunk, for all units of both networks
_CHUNK_BYTES = 32 * 2**20

# parameter constraints shared by every function and estimator of the package
LAYOUT_CONSTRAINTS = {
    "spatial_shape": [
        None,
        tuple,
        list,
        Interval(numbers.Integral, 1, None, closed="left"),
    ],
    "chunk_size": [None, Interval(numbers.Integral, 1, None, closed="left")],
}


class Units:
    """A read-only view of activations as ``(n_samples, n_units)``.

    Layouts:

    - dense ``(n_inputs, n_units)``: one sample per input;
    - conv ``(n_inputs, n_channels, *spatial)``: channels are units, every
      (input, position) pair is a sample;
    - flattened conv ``(n_inputs, n_channels * prod(spatial))`` with
      ``spatial_shape`` given: the same, for arrays flattened in C order per
      input (as :class:`~skequiv.NetworkActivations` returns them).

    The array is never copied as a whole: :meth:`block` converts one range of
    inputs at a time to float64 and checks it for NaN and infinity.
    """

    def __init__(self, X, name, spatial_shape=None, min_samples=2):
        self.name = name
        X = _as_numeric_array(X, name)
        ndim = X.ndim
        if X.ndim < 2:
            raise ValueError(
                f"{name} must be 2-D (n_samples, n_units) or N-D (n_inputs, "
                f"n_channels, *spatial); got an array of shape {X.shape}. "
                "Use X.reshape(-1, 1) for a single unit."
            )
        if spatial_shape is not None:
            spatial = _check_spatial_shape(spatial_shape)
            if X.ndim == 2:
                size = math.prod(spatial)
                if X.shape[1] % size:
                    raise ValueError(
                        f"{name} has {X.shape[1]} columns, which is not a multiple "
                        f"of prod(spatial_shape)={size} (spatial_shape={spatial}); "
                        "pass the per-unit spatial shape of the flattened layer, "
                        "e.g. NetworkActivations.layer_shapes_[layer][1:]."
                    )
                X = X.reshape(X.shape[0], X.shape[1] // size, *spatial)
            elif tuple(X.shape[2:]) != spatial:
                raise ValueError(
                    f"{name} has spatial shape {tuple(X.shape[2:])}, but "
                    f"spatial_shape={spatial}; leave spatial_shape=None for "
                    "N-D arrays, or pass the matching shape."
                )
        self.flattened = spatial_shape is not None and ndim == 2
        self.array = X
        self.spatial = tuple(X.shape[2:])
        self.n_inputs = X.shape[0]
        self.n_units = X.shape[1]
        self.n_positions = math.prod(self.spatial)
        self.n_samples = self.n_inputs * self.n_positions
        if self.n_units < 1:
            raise ValueError(f"{name} has no units (shape {X.shape}).")
        if self.n_inputs < 1 or self.n_samples < min_samples:
            raise ValueError(
                f"{name} has {self.n_samples} sample(s) (shape {X.shape}); at "
                f"least {min_samples} are needed to compute statistics between "
                "units."
            )

    def block(self, start, stop):
        """Inputs ``start:stop`` as a new float64 ``(samples, units)`` array."""
        x = self.array[start:stop]
        if self.spatial:
            b, c = x.shape[:2]
            x = np.asarray(x).reshape(b, c, self.n_positions).transpose(0, 2, 1)
            x = x.reshape(b * self.n_positions, c)
        x = np.asarray(x, dtype=np.float64)
        if np.may_share_memory(x, self.array):
            x = x.copy()  # callers centre blocks in place
        if not np.isfinite(x).all():
            row = int(np.argmin(np.isfinite(x).all(axis=1)))
            raise ValueError(
                f"{self.name} contains NaN or infinity (first in input "
                f"{start + row // self.n_positions}); remove or impute those "
                "samples before comparing units."
            )
        return x

    def take(self, samples, units=slice(None)):
        """Float64 rows ``samples`` (indices into all samples) of ``units``."""
        inputs, positions = np.divmod(samples, self.n_positions)
        if not self.spatial:
            x = self.array[inputs, units]
        else:
            flat = self.array.reshape(self.n_inputs, self.n_units, self.n_positions)
            x = flat[inputs, units, positions]
        x = np.asarray(x, dtype=np.float64)
        if not np.isfinite(x).all():
            raise ValueError(
                f"{self.name} contains NaN or infinity; remove or impute those "
                "samples before comparing units."
            )
        return x

    def restore(self, Z, n_inputs):
        """``(samples, k)`` values back to this layout, ``k`` playing units."""
        if not self.spatial:
            return Z
        k = Z.shape[1]
        out = Z.reshape(n_inputs, self.n_positions, k).transpose(0, 2, 1)
        out = out.reshape(n_inputs, k, *self.spatial)
        if self.flattened:
            out = out.reshape(n_inputs, k * self.n_positions)
        return np.ascontiguousarray(out)


def _check_spatial_shape(spatial_shape):
    if isinstance(spatial_shape, numbers.Integral):
        spatial_shape = (spatial_shape,)
    try:
        spatial = tuple(int(s) for s in spatial_shape)
        ok = all(s >= 1 for s in spatial) and len(spatial) >= 1
        ok = ok and all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool)
            for s in spatial_shape
        )
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(
            "spatial_shape must be None or a tuple of positive ints such as "
            f"(height, width); got {spatial_shape!r}."
        )
    return spatial


def _as_numeric_array(X, name):
    if not hasattr(X, "shape") or not hasattr(X, "dtype"):
        try:
            X = np.asarray(X)
        except ValueError as exc:
            raise ValueError(
                f"{name} must be a rectangular numeric array; got {type(X).__name__} "
                f"({exc})."
            ) from exc
    kind = np.dtype(X.dtype).kind
    if kind == "c":
        raise ValueError(f"{name} is complex ({X.dtype}); pass real activations.")
    if kind not in "biuf":
        try:
            X = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{name} must be numeric; got dtype {X.dtype} ({exc})."
            ) from exc
    return X


def paired_units(A, B, spatial_shape=None, names=("A", "B")):
    """:class:`Units` for A and B, checked to have the same samples."""
    a = Units(A, names[0], spatial_shape)
    b = a if B is None else Units(B, names[1], spatial_shape)
    if b.n_inputs != a.n_inputs:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of inputs (the "
            f"same rows, in the same order); got {a.n_inputs} and {b.n_inputs}."
        )
    if b.spatial != a.spatial:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same spatial shape, since "
            "every (input, position) pair is one sample; got "
            f"{a.spatial or 'dense'} and {b.spatial or 'dense'}. Pool or crop one "
            "of them first."
        )
    return a, b


def input_chunks(units, chunk_size=None, width=None):
    """Ranges of inputs covering about ``chunk_size`` samples each.

    ``width`` is the number of float64 columns processed per sample (all
    units of both networks by default); the automatic chunk keeps one block
    near 32 MiB.
    """
    if chunk_size is None:
        width = width or units.n_units
        chunk_size = max(256, _CHUNK_BYTES // (8 * width))
    step = max(1, int(chunk_size) // units.n_positions)
    for start in range(0, units.n_inputs, step):
        yield start, min(start + step, units.n_inputs)


def warn_constant(name, constant, what):
    """Warn that the units ``constant`` (a boolean mask) are constant."""
    idx = np.flatnonzero(constant)
    if idx.size:
        shown = ", ".join(map(str, idx[:10])) + (", ..." if idx.size > 10 else "")
        warnings.warn(
            f"{name} has {idx.size} constant (dead) unit(s) [{shown}]; {what}",
            ConstantUnitWarning,
            stacklevel=user_stacklevel(),
        )


class ConstantUnitWarning(UserWarning):
    """A unit has the same value on every sample (a dead ReLU, a saturated unit).

    Its correlation with anything is undefined; skequiv sets it to 0 (and
    its mutual information to 0) instead of returning NaN.
    """


_NAMES = ("X (network A)", "y (network B)")
_CHECK = {"allow_nd": True, "dtype": (np.float64, np.float32), "ensure_min_samples": 1}


def validate_pair(estimator, X, y, *, reset):
    """Validate A's and B's activations for an estimator; return their Units.

    On ``reset`` the layout is stored (``n_units_a_``, ``n_units_b_``,
    ``spatial_shape_``); otherwise it is checked against the fitted one.
    Returns ``(a, b, y_was_1d)``.
    """
    X, y = validate_data(
        estimator,
        X,
        y,
        reset=reset,
        validate_separately=(_CHECK, {**_CHECK, "ensure_2d": False}),
    )
    y_1d = y.ndim == 1
    if y_1d:
        y = y[:, None]
    a, b = paired_units(X, y, estimator.spatial_shape, names=_NAMES)
    if reset:
        estimator.n_units_a_ = a.n_units
        estimator.n_units_b_ = b.n_units
        estimator.spatial_shape_ = a.spatial
    else:
        check_layout(estimator, a)
        check_layout(estimator, b, which="b")
    return a, b, y_1d


def validate_single(estimator, X):
    """Validate A's activations at transform/predict time; return their Units."""
    X = validate_data(estimator, X, reset=False, **_CHECK)
    a = Units(X, _NAMES[0], estimator.spatial_shape, min_samples=1)
    check_layout(estimator, a)
    return a


def check_layout(estimator, units, which="a"):
    n_units = getattr(estimator, f"n_units_{which}_")
    name = type(estimator).__name__
    if units.n_units != n_units or units.spatial != estimator.spatial_shape_:
        raise ValueError(
            f"{units.name} has {units.n_units} unit(s) with spatial shape "
            f"{units.spatial or '() (dense)'}, but {name} was fitted on "
            f"{n_units} unit(s) with spatial shape "
            f"{estimator.spatial_shape_ or '() (dense)'}."
        )
