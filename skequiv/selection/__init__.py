"""Choosing a minimal set of neurons: Whitney's 2d+1 and the intrinsic dimension d."""

from skequiv.selection._dimension import estimate_intrinsic_dimension
from skequiv.selection._whitney import WhitneyFeatureSelector

__all__ = ["WhitneyFeatureSelector", "estimate_intrinsic_dimension"]
