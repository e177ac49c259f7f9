"""Per-sample metric data: Jacobians, covariances, and the sources that compute them."""

from skequiv.metric._base import MetricData, MetricSourceMixin, is_metric_source
from skequiv.metric._burst import burst_covariances
from skequiv.metric._factors import (
    local_spectra,
    precision_factors,
    resolve_regularization,
    warn_if_ranks_vary,
)
from skequiv.metric._sources import BurstCovarianceMetric, FunctionMetric
from skequiv.metric._validation import (
    check_finite_scale,
    check_metric_data,
    check_spectra,
)

__all__ = [
    "BurstCovarianceMetric",
    "FunctionMetric",
    "MetricData",
    "MetricSourceMixin",
    "burst_covariances",
    "check_finite_scale",
    "check_metric_data",
    "check_spectra",
    "is_metric_source",
    "local_spectra",
    "precision_factors",
    "resolve_regularization",
    "warn_if_ranks_vary",
]
