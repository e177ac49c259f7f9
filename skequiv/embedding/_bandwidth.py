"""Kernel scale from data: the maximum slope of log sum W(eps) against log eps.

For the kernel ``W_ij = exp(-d_ij^2 / eps)`` on samples of a d-dimensional
manifold, ``S(eps) = sum_ij W_ij`` grows like ``eps^{d/2}`` in the range of
scales where the kernel is local but sees many neighbours; it flattens at
both ends (only self-weights for tiny eps, all weights ~1 for huge eps).
Berry & Harlim (2016) and Coifman et al. (2008) pick the eps of maximal slope
``d log S / d log eps``; twice that slope estimates the intrinsic dimension.

On a k-nearest-neighbour graph the pairs beyond the neighbour radius are not
edges, yet they belong in ``S``: without them ``S`` flattens once ``eps``
reaches the radius, the maximal slope moves to a far too small scale (30x on
a line with 10 neighbours) and the kernel nearly disconnects. They enter as a
second stratum, a uniform sample of the non-edge pairs (``far``).
"""

import numpy as np

_MAX_VALUES = 2**18


def bgh_epsilon(sq_dists, n_self, n_total, random_state, *, far=None):
    """Epsilon of maximal log-log slope and the dimension estimate.

    Parameters and the curve are those of :func:`log_slopes`.

    Returns
    -------
    epsilon : float
    dimension : float
        ``2 * max slope``.
    """
    eps, slopes = log_slopes(sq_dists, n_self, n_total, random_state, far=far)
    best = int(np.argmax(slopes))
    return float(eps[best]), float(2.0 * slopes[best])


def log_slopes(sq_dists, n_self, n_total, random_state, *, far=None):
    """``d log S / d log eps`` on a grid of eps, eighth octaves apart.

    Parameters
    ----------
    sq_dists : ndarray of shape (n_values,)
        Positive squared distances of (a sample of) the off-diagonal kernel
        entries.
    n_self : int
        Number of zero-distance (diagonal) entries, each of weight 1.
    n_total : int
        Number of off-diagonal entries that ``sq_dists`` stands for.
    random_state : RandomState
        Subsamples ``sq_dists`` when it holds more than 2**18 values.
    far : tuple (ndarray, int) or None, default=None
        Squared distances of a uniform sample of the pairs that
        ``sq_dists`` leaves out, and the number of off-diagonal entries they
        stand for (each unordered pair counts twice, as in ``n_total``).

    Returns
    -------
    eps : ndarray
        The grid, from 16x below the smallest distance to 16x above the largest.
    slopes : ndarray
        The slope at each ``eps``.
    """
    values = sq_dists[sq_dists > 0]
    n_zero_extra = (sq_dists.size - values.size) * (n_total / max(sq_dists.size, 1))
    if values.size == 0:
        raise ValueError(
            "All pairwise distances between the samples of `X` are zero (they "
            "coincide with their neighbours), so epsilon cannot be chosen from "
            "the data. Pass `X` with distinct samples (np.unique(X, axis=0) "
            "drops duplicates), or a float `epsilon`."
        )
    weight = n_total / sq_dists.size
    if values.size > _MAX_VALUES:
        # with replacement: O(_MAX_VALUES), where choice(replace=False) would
        # permute all of them (0.5 s for the 10^7 edges of a million samples)
        idx = random_state.randint(0, values.size, _MAX_VALUES)
        weight *= values.size / _MAX_VALUES
        values = values[idx]
    weights = np.full(values.size, weight)
    if far is not None and far[0].size:
        far_values, far_total = far
        values = np.concatenate([values, far_values])
        weights = np.concatenate(
            [weights, np.full(far_values.size, far_total / far_values.size)]
        )
        values, weights = values[values > 0], weights[values > 0]
    lo, hi = np.log2(values.min()), np.log2(values.max())
    log2_eps = np.arange(lo - 4.0, hi + 4.0 + 1e-9, 0.125)
    eps = 2.0**log2_eps
    sums = np.empty(eps.size)
    for k, e in enumerate(eps):
        sums[k] = weights @ np.exp(-values / e)
    sums = n_self + n_zero_extra + sums
    return eps, np.gradient(np.log(sums), np.log(eps))
