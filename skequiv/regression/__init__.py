"""Out-of-sample regressors for functions on low-dimensional manifolds."""

from skequiv.regression._geometric_harmonics import (
    GeometricHarmonicsRegressor,
    KernelEigenpairs,
)

__all__ = ["GeometricHarmonicsRegressor", "KernelEigenpairs"]
