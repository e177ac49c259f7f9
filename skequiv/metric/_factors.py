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

from skequiv._compat import Interval, StrOptions, validate_params
from skequiv.utils._threads import one_thread
from skequiv.utils._warnings import user_stacklevel

__all__ = [
    "AUTO_RELATIVE_REGULARIZATION",
    "local_spectra",
    "precision_factors",
    "resolve_regularization",
    "warn_if_ranks_vary",
]

#: ``regularization="auto"``: this times the median largest local eigenvalue
AUTO_RELATIVE_REGULARIZATION = 1e-3


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


_DATA = ["array-like", None]
_BATCH = [Interval(numbers.Integral, 1, None, closed="left")]
_REGULARIZATION = [StrOptions({"auto"}), Interval(numbers.Real, 0, None, closed="left")]


@validate_params(
    {"jacobians": _DATA, "covariances": _DATA, "batch_size": _BATCH},
    prefer_skip_nested_validation=True,
)
def local_spectra(jacobians=None, covariances=None, *, batch_size=65536):
    """Eigen-decomposition of each local covariance, in float64 batches.

    Parameters
    ----------
    jacobians : ndarray of shape (n, m, d), default=None
        Local Jacobians; decomposed by an SVD, ``C_i = J_i J_i^T`` never formed.
    covariances : ndarray of shape (n, m, m), default=None
        Local covariances (symmetrised before use).
    batch_size : int, default=65536
        Samples decomposed per LAPACK call (bounds temporary memory).

    Returns
    -------
    eigenvalues : ndarray of shape (n, k)
        Eigenvalues of ``C_i``, descending; ``k = min(m, d)`` for Jacobians,
        ``m`` for covariances.
    vectors : ndarray of shape (n, k, m)
        The matching eigenvectors, as rows.

    Raises
    ------
    ValueError
        When a covariance has a negative eigenvalue beyond round-off (it is
        not positive semi-definite), naming the sample and the fix.

    Notes
    -----
    Metric sources that compute Jacobians in chunks reduce each chunk with
    this function, so that the Jacobians are never held whole; the result is
    passed to :func:`precision_factors` as ``spectra``.
    """
    if (jacobians is None) == (covariances is None):
        raise ValueError("Pass exactly one of `jacobians` and `covariances`.")
    # one small LAPACK call per sample: multithreaded OpenBLAS stalls on them
    # (100 SVDs of 1,024 x 64: 60 s with the default threads on 2 loaded
    # cores, 0.9 s on one thread)
    with one_thread("blas"):
        return _local_spectra(jacobians, covariances, batch_size)


def _local_spectra(jacobians, covariances, batch_size):
    data = np.asarray(jacobians if covariances is None else covariances)
    n, m = data.shape[:2]
    k = min(m, data.shape[2])
    evals = np.empty((n, k), dtype=np.float64)
    vectors = np.empty((n, k, m), dtype=np.float64)
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        block = np.asarray(data[start:stop], dtype=np.float64)
        if covariances is None:
            U, s, _ = np.linalg.svd(block, full_matrices=False)
            evals[start:stop] = s**2  # descending
        else:
            block = 0.5 * (block + block.transpose(0, 2, 1))
            lam, U = np.linalg.eigh(block)
            lam, U = lam[:, ::-1], U[:, :, ::-1]  # descending
            _check_semidefinite(lam, start)
            evals[start:stop] = np.maximum(lam, 0.0)
        vectors[start:stop] = U.transpose(0, 2, 1)
    return evals, vectors


def _check_semidefinite(evals, offset):
    """Raise unless every covariance is positive semi-definite up to round-off."""
    top = np.abs(evals).max(axis=1)
    tol = evals.shape[1] * 1e3 * np.finfo(np.float64).eps * top
    bad = np.flatnonzero(evals[:, -1] < -tol)
    if bad.size:
        i = int(bad[0])
        kind = "negative definite" if evals[i, 0] <= tol[i] else "indefinite"
        raise ValueError(
            f"`covariances` must be positive semi-definite, but {bad.size} are not "
            f"(e.g. sample {offset + i} is {kind}, with eigenvalues from "
            f"{evals[i, -1]:.3g} to {evals[i, 0]:.3g}). Pass covariances of the "
            "form J J^T (or an estimate such as the burst covariance), not their "
            "negatives or differences."
        )


