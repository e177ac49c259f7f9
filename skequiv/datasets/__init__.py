"""Data and small trained networks for the seed paper's three experiments, and digits.

(a) scalar functions of a scalar input, (b) planar vector fields R² → R²,
(c) images of a rotating 3D object; and skorch MLP and CNN classifiers of
scikit-learn's bundled 8×8 digits (``load_experiment("digits")``). The
generators are numpy only; the training functions and :func:`load_experiment`
import torch (and skorch, for the digits) when called.
"""

from skequiv.datasets._experiments import load_experiment
from skequiv.datasets._render import make_rotating_object
from skequiv.datasets._tasks import make_scalar_task, make_vector_field_task
from skequiv.datasets._training import train_autoencoder, train_mlp

__all__ = [
    "load_experiment",
    "make_rotating_object",
    "make_scalar_task",
    "make_vector_field_task",
    "train_autoencoder",
    "train_mlp",
]
