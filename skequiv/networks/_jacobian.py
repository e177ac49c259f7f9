"""Per-sample Jacobians by torch.func, in chunks of bounded memory."""

from skequiv.utils._torch import import_torch

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
