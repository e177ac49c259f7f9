"""One validator for per-sample metric data, and one for the scale of the data.

Every estimator that takes Jacobians or covariances (the diffusion map, the
network transform, the equivalence report) checks them here, so that a shape,
dtype or degenerate value is accepted or rejected the same way everywhere.
Checks that need a decomposition (definiteness of covariances) happen where the
decomposition is made, in :func:`~skequiv.metric.precision_factors`.
"""

from numbers import Integral

import numpy as np

from skequiv._compat import Interval, validate_params

__all__ = ["check_finite_scale", "check_metric_data", "check_spectra"]

# Squared distances of values beyond 1e±100 over- or underflow float64 once
# summed over features and divided by a kernel scale; covariances are squares.
_MAX_SCALE = 1e100
_MIN_SCALE = 1e-100


# the data arguments are what these validators check, with messages that name
# the caller's parameter: validate_params checks only how they are called
_WHERE = [str, None]
_COUNT = [Interval(Integral, 0, None, closed="left")]


@validate_params(
    {"X": "no_validation", "name": [str], "fix": [str, None]},
    prefer_skip_nested_validation=True,
)
def check_finite_scale(X, *, name="X", fix=None):
    """Reject arrays whose squared distances would over- or underflow float64.

    Parameters
    ----------
    X : ndarray
        Finite float array (already validated for NaN and infinity).
    name : str, default="X"
        Parameter name used in the message.
    fix : str, default=None
        What the user should do; default: rescale ``name``.

    Raises
    ------
    ValueError
        When the largest magnitude exceeds 1e100, or the spread of the rows
        (the largest range of a feature) is positive but below 1e-100.
    """
    if X.size == 0:
        return
    fix = fix or (
        f"rescale `{name}` (e.g. with sklearn.preprocessing.StandardScaler) "
        "before fitting"
    )
    top = float(np.max(np.abs(X)))
    if top > _MAX_SCALE:
        raise ValueError(
            f"`{name}` has values of magnitude {top:.3g}: beyond {_MAX_SCALE:g} "
            f"their squared distances overflow float64. Please {fix}."
        )
    flat = X.reshape(X.shape[0], -1)
    spread = float(np.max(np.ptp(flat, axis=0))) if flat.shape[0] > 1 else top
    if 0.0 < spread < _MIN_SCALE:
        raise ValueError(
            f"`{name}` varies only by {spread:.3g}: below {_MIN_SCALE:g} its "
            f"squared distances underflow float64. Please {fix}."
        )


def _as_real_float(values, name):
    values = np.asarray(values)
    if np.iscomplexobj(values):
        raise ValueError(
            f"`{name}` is complex (dtype {values.dtype}); metric data must be real. "
            "Pass the real part if the imaginary part is round-off."
        )
    if values.dtype.kind not in "biuf":
        raise ValueError(f"`{name}` must be a numeric array; got dtype {values.dtype}.")
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(
            f"`{name}` contains NaN or infinity; compute it at finite inputs of a "
            "differentiable map."
        )
    return values


def _check_jacobians(jacobians, n_samples, n_features, where):
    jacobians = _as_real_float(jacobians, "jacobians")
    if jacobians.ndim == 2 and jacobians.shape[0] == n_samples:
        # 2-D: a scalar observation's gradients (n, d), or a curve's tangents
        # (n, m) -- the one a model with n_features outputs can mean
        if n_features == 1:
            jacobians = jacobians[:, None, :]
        elif jacobians.shape[1] == n_features:
            jacobians = jacobians[:, :, None]
    if jacobians.ndim != 3 or jacobians.shape[:2] != (n_samples, n_features):
        raise ValueError(
            f"{where}`jacobians` must have shape (n_samples, n_features, "
            f"n_intrinsic) = ({n_samples}, {n_features}, d) to match X of shape "
            f"({n_samples}, {n_features}); got shape {jacobians.shape}. (A 2-D "
            f"array is read as ({n_samples}, 1, d) for one feature, or as "
            f"({n_samples}, {n_features}, 1) for a one-dimensional input.)"
        )
    if jacobians.size and not np.any(jacobians):
        raise ValueError(
            f"{where}`jacobians` are zero at every sample: the observations do not "
            "vary with the input there, so they define no metric. Typical causes "
            "are non-differentiable operations (round, argmax, integer casts) or "
            "dead units; compare a differentiable layer, or use a burst metric "
            "(metric='burst') that needs no derivatives."
        )
    check_finite_scale(
        jacobians,
        name="jacobians",
        fix="rescale the observations and their jacobians together",
    )
    return jacobians


