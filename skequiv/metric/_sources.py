"""Metric sources for Python callables: analytic Jacobians and burst covariances."""

import numbers
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from skequiv._compat import Interval, _fit_context, validate_data
from skequiv.metric._base import MetricData, MetricSourceMixin
from skequiv.metric._burst import (
    _as_2d_output,
    burst_covariances,
    check_finite_output,
)

__all__ = ["BurstCovarianceMetric", "FunctionMetric"]


class _CallableSource(MetricSourceMixin, TransformerMixin, BaseEstimator):
    """Shared fit/transform of sources built on a callable ``func``."""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check X and record its number of features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs of ``func``.
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        if not callable(self.func):
            raise TypeError(f"`func` must be callable; got {self.func!r}.")
        validate_data(self, X, dtype=np.float64)
        return self

    def _observe(self, X):
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X, _as_2d_output(self.func(X), X.shape[0])

    def transform(self, X):
        """Observations ``func(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        Y : ndarray of shape (n_samples, n_observed)
        """
        return self._observe(X)[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


class FunctionMetric(_CallableSource):
    """Metric source for a Python function with a known Jacobian.

    Parameters
    ----------
    func : callable
        Maps inputs of shape ``(b, d)`` to observations of shape ``(b, m)``.
    jacobian : callable
        Maps inputs of shape ``(b, d)`` to ``d func / d x`` of shape ``(b, m, d)``.

    Attributes
    ----------
    n_features_in_ : int
        Number of input features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of input features, when they are all strings.

    See Also
    --------
    BurstCovarianceMetric : the same without a Jacobian, by random bursts.
    MahalanobisDiffusionMap : takes a metric source as its ``metric``.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv import FunctionMetric
    >>> def f(x):
    ...     return np.c_[x[:, 0], x[:, 0] ** 3]
    >>> def jac(x):
    ...     return np.stack([np.ones_like(x[:, 0]), 3 * x[:, 0] ** 2], 1)[:, :, None]
    >>> md = FunctionMetric(f, jac).fit(np.zeros((3, 1))).metric_data(np.ones((3, 1)))
    >>> md.observations.shape, md.jacobians.shape
    ((3, 2), (3, 2, 1))
    """

    _parameter_constraints: ClassVar[dict] = {
        "func": [callable],
        "jacobian": [callable],
    }

    def __init__(self, func, jacobian):
        self.func = func
        self.jacobian = jacobian

    def metric_data(self, X):
        """Observations and Jacobians at X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        MetricData
            ``observations`` (n, m) and ``jacobians`` (n, m, d).
        """
        X, Y = self._observe(X)
        J = np.asarray(self.jacobian(X), dtype=np.float64)
        n, m = Y.shape
        if J.ndim == 2 and m == 1:
            J = J[:, None, :]
        if J.shape != (n, m, X.shape[1]):
            raise ValueError(
                f"`jacobian` must return shape (n_samples, m, d) = ({n}, {m}, "
                f"{X.shape[1]}); got {J.shape}."
            )
        return MetricData(observations=Y, jacobians=check_finite_output(J, "jacobian"))


class BurstCovarianceMetric(_CallableSource):
    """Metric source for a black-box function: covariances of random bursts.

    ``C_i = Cov_s[func(x_i + sigma xi_s)] / sigma^2`` with ``xi_s ~ N(0, I)``,
    which tends to ``J_i J_i^T`` as ``sigma -> 0``; dividing by ``sigma^2`` keeps
    the diffusion map's ``epsilon`` independent of ``sigma``.

    Parameters
    ----------
    func : callable
        Maps inputs of shape ``(b, d)`` to observations of shape ``(b, m)``.
    sigma : float, default=1e-3
        Standard deviation of the perturbations, in input units; small against
        the scale on which ``func`` bends, large against its numerical noise.
    n_bursts : int, default=32
        Perturbations per sample (at least the rank you want to resolve + 1).
    random_state : int, RandomState instance or None, default=None
        Seeds the perturbations; an int gives the same bursts on every call.
    batch_size : int or None, default=None
        Samples whose bursts go through ``func`` at once.

    Attributes
    ----------
    n_features_in_ : int
        Number of input features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of input features, when they are all strings.

    See Also
    --------
    FunctionMetric : exact Jacobians when they are known.
    MahalanobisDiffusionMap : takes a metric source as its ``metric``.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv import BurstCovarianceMetric
    >>> A = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    >>> def f(x):
    ...     return x @ A.T
    >>> src = BurstCovarianceMetric(f, sigma=0.1, n_bursts=5000, random_state=0)
    >>> md = src.fit(np.zeros((2, 2))).metric_data(np.zeros((2, 2)))
    >>> md.covariances.shape
    (2, 3, 3)
    >>> bool(np.allclose(md.covariances[0], A @ A.T, atol=0.3))
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "func": [callable],
        "sigma": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_bursts": [Interval(numbers.Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self, func, *, sigma=1e-3, n_bursts=32, random_state=None, batch_size=None
    ):
        self.func = func
        self.sigma = sigma
        self.n_bursts = n_bursts
        self.random_state = random_state
        self.batch_size = batch_size

    def metric_data(self, X):
        """Observations and burst covariances at X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        MetricData
            ``observations`` (n, m) and ``covariances`` (n, m, m).
        """
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        Y, C = burst_covariances(
            self.func,
            X,
            sigma=self.sigma,
            n_bursts=self.n_bursts,
            random_state=self.random_state,
            batch_size=self.batch_size,
        )
        return MetricData(observations=Y, covariances=C)
