"""Checks shared by every similarity measure: one representation, or a pair."""

import numpy as np
from sklearn.utils import check_array


def is_torch_tensor(X):
    """Whether ``X`` is a torch tensor, without importing torch."""
    return type(X).__module__.split(".")[0] == "torch" and hasattr(X, "device")


def check_representation(X, name="X", *, min_samples=2):
    """``X`` as a finite float64 (n, p) array with at least ``min_samples`` rows.

    Conv maps (n, C, H, W) are refused with the two usual ways to flatten them,
    since the choice changes the answer.
    """
    ndim = getattr(X, "ndim", None)
    if ndim is not None and ndim > 2:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_units), got shape {tuple(X.shape)}. "
            f"Flatten a conv map with {name}.reshape(len({name}), -1) (every "
            "channel-position a unit), or move channels last and use "
            f"reshape(-1, n_channels) (every input-position a sample, as in "
            "skequiv.correspondence)."
        )
    if is_torch_tensor(X):
        X = X.detach().cpu().numpy()
    X = check_array(X, dtype=np.float64, input_name=name, ensure_2d=True)
    n = X.shape[0]
    if n < min_samples:
        raise ValueError(
            f"{name} has {n} samples (rows); this measure needs at least {min_samples}."
        )
    return X


def centre(X, name="X"):
    """Column-centred copy of ``X``, scaled by a power of 2 to max |x̃| in [½, 1).

    A constant column's float mean can be off by an ulp, which would leave a
    tiny, meaningless "signal"; it is set to exactly 0, so dead units
    contribute nothing. Every measure is invariant to isotropic scaling, and a
    power of 2 scales exactly: activations of 1e200 or 1e-200 give the same
    answer as of 1, where their squares would overflow or vanish. Refuses a
    representation whose every unit is constant.
    """
    constant = np.ptp(X, axis=0) == 0
    if constant.all():
        raise ValueError(
            f"every column of {name} is constant, so it carries no signal and its "
            "similarity to anything is undefined; check that the layer is not dead "
            "(all units constant over the samples)."
        )
    X_centred = X - X.mean(axis=0)
    X_centred[:, constant] = 0.0
    return np.ldexp(X_centred, -power_of_two(np.max(np.abs(X_centred))))


def power_of_two(value):
    """The exponent e with value = m 2^e, m in [½, 1) (0 for 0 or non-finite)."""
    return int(np.frexp(value)[1]) if np.isfinite(value) and value > 0 else 0


def check_same_samples(n_x, n_y, names=("X", "Y")):
    """Rows are paired samples: both sides need the same number of them."""
    if n_x != n_y:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of samples "
            f"(rows are paired inputs), got {n_x} and {n_y}."
        )
