"""Precision factors: rank-r square roots of pseudo-inverted local covariances.

For a local covariance ``C_i = J_i J_i^T`` (m x m, rank r) the Mahalanobis
distance of Singer & Coifman needs ``dy^T C_i^+ dy``. With the eigen-
decomposition ``C_i = U L U^T`` (kept components only),

    C_i^+ = P_i^T P_i,      P_i = L^{-1/2} U^T      (r x m),

so ``dy^T C_i^+ dy = ||P_i dy||^2``. For Jacobians ``J_i = U S V^T`` the
same factor is ``P_i = S^{-1} U^T`` (``V`` drops out of the norm), computed
without ever forming ``C_i``. All samples are decomposed in one batched
LAPACK call, in float64.
"""

import numbers
import warnings

import numpy as np

__all__ = ["check_metric_data", "precision_factors", "warn_if_ranks_vary"]


def check_metric_data(X_n, X_m, jacobians=None, covariances=None):
    """Validate per-sample metric data against observations of shape (n, m).

    Returns ``(jacobians, covariances)`` as float64 arrays (either may be None).
    Raises a ValueError naming the argument and the expected shape.
    """
    if jacobians is not None and covariances is not None:
        raise ValueError(
            "Pass either `jacobians` or `covariances`, not both; they describe the "
            "same local metric (C_i = J_i J_i^T)."
        )
    if jacobians is not None:
        jacobians = np.asarray(jacobians, dtype=np.float64)
        if jacobians.ndim == 2 and X_m == 1:
            jacobians = jacobians[:, None, :]
        if jacobians.ndim != 3 or jacobians.shape[:2] != (X_n, X_m):
            raise ValueError(
                f"`jacobians` must have shape (n_samples, n_features, n_intrinsic) = "
                f"({X_n}, {X_m}, d) to match X of shape ({X_n}, {X_m}); got shape "
                f"{jacobians.shape}."
            )
        if not np.all(np.isfinite(jacobians)):
            raise ValueError("`jacobians` contains NaN or infinity.")
    if covariances is not None:
        covariances = np.asarray(covariances, dtype=np.float64)
        if covariances.ndim != 3 or covariances.shape != (X_n, X_m, X_m):
            raise ValueError(
                f"`covariances` must have shape (n_samples, n_features, n_features) = "
                f"({X_n}, {X_m}, {X_m}) to match X of shape ({X_n}, {X_m}); got shape "
                f"{covariances.shape}."
            )
        if not np.all(np.isfinite(covariances)):
            raise ValueError("`covariances` contains NaN or infinity.")
    return jacobians, covariances


def _check_rank(rank):
    if rank is None:
        return None
    if isinstance(rank, numbers.Integral) and not isinstance(rank, bool):
        if rank < 1:
            raise ValueError(f"`rank` must be an integer >= 1; got {rank}.")
        return int(rank)
    if isinstance(rank, numbers.Real) and 0 < rank < 1:
        return float(rank)
    raise ValueError(
        "`rank` must be None (numerical rank), an integer >= 1 (fixed rank), or a "
        f"float in (0, 1) (relative eigenvalue tolerance); got {rank!r}."
    )


