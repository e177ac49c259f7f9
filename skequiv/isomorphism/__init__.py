"""Knowledge isomorphism (Liang et al., ICLR 2020): B's features from A's.

Network B's features are reconstructed from network A's by a small network
whose output splits exactly into components of increasing nonlinearity
order; the variance each carries says how much of B's knowledge A holds
exactly (order 0), only in fuzzier forms, or not at all (the residual).
"""

from skequiv.isomorphism._estimator import KnowledgeIsomorphism
from skequiv.isomorphism._plotting import plot_variance_by_order

__all__ = ["KnowledgeIsomorphism", "plot_variance_by_order"]
