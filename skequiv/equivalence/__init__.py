"""The equivalence test: the transform T between two networks, and its report."""

from skequiv.equivalence._alignment import align_embeddings, eigenvalue_blocks
from skequiv.equivalence._network_transform import NetworkTransform
from skequiv.equivalence._report import EquivalenceReport, equivalence_report
from skequiv.equivalence._scores import equivalence_r2, relative_rmse

__all__ = [
    "EquivalenceReport",
    "NetworkTransform",
    "align_embeddings",
    "eigenvalue_blocks",
    "equivalence_r2",
    "equivalence_report",
    "relative_rmse",
]