def precision_factors(
    jacobians=None,
    covariances=None,
    *,
    rank=None,
    regularization=0.0,
    batch_size=65536,
):
    """Rank-truncated factors ``P_i`` with ``P_i^T P_i = C_i^+`` for every sample.

    Parameters
    ----------
    jacobians : ndarray of shape (n, m, d), default=None
        Local Jacobians; ``C_i = J_i J_i^T``.
    covariances : ndarray of shape (n, m, m), default=None
        Local covariances (symmetrised before use).
    rank : int, float or None, default=None
        Which eigen-components of ``C_i`` (eigenvalues ``l_1 >= l_2 >= ...``,
        i.e. squared singular values of ``J_i``) to keep:

        - ``None``: the numerical rank, ``l_k > max(m, d) * eps * l_1``;
        - int ``r``: the ``r`` largest, fewer where the numerical rank is lower;
        - float ``tol`` in (0, 1): those with ``l_k > tol * l_1``.
    regularization : float, default=0.0
        ``lam >= 0``. Kept components are inverted as ``1 / (l_k + lam)``. With
        ``rank=None`` and ``lam > 0`` every one of the ``m`` directions is kept,
        so the precision is exactly ``(C_i + lam I)^{-1}``.
    batch_size : int, default=65536
        Samples decomposed per LAPACK call (bounds temporary memory).

    Returns
    -------
    factors : ndarray of shape (n, r_max, m)
        ``P_i``, zero-padded below sample ``i``'s rank; float64.
    ranks : ndarray of shape (n,)
        Number of components kept for each sample.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv.metric._factors import precision_factors
    >>> J = np.array([[[2.0], [0.0]]])  # one sample, m=2, d=1
    >>> P, ranks = precision_factors(jacobians=J)
    >>> P, ranks
    (array([[[0.5, 0. ]]]), array([1]))
    """
    if (jacobians is None) == (covariances is None):
        raise ValueError("Pass exactly one of `jacobians` and `covariances`.")
    rank = _check_rank(rank)
    if not isinstance(regularization, numbers.Real) or not regularization >= 0:
        raise ValueError(
            f"`regularization` must be a float >= 0; got {regularization!r}."
        )
    lam = float(regularization)
    if jacobians is not None:
        jacobians = np.asarray(jacobians, dtype=np.float64)
        n, m, d = jacobians.shape
        if lam > 0 and rank is None:
            # (C + lam I)^{-1} needs the null space of J as well: go through C.
            covariances = np.matmul(jacobians, jacobians.transpose(0, 2, 1))
            jacobians = None
    if covariances is not None:
        covariances = np.asarray(covariances, dtype=np.float64)
        n, m, _ = covariances.shape
        d = m

    # the SVD of an m x d Jacobian has min(m, d) components; covariances (and
    # Jacobians turned into them above) have d = m
    full_rank_cap = min(m, d)
    r_cap = full_rank_cap if not isinstance(rank, int) else min(rank, full_rank_cap)
    eps_tol = max(m, d) * np.finfo(np.float64).eps

    factors = np.zeros((n, r_cap, m), dtype=np.float64)
    ranks = np.zeros(n, dtype=np.intp)
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        if jacobians is not None:
            U, s, _ = np.linalg.svd(jacobians[start:stop], full_matrices=False)
            evals = s**2  # descending
        else:
            C = covariances[start:stop]
            C = 0.5 * (C + C.transpose(0, 2, 1))
            evals, U = np.linalg.eigh(C)
            evals, U = evals[:, ::-1], U[:, :, ::-1]  # descending
            evals = np.maximum(evals, 0.0)
        top = evals[:, :1]
        if lam > 0 and rank is None:
            keep = np.ones_like(evals, dtype=bool)
        elif isinstance(rank, float):
            keep = evals > rank * top
        else:
            keep = evals > eps_tol * top
            if isinstance(rank, int):
                keep[:, rank:] = False
        keep = keep[:, :r_cap]
        evals, U = evals[:, :r_cap], U[:, :, :r_cap]
        with np.errstate(divide="ignore"):
            scale = np.where(keep, 1.0 / np.sqrt(evals + lam), 0.0)
        # P = diag(scale) U^T, with discarded components zeroed
        factors[start:stop] = scale[:, :, None] * U.transpose(0, 2, 1)
        ranks[start:stop] = keep.sum(axis=1)

    r_max = int(ranks.max()) if n else 0
    factors = factors[:, : max(r_max, 1)]
    return factors, ranks


def warn_if_ranks_vary(ranks, *, stacklevel=3):
    """Warn when per-sample ranks are not all equal (saturated or dead units)."""
    if ranks.size and ranks.min() != ranks.max():
        values, counts = np.unique(ranks, return_counts=True)
        summary = ", ".join(
            f"rank {v}: {c}" for v, c in zip(values, counts, strict=True)
        )
        warnings.warn(
            f"The local metric has different ranks across samples ({summary}). "
            "Saturated or dead units make covariances near-singular; set `rank` "
            "to an integer to fix the rank, or raise `regularization`.",
            UserWarning,
            stacklevel=stacklevel,
        )