@validate_params(
    {"regularization": _REGULARIZATION, "top_eigenvalues": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def resolve_regularization(regularization, top_eigenvalues):
    """The ridge ``lam``: a float as given, or the ``"auto"`` rule.

    ``"auto"`` is ``1e-3`` times the median over samples of the largest
    eigenvalue of ``C_i`` (``||J_i||_2^2``). Network Jacobians are
    near-singular where a unit saturates or the map folds; there ``C_i^+``
    explodes and the sample drifts away from its neighbours. A ridge scaled by
    the data's own local scale bounds it and keeps the default free of units.
    """
    if isinstance(regularization, str):  # "auto", the only string allowed
        top_eigenvalues = np.asarray(top_eigenvalues, dtype=np.float64)
        scale = float(np.median(top_eigenvalues)) if top_eigenvalues.size else 0.0
        return AUTO_RELATIVE_REGULARIZATION * scale if scale > 0 else 0.0
    return float(regularization)


@validate_params(
    {
        "jacobians": _DATA,
        "covariances": _DATA,
        "spectra": [tuple, list, None],
        "rank": [
            Interval(numbers.Integral, 1, None, closed="left"),
            Interval(numbers.Real, 0, 1, closed="neither"),
            None,
        ],
        "regularization": _REGULARIZATION,
        "batch_size": _BATCH,
        "return_eigenvalues": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def precision_factors(
    jacobians=None,
    covariances=None,
    *,
    spectra=None,
    rank=None,
    regularization=0.0,
    batch_size=65536,
    return_eigenvalues=False,
):
    """Rank-truncated factors ``P_i`` with ``P_i^T P_i = C_i^+`` for every sample.

    Parameters
    ----------
    jacobians : ndarray of shape (n, m, d), default=None
        Local Jacobians; ``C_i = J_i J_i^T``.
    covariances : ndarray of shape (n, m, m), default=None
        Local covariances (symmetrised before use).
    spectra : tuple of ndarrays, default=None
        ``(eigenvalues, vectors)`` as :func:`local_spectra` returns them, in
        place of ``jacobians``/``covariances``; the vectors are scaled in place
        into the factors (no second copy).
    rank : int, float or None, default=None
        Which eigen-components of ``C_i`` (eigenvalues ``l_1 >= l_2 >= ...``,
        i.e. squared singular values of ``J_i``) to keep:

        - ``None``: the numerical rank, ``l_k > max(m, d) * eps * l_1``;
        - int ``r``: the ``r`` largest, fewer where the numerical rank is lower;
        - float ``tol`` in (0, 1): those with ``l_k > tol * l_1``.
    regularization : float or "auto", default=0.0
        ``lam >= 0``. Kept components are inverted as ``1 / (l_k + lam)``. With
        ``rank=None`` and ``lam > 0`` every one of the ``m`` directions is kept,
        so the precision is exactly ``(C_i + lam I)^{-1}``. ``"auto"``: see
        :func:`resolve_regularization`.
    batch_size : int, default=65536
        Samples decomposed per LAPACK call (bounds temporary memory).
    return_eigenvalues : bool, default=False
        Also return the regularised eigenvalues ``l_k + lam`` of the kept
        components (zero for the others), shape (n, r_max).

    Returns
    -------
    factors : ndarray of shape (n, r_max, m)
        ``P_i``, zero-padded below sample ``i``'s rank; float64.
    ranks : ndarray of shape (n,)
        Number of components kept for each sample.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv.metric import precision_factors
    >>> J = np.array([[[2.0], [0.0]]])  # one sample, m=2, d=1
    >>> P, ranks = precision_factors(jacobians=J)
    >>> P, ranks
    (array([[[0.5, 0. ]]]), array([1]))
    """
    given = sum(v is not None for v in (jacobians, covariances, spectra))
    if given != 1:
        raise ValueError(
            "Pass exactly one of `jacobians`, `covariances` and `spectra`."
        )
    rank = _check_rank(rank)
    if spectra is None:
        if jacobians is not None and rank is None and regularization != 0:
            jacobians = np.asarray(jacobians, dtype=np.float64)
            with one_thread("blas"):  # per-sample SVDs
                top = np.linalg.norm(jacobians, ord=2, axis=(1, 2)) ** 2
            if resolve_regularization(regularization, top) > 0:
                # (C + lam I)^{-1} needs the null space of J as well: go through C
                covariances = np.matmul(jacobians, jacobians.transpose(0, 2, 1))
                jacobians = None
        spectra = local_spectra(jacobians, covariances, batch_size=batch_size)
    elif rank is None and regularization != 0:
        if spectra[1].shape[1] < spectra[1].shape[2]:
            raise ValueError(
                "`rank=None` with a positive `regularization` needs the full "
                "covariances (C + lam I)^-1, which Jacobian spectra do not carry; "
                "set `rank` to a float (e.g. 1e-8) to regularise the kept "
                "directions only."
            )
    evals, vectors = spectra
    m, k = vectors.shape[2], vectors.shape[1]
    lam = resolve_regularization(regularization, evals[:, 0] if k else evals[:, :0])
    keep = _kept(evals, rank, lam, max(m, k))
    with np.errstate(divide="ignore"):
        scale = np.where(keep, 1.0 / np.sqrt(evals + lam), 0.0)
    # P = diag(scale) U^T, with discarded components zeroed (in place: the
    # vectors may be the largest array of the fit)
    vectors *= scale[:, :, None]
    ranks = keep.sum(axis=1).astype(np.intp)
    r_max = int(ranks.max()) if ranks.size else 0
    # components are sorted by eigenvalue, so the kept ones come first
    r_max = max(r_max, 1)
    if return_eigenvalues:
        kept = np.where(keep, evals + lam, 0.0)[:, :r_max]
        return vectors[:, :r_max], ranks, kept
    return vectors[:, :r_max], ranks


def _kept(evals, rank, lam, size):
    """Boolean mask of the eigen-components each sample keeps."""
    top = evals[:, :1]
    if lam > 0 and rank is None:
        return np.ones_like(evals, dtype=bool)
    if isinstance(rank, float):
        return evals > rank * top
    keep = evals > size * np.finfo(np.float64).eps * top
    if isinstance(rank, int):
        keep[:, rank:] = False
    return keep


@validate_params({"ranks": ["array-like"]}, prefer_skip_nested_validation=True)
def warn_if_ranks_vary(ranks):
    """Warn when per-sample ranks are not all equal (saturated or dead units)."""
    ranks = np.asarray(ranks)
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
            stacklevel=user_stacklevel(),
        )
