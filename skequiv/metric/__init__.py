"""Per-sample metric data: Jacobians, covariances, and the sources that compute them."""

from skequiv.metric._base import MetricData, MetricSourceMixin, is_metric_source
from skequiv.metric._burst import burst_covariances
from skequiv.metric._factors import precision_factors
from skequiv.metric._sources import BurstCovarianceMetric, FunctionMetric

__all__ = [
    "BurstCovarianceMetric",
    "FunctionMetric",
    "MetricData",
    "MetricSourceMixin",
    "burst_covariances",
    "is_metric_source",
    "precision_factors",
]
