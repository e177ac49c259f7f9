"""The equivalence test: the transform T between two networks, and its report."""

from skequiv.equivalence._alignment import align_embeddings, eigenvalue_blocks
from skequiv.equivalence._network_transform import (
    CandidateFailedWarning,
    EuclideanMetricWarning,
    NetworkTransform,
)
from skequiv.equivalence._report import EquivalenceReport, equivalence_report
from skequiv.equivalence._representation import centered_log_ratio, is_probability
from skequiv.equivalence._scores import equivalence_r2, relative_rmse

__all__ = [
    "CandidateFailedWarning",
    "EquivalenceReport",
    "EuclideanMetricWarning",
    "NetworkTransform",
    "align_embeddings",
    "centered_log_ratio",
    "eigenvalue_blocks",
    "equivalence_r2",
    "equivalence_report",
    "is_probability",
    "relative_rmse",
]