def _check_covariances(covariances, n_samples, n_features, where):
    covariances = _as_real_float(covariances, "covariances")
    if covariances.shape != (n_samples, n_features, n_features):
        raise ValueError(
            f"{where}`covariances` must have shape (n_samples, n_features, "
            f"n_features) = ({n_samples}, {n_features}, {n_features}) to match X "
            f"of shape ({n_samples}, {n_features}); got shape {covariances.shape}."
        )
    if covariances.size and not np.any(covariances):
        raise ValueError(
            f"{where}`covariances` are zero at every sample, so they define no "
            "metric. Pass the local covariances C_i = J_i J_i^T (positive "
            "semi-definite, not all zero)."
        )
    top = float(np.max(np.abs(covariances))) if covariances.size else 0.0
    if top > _MAX_SCALE**2 or 0.0 < top < _MIN_SCALE**2:
        raise ValueError(
            f"{where}`covariances` have entries of magnitude {top:.3g}, outside "
            f"[{_MIN_SCALE**2:g}, {_MAX_SCALE**2:g}] where their inverses over- "
            "or underflow float64; rescale the observations and their "
            "covariances together (covariances scale with the square)."
        )
    return covariances


@validate_params(
    {
        "jacobians": "no_validation",
        "covariances": "no_validation",
        "n_samples": _COUNT,
        "n_features": _COUNT,
        "where": _WHERE,
    },
    prefer_skip_nested_validation=True,
)
def check_metric_data(
    jacobians=None, covariances=None, *, n_samples, n_features, where=None
):
    """Validate per-sample metric data against observations of shape (n, m).

    Parameters
    ----------
    jacobians : array-like of shape (n_samples, n_features, d), default=None
        Jacobians ``J_i = dy/dx``. A 2-D array is read as
        ``(n_samples, 1, d)`` when ``n_features == 1`` and as
        ``(n_samples, n_features, 1)`` when its second dimension is
        ``n_features``.
    covariances : array-like of shape (n_samples, n_features, n_features), \
            default=None
        Local covariances ``C_i``.
    n_samples, n_features : int
        Shape of the observations the metric data belongs to.
    where : str, default=None
        Prefix of error messages (e.g. ``"NetworkTransform.fit"``).

    Returns
    -------
    jacobians, covariances : ndarray or None
        float64 arrays, 3-D; at most one of them is not None.

    Raises
    ------
    ValueError
        Both given; complex, non-numeric, NaN or infinite values; a shape that
        does not match the observations; all-zero data; magnitudes whose
        squares over- or underflow. Each message names the parameter and the
        fix. Definiteness of covariances is checked by
        :func:`precision_factors`, which decomposes them anyway.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv.metric import check_metric_data
    >>> J, C = check_metric_data(np.ones((4, 3)), n_samples=4, n_features=3)
    >>> J.shape, C
    ((4, 3, 1), None)
    """
    where = f"{where}: " if where else ""
    if jacobians is not None and covariances is not None:
        raise ValueError(
            f"{where}pass either `jacobians` or `covariances`, not both; they "
            "describe the same local metric (C_i = J_i J_i^T)."
        )
    if jacobians is not None:
        jacobians = _check_jacobians(jacobians, n_samples, n_features, where)
    if covariances is not None:
        covariances = _check_covariances(covariances, n_samples, n_features, where)
    return jacobians, covariances


@validate_params(
    {
        "spectra": [tuple, list],
        "n_samples": _COUNT,
        "n_features": _COUNT,
        "where": _WHERE,
    },
    prefer_skip_nested_validation=True,
)
def check_spectra(spectra, *, n_samples, n_features, where=None):
    """Validate local spectra ``(eigenvalues (n, k), vectors (n, k, m))``.

    What a metric source that reduces its Jacobians chunk by chunk returns in
    place of them (see :func:`~skequiv.metric.local_spectra`). Raises a
    ValueError for wrong shapes, non-finite values, or all-zero eigenvalues
    (the observations do not vary with the input).
    """
    where = f"{where}: " if where else ""
    evals, vectors = (np.asarray(a, dtype=np.float64) for a in spectra)
    k = evals.shape[1] if evals.ndim == 2 else -1
    if evals.shape[:1] != (n_samples,) or vectors.shape != (n_samples, k, n_features):
        raise ValueError(
            f"{where}`spectra` must hold eigenvalues of shape ({n_samples}, k) and "
            f"vectors of shape ({n_samples}, k, {n_features}); got "
            f"{evals.shape} and {vectors.shape}."
        )
    if not (np.all(np.isfinite(evals)) and np.all(np.isfinite(vectors))):
        raise ValueError(f"{where}`spectra` contain NaN or infinity.")
    if evals.size and not np.any(evals):
        raise ValueError(
            f"{where}the Jacobians are zero at every sample: the observations do "
            "not vary with the input there, so they define no metric. Typical "
            "causes are non-differentiable operations (round, argmax, integer "
            "casts) or dead units; compare a differentiable layer, or use a burst "
            "metric (metric='burst') that needs no derivatives."
        )
    return evals, vectors
