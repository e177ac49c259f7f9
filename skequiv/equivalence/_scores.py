"""Scores shared by the transform and the report: R², relative RMSE."""

import numpy as np
from sklearn.metrics import r2_score

from skequiv._compat import validate_params

# a target feature whose variance is below this fraction of the largest
# feature variance is treated as constant (a dead or saturated unit)
_CONSTANT_TOL = 1e-10


def _as_2d(a):
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(a.shape[0], -1)


def varying_features(y, *, tol=_CONSTANT_TOL):
    """Boolean mask of the columns of ``y`` that are not constant.

    A column counts as constant when its variance is at most ``tol`` times the
    largest column variance (or exactly zero).
    """
    y = _as_2d(y)
    if y.shape[0] < 2:
        return np.ones(y.shape[1], dtype=bool)
    var = y.var(axis=0)
    top = var.max(initial=0.0)
    if top <= 0:
        return np.zeros(y.shape[1], dtype=bool)
    return var > tol * top


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def equivalence_r2(y_true, y_pred, *, sample_weight=None):
    """R² averaged uniformly over the features of ``y_true`` that vary.

    R² is undefined for a feature that is constant on the evaluation set (a dead
    ReLU unit, a saturated one); scikit-learn's ``r2_score`` scores such a
    column 0 or 1 depending on an exact match, which would drag the average of
    a perfect transform down. Those columns are left out here. When every
    column is constant, this falls back to ``r2_score`` itself.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    float
    """
    y_true = _as_2d(y_true)
    y_pred = _as_2d(y_pred)
    mask = varying_features(y_true)
    if not mask.any():
        return float(r2_score(y_true, y_pred, sample_weight=sample_weight))
    return float(
        r2_score(
            y_true[:, mask],
            y_pred[:, mask],
            sample_weight=sample_weight,
            multioutput="uniform_average",
        )
    )


@validate_params(
    {"y_true": ["array-like"], "y_pred": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def relative_rmse(y_true, y_pred):
    """Root-mean-square error relative to the spread of ``y_true``.

    ``sqrt(Σ‖y_i − ŷ_i‖² / Σ‖y_i − ȳ‖²)`` over all samples and the varying
    features: 0 for a perfect reconstruction, about 1 for one that carries no
    information (predicting the mean), larger for worse.
    """
    y_true = _as_2d(y_true)
    y_pred = _as_2d(y_pred)
    mask = varying_features(y_true)
    if not mask.any():
        mask = np.ones(y_true.shape[1], dtype=bool)
    y_true, y_pred = y_true[:, mask], y_pred[:, mask]
    spread = np.sum((y_true - y_true.mean(axis=0)) ** 2)
    error = np.sum((y_true - y_pred) ** 2)
    if spread <= 0:
        return 0.0 if error <= 0 else float("inf")
    return float(np.sqrt(error / spread))
