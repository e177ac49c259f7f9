"""The protocol shared by everything that supplies per-sample metric data.

A *metric source* turns inputs ``X`` into observations ``Y = f(X)`` together
with the local metric of ``f`` at each sample: Jacobians ``J_i = df/dx(x_i)``
of shape ``(n, m, d)`` or covariances ``C_i`` of shape ``(n, m, m)``.
:class:`~skequiv.MahalanobisDiffusionMap` accepts any such source as its
``metric`` parameter, clones it and calls ``fit(X)`` then ``metric_data(X)``,
so the per-sample data is recomputed for every cross-validation split.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MetricData:
    """Observations of a batch of inputs and the local metric at each of them.

    Parameters
    ----------
    observations : ndarray of shape (n_samples, n_observed)
        ``f(x_i)``, the points the diffusion map embeds.
    jacobians : ndarray of shape (n_samples, n_observed, n_intrinsic), default=None
        ``df/dx`` at each sample. Exactly one of ``jacobians`` and
        ``covariances`` is given.
    covariances : ndarray of shape (n_samples, n_observed, n_observed), default=None
        Local covariance ``C_i = J_i J_iᵀ`` (or an estimate of it) at each sample.
    spectra : tuple of ndarrays, default=None
        ``(eigenvalues (n, k), vectors (n, k, n_observed))`` of each ``C_i``, as
        :func:`~skequiv.metric.local_spectra` returns them: what a source that
        computes Jacobians in chunks keeps, so that they are never held whole.

    Exactly one of ``jacobians``, ``covariances`` and ``spectra`` is given.
    """

    observations: np.ndarray
    jacobians: np.ndarray | None = None
    covariances: np.ndarray | None = None
    spectra: tuple | None = None

    def __post_init__(self):
        given = {
            name: getattr(self, name) is not None
            for name in ("jacobians", "covariances", "spectra")
        }
        if sum(given.values()) != 1:
            state = ", ".join(f"{k}={'set' if v else None}" for k, v in given.items())
            raise ValueError(
                "MetricData needs exactly one of `jacobians`, `covariances` and "
                f"`spectra`; got {state}."
            )


class MetricSourceMixin:
    """Mixin for estimators that supply observations and their metric data.

    Subclasses implement ``metric_data(X) -> MetricData``. A source is an
    ordinary scikit-learn estimator: its constructor stores parameters only, it
    clones and pickles, and ``fit(X, y=None)`` returns ``self``.
    """

    def metric_data(self, X):  # pragma: no cover - interface
        raise NotImplementedError


def is_metric_source(obj):
    """Whether ``obj`` follows the metric-source protocol."""
    return callable(getattr(obj, "metric_data", None)) and callable(
        getattr(obj, "fit", None)
    )
