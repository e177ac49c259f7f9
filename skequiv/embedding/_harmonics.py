"""Harmonic (repeated) eigendirections by local linear regression (Dsilva et al. 2018).

Eigenvector ``phi_k`` is a *harmonic* of earlier ones when it is a function of
``phi_1 .. phi_{k-1}`` (``cos 2 theta`` after ``cos theta``). For each ``k`` we
fit ``phi_k(i) ~ a_i + b_i^T Phi_{k-1}(i)`` by kernel-weighted least squares,
leave-one-out, with Gaussian weights in ``Phi_{k-1}``, and report the normalised
residual ``r_k = sqrt(sum (phi_k - fit)^2 / sum phi_k^2)``. ``r_1 = 1``; small
``r_k`` means a harmonic, ``r_k`` near 1 a new direction.
"""

import numpy as np
from scipy.spatial.distance import pdist, squareform

from skequiv.utils._threads import one_thread

_MAX_SAMPLES = 2000


def local_linear_residuals(phi, random_state, *, scale_factor=3.0, ridge=1e-8):
    """Leave-one-out local-linear-regression residuals of each column of ``phi``.

    Parameters
    ----------
    phi : ndarray of shape (n, K)
        Non-trivial eigenvectors, in order.
    random_state : RandomState
        Subsamples to 2000 rows when ``n`` is larger (the cost is O(n^2 K^2)).
    scale_factor : float, default=3.0
        Kernel scale = median pairwise distance / ``scale_factor`` (as in the paper).
    ridge : float, default=1e-8
        Tikhonov term, relative to the weighted Gram matrix's trace, so that
        isolated points give a finite fit.

    Returns
    -------
    residuals : ndarray of shape (K,)
    """
    with one_thread(user_api="blas"):  # small batched solves
        return _residuals(phi, random_state, scale_factor, ridge)


def _residuals(phi, random_state, scale_factor, ridge):
    n, K = phi.shape
    if n > _MAX_SAMPLES:
        phi = phi[np.sort(random_state.choice(n, _MAX_SAMPLES, replace=False))]
        n = _MAX_SAMPLES
    residuals = np.ones(K)
    for k in range(1, K):
        target = phi[:, k]
        regressors = phi[:, :k]
        dist = squareform(pdist(regressors))
        scale = np.median(dist[np.triu_indices(n, 1)]) / scale_factor
        W = np.exp(-((dist / max(scale, np.finfo(float).tiny)) ** 2))
        np.fill_diagonal(W, 0.0)  # leave one out
        A = np.hstack([np.ones((n, 1)), regressors])  # (n, p)
        p = A.shape[1]
        outer = (A[:, :, None] * A[:, None, :]).reshape(n, p * p)
        gram = (W @ outer).reshape(n, p, p)
        rhs = W @ (A * target[:, None])  # (n, p)
        trace = np.trace(gram, axis1=1, axis2=2)
        gram += (ridge * np.maximum(trace, np.finfo(float).tiny))[
            :, None, None
        ] * np.eye(p)
        coef = np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]
        fit = np.einsum("ip,ip->i", A, coef)
        denom = np.sum(target**2)
        residuals[k] = (
            np.sqrt(np.sum((target - fit) ** 2) / denom) if denom > 0 else 0.0
        )
    return residuals
