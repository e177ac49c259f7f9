"""Network sources: activations and Jacobians of skorch and torch networks.

Importing this package does not import torch; torch is imported when a
network is first evaluated.
"""

from skequiv.networks._activations import NetworkActivations

__all__ = ["NetworkActivations"]
