"""Per-sample metric data: Jacobians, covariances, and the sources that compute them."""

from skequiv.metric._base import MetricData, MetricSourceMixin, is_metric_source

__all__ = ["MetricData", "MetricSourceMixin", "is_metric_source"]
