"""Representations in which classifier outputs can be compared: log-ratios."""

from numbers import Real

import numpy as np
from sklearn.utils.validation import check_array

from skequiv._compat import Interval, validate_params

# rows summing to 1 within this tolerance, with no negative entry, are
# probabilities
_SIMPLEX_TOL = 1e-4
# probabilities are clipped here before the logarithm: a classifier's
# 1e-300 and 1e-30 mean the same thing ("no"), and unclipped they would
# dominate every distance
DEFAULT_FLOOR = 1e-6


@validate_params({"P": ["array-like"]}, prefer_skip_nested_validation=True)
def is_probability(P):
    """Whether every row of ``P`` lies on the probability simplex (≥ 2 columns)."""
    P = np.asarray(P, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] < 2 or P.shape[0] == 0:
        return False
    return bool(
        np.all(P >= -_SIMPLEX_TOL)
        and np.allclose(P.sum(axis=1), 1.0, atol=_SIMPLEX_TOL)
    )


@validate_params(
    {"P": ["array-like"], "floor": [Interval(Real, 0, 1, closed="neither")]},
    prefer_skip_nested_validation=True,
)
def centered_log_ratio(P, *, floor=DEFAULT_FLOOR):
    """Centred log-ratio of class probabilities: ``log p_k - mean_j log p_j``.

    Softmax probabilities lie on the corners of a simplex: most entries are
    near 0 or 1, so a Gaussian kernel on them sees a few clusters with empty
    space between, and rows without kernel neighbours. The centred
    log-ratio (Aitchison 1982) maps the open simplex one-to-one onto the
    hyperplane ``Σ_k z_k = 0``; for a softmax output it recovers the logits
    up to their per-sample mean, so comparing it is comparing logits.
    Probabilities below ``floor`` are clipped (then each row renormalised)
    first, so that a confident 1e-300 does not outweigh everything else.

    Parameters
    ----------
    P : array-like of shape (n_samples, n_classes)
        Rows of non-negative probabilities summing to 1.
    floor : float, default=1e-6
        Smallest probability kept.

    Returns
    -------
    Z : ndarray of shape (n_samples, n_classes)
        Rows summing to 0.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv.equivalence import centered_log_ratio
    >>> logits = np.array([[2.0, 0.0, -1.0]])
    >>> p = np.exp(logits) / np.exp(logits).sum()
    >>> np.round(centered_log_ratio(p), 6)
    array([[ 1.666667, -0.333333, -1.333333]])
    """
    P = check_array(P, dtype=np.float64, input_name="P")
    if not is_probability(P):
        raise ValueError(
            "centered_log_ratio needs rows of non-negative probabilities summing "
            f"to 1 (within {_SIMPLEX_TOL:g}) and at least 2 columns; got an array "
            f"of shape {P.shape} that is not."
        )
    P = np.maximum(P, floor)
    P /= P.sum(axis=1, keepdims=True)
    logs = np.log(P)
    return logs - logs.mean(axis=1, keepdims=True)
