"""Intrinsic coordinates: diffusion maps with a per-sample Mahalanobis metric."""

from skequiv.embedding._diffusion_map import MahalanobisDiffusionMap

__all__ = ["MahalanobisDiffusionMap"]
