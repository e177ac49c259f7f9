"""Representation similarity baselines: CKA, CCA, SVCCA, PWCCA, Procrustes.

Every function takes two representations of the same samples, ``X`` of
shape (n_samples, p) and ``Y`` of shape (n_samples, q) with paired rows, and
returns a similarity in [0, 1], larger is more similar, 1 for representations
equal up to the measure's invariances (debiased CKA alone can be slightly
negative). Distances have their own names (:func:`shape_distance`).

Per-representation API (for K × K matrices with per-network work done once)
------------------------------------------------------------------------------
``get_measure(name, **params)`` returns a :class:`Measure` with

- ``prepare(X) -> state``: all the work that depends on one representation
  (validation, centring, Gram matrix or thin SVD);
- ``compare(state_x, state_y) -> float``: the similarity (larger is better);
- ``symmetric`` (bool), ``invariances`` (frozenset of transform names),
  ``name``, ``min_samples``; ``measure(X, Y)`` is
  ``compare(prepare(X), prepare(Y))``.

Names (``MEASURES``), with their parameters and the function they match:

=========================  ==========================  ========================
name                       parameters                  function
=========================  ==========================  ========================
``"linear_cka"``                                       ``cka(X, Y)``
``"rbf_cka"``              ``threshold=1.0``           ``cka(kernel="rbf")``
``"debiased_linear_cka"``                              ``cka(debiased=True)``
``"debiased_rbf_cka"``     ``threshold=1.0``           ``cka("rbf", debiased)``
``"cca"``                  ``summary="mean"``          ``cca``
``"svcca"``                ``variance=0.99``           ``svcca``
``"pwcca"``                ``weights="x"``             ``pwcca`` (directed)
``"procrustes"``                                       ``procrustes``
=========================  ==========================  ========================

States are opaque and tied to their samples: compare states of the same
rows only. For ``n_samples`` too large for memory, :class:`SimilarityAccumulator`
accumulates cross-products over batches (numpy or torch, on the tensors'
device) and gives every linear measure.
"""

from skequiv.similarity._estimator import RepresentationSimilarity
from skequiv.similarity._functions import (
    cca,
    cka,
    procrustes,
    pwcca,
    shape_distance,
    svcca,
)
from skequiv.similarity._measures import (
    MEASURES,
    TRANSFORMS,
    Measure,
    SimilarityWarning,
    get_measure,
)
from skequiv.similarity._streaming import SimilarityAccumulator

__all__ = [
    "MEASURES",
    "TRANSFORMS",
    "Measure",
    "RepresentationSimilarity",
    "SimilarityAccumulator",
    "SimilarityWarning",
    "cca",
    "cka",
    "get_measure",
    "procrustes",
    "pwcca",
    "shape_distance",
    "svcca",
]
