"""The equivalence test: the transform T between two networks, and its report."""

from skequiv.equivalence._alignment import align_embeddings, eigenvalue_blocks
from skequiv.equivalence._network_transform import (
    CandidateFailedWarning,
    EuclideanMetricWarning,
    NetworkTransform,
)
from skequiv.equivalence._plotting import (
    plot_candidates,
    plot_embeddings,
    plot_null,
    plot_reconstruction,
    plot_report,
    plot_score_curve,
    plot_scores,
    plot_spectra,
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
    "plot_candidates",
    "plot_embeddings",
    "plot_null",
    "plot_reconstruction",
    "plot_report",
    "plot_score_curve",
    "plot_scores",
    "plot_spectra",
    "relative_rmse",
]
