"""Burst estimates of the local covariance of a black-box map.

For a map ``f`` that can be evaluated but not differentiated, the local
covariance at ``x`` is estimated from a burst of perturbed inputs,

    C(x) = Cov_s[ f(x + sigma * xi_s) ] / sigma**2,   xi_s ~ N(0, I_d),

which tends to ``J(x) J(x)^T`` as ``sigma -> 0`` (Singer & Coifman 2008). The
division by ``sigma**2`` keeps ``C`` independent of the burst size, so the
kernel scale of the diffusion map does not depend on ``sigma``.
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state

from skequiv._compat import Interval, validate_params

__all__ = ["burst_covariances"]


def _as_2d_output(values, n_rows, name="func"):
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    if values.ndim != 2 or values.shape[0] != n_rows:
        raise ValueError(
            f"`{name}` must map an array of shape (b, d) to one of shape (b, m); "
            f"for b={n_rows} inputs it returned shape {np.shape(values)}."
        )
    return check_finite_output(values, name)


def check_finite_output(values, name):
    """``values`` (float64, one row per input) if finite, else a ValueError.

    What a user's callable returns is checked where it is called: an output
    that overflowed to infinity would otherwise travel on as an observation
    (or a metric) and surface as NaN coordinates far away.
    """
    finite = np.isfinite(values).reshape(values.shape[0], -1).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValueError(
            f"`{name}` returned NaN or infinity for {bad.size} of its "
            f"{values.shape[0]} inputs (first: row {bad[0]}); it must be finite "
            f"on `X`. Rescale `X` into the range where `{name}` is finite (e.g. "
            "with sklearn.preprocessing.StandardScaler), or make it numerically "
            "stable there."
        )
    return values


@validate_params(
    {
        "func": [callable],
        "X": ["array-like"],
        "sigma": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_bursts": [Interval(numbers.Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def burst_covariances(func, X, *, sigma, n_bursts, random_state=None, batch_size=None):
    """Observations and burst covariance estimates of ``func`` at each row of X.

    Parameters
    ----------
    func : callable
        Maps an ndarray of shape ``(b, d)`` to an ndarray of shape ``(b, m)``.
    X : array-like of shape (n_samples, d)
        Inputs at which to estimate the local covariance.
    sigma : float
        Standard deviation of the isotropic Gaussian perturbations.
    n_bursts : int
        Number of perturbed copies per sample (at least 2).
    random_state : int, RandomState instance or None, default=None
        Seeds the perturbations.
    batch_size : int, default=None
        Number of *samples* whose bursts are evaluated in one call of
        ``func`` (that call sees ``batch_size * n_bursts`` rows). ``None``
        chooses a batch of about 65,536 rows.

    Returns
    -------
    observations : ndarray of shape (n_samples, m)
        ``func(X)``, unperturbed.
    covariances : ndarray of shape (n_samples, m, m)
        ``Cov_s[func(X_i + sigma * xi_s)] / sigma**2`` (unbiased sample
        covariance over the ``n_bursts`` perturbations), float64. The same
        ``n_bursts`` perturbation directions are used for every sample (common
        random numbers), so each ``C_i`` depends only on ``X[i]`` and the seed;
        when ``n_bursts > d`` they are centred and whitened to sample covariance
        exactly ``I`` (moment matching), which makes ``C_i = J_i J_i^T`` exact
        for a linear ``func``.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv.metric._burst import burst_covariances
    >>> A = np.array([[1.0, 2.0], [0.0, 1.0], [3.0, 0.0]])
    >>> Y, C = burst_covariances(lambda x: x @ A.T, np.zeros((4, 2)), sigma=0.1,
    ...                          n_bursts=2000, random_state=0)
    >>> Y.shape, C.shape
    ((4, 3), (4, 3, 3))
    >>> bool(np.allclose(C.mean(axis=0), A @ A.T, atol=0.5))
    True
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, d); got shape {X.shape}.")
    if not np.all(np.isfinite(X)):
        raise ValueError(
            "X contains NaN or infinity; burst covariances need finite inputs."
        )
    if not np.isfinite(sigma):
        raise ValueError(f"`sigma` must be a positive finite float; got {sigma!r}.")
    rng = check_random_state(random_state)
    n, d = X.shape
    sigma = float(sigma)
    n_bursts = int(n_bursts)

    observations = _as_2d_output(func(X), n)
    m = observations.shape[1]
    if batch_size is None:
        batch_size = max(1, 65536 // n_bursts)
    covariances = np.empty((n, m, m), dtype=np.float64)
    # Common random numbers: every sample sees the same burst directions, so
    # C_i depends on x_i alone (not on the order or company of the samples)
    # and its Monte Carlo error varies smoothly from sample to sample.
    noise = rng.standard_normal((n_bursts, d))
    if n_bursts > d:
        # Moment matching: centre and whiten the directions so that their sample
        # covariance is exactly I; a linear map then gets C_i = J_i J_i^T
        # exactly, and the shared directions bias no input direction.
        noise -= noise.mean(axis=0)
        chol = np.linalg.cholesky(noise.T @ noise / (n_bursts - 1))
        noise = np.linalg.solve(chol, noise.T).T
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        b = stop - start
        perturbed = (X[start:stop, None, :] + sigma * noise).reshape(b * n_bursts, d)
        out = _as_2d_output(func(perturbed), b * n_bursts)
        if out.shape[1] != m:
            raise ValueError(
                f"`func` returned {out.shape[1]} outputs on perturbed inputs but "
                f"{m} on the unperturbed ones."
            )
        out = out.reshape(b, n_bursts, m)
        centred = out - out.mean(axis=1, keepdims=True)
        covariances[start:stop] = np.einsum("bsi,bsj->bij", centred, centred) / (
            (n_bursts - 1) * sigma**2
        )
    if not np.all(np.isfinite(covariances)):
        raise ValueError(
            "The burst covariances of `func` overflow float64: its outputs vary "
            f"by more than ~1e150 under perturbations of size sigma={sigma:g}. "
            "Rescale `X` or the outputs of `func`."
        )
    return observations, covariances
