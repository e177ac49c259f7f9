"""Per-sample Jacobians by torch.func, in chunks of bounded memory."""

import warnings

import numpy as np

from skequiv.utils._torch import import_torch
from skequiv.utils._warnings import user_stacklevel

#: Rough upper bound, in bytes, on the transient memory of one Jacobian chunk.
MEMORY_BUDGET = 256 * 2**20

_MODES = {"auto", "forward", "reverse"}


def choose_mode(mode, n_inputs, n_outputs):
    """``"forward"`` or ``"reverse"``: forward mode when inputs are fewer than outputs.

    Forward mode pushes one tangent per input feature through the network,
    reverse mode pulls one cotangent per output, so the cheaper one is the one
    with fewer vectors.
    """
    if mode not in _MODES:  # pragma: no cover - guarded by parameter validation
        raise ValueError(f"jacobian_mode must be one of {sorted(_MODES)}; got {mode!r}")
    if mode == "auto":
        return "forward" if n_inputs < n_outputs else "reverse"
    return mode


def chunk_size(batch_size, n_tangents, numel_per_sample, itemsize):
    """Samples per chunk so that one chunk stays within :data:`MEMORY_BUDGET`.

    ``vmap`` over ``n_tangents`` tangent (or cotangent) vectors keeps about
    ``n_tangents`` copies of every intermediate activation of a sample alive;
    ``numel_per_sample`` counts those activations (all submodule outputs of one
    sample, measured once at fit).
    """
    per_sample = max(1, n_tangents) * max(1, numel_per_sample) * itemsize
    return int(max(1, min(batch_size, MEMORY_BUDGET // per_sample)))


def per_sample_jacobian(func, mode):
    """``vmap`` of ``jacrev``/``jacfwd`` of ``func``, a map of one sample.

    ``func`` takes one sample (no batch dimension) and returns a 1-D tensor of
    ``m`` activations; the returned callable takes a batch of shape
    ``(b, *sample_shape)`` and returns ``(b, m, *sample_shape)``.
    """
    torch = import_torch()
    transform = torch.func.jacfwd if mode == "forward" else torch.func.jacrev
    return torch.func.vmap(transform(func))


def check_jacobians(jacobians):
    """``jacobians`` (n, m, d) unchanged, after refusing or flagging bad values.

    Non-finite entries are an error (the derivatives overflowed). Samples whose
    Jacobian is exactly zero get a warning: autograd returns zero through
    piecewise-constant operations (``round``, ``argmax``, steps) and dead or
    saturated units, so the metric there is empty, not small.
    """
    n = jacobians.shape[0]
    finite = np.isfinite(jacobians).reshape(n, -1).all(axis=1)
    if not finite.all():
        raise ValueError(
            f"The network's Jacobians are not finite (NaN or inf) at "
            f"{int(n - finite.sum())} of {n} samples (first: sample "
            f"{int(np.argmin(finite))}): the derivatives overflow the compute "
            "dtype. Rescale X to the range the network was trained on, or pass "
            "dtype='float64'."
        )
    zero = ~jacobians.reshape(n, -1).any(axis=1)
    if zero.all() and n:
        warnings.warn(
            f"The network's Jacobians are zero at all {n} samples: it is locally "
            "constant there (round(), argmax or step functions inside, or only "
            "dead or saturated units), so automatic differentiation sees no "
            "metric. Use metric='burst', which measures how the activations "
            "respond to finite perturbations, or read an earlier layer.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    elif zero.any():
        warnings.warn(
            f"The network's Jacobians are zero at {int(zero.sum())} of {n} samples "
            f"(first: sample {int(np.argmax(zero))}): dead or saturated units, or "
            "non-differentiable operations, leave no metric there. Consider "
            "metric='burst' or an earlier layer.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return jacobians
