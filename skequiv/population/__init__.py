"""Populations of networks: pairwise matrices and model embeddings.

:func:`pairwise_similarity` computes a K × K matrix of a similarity (or of the
directed equivalence score) between K networks, doing each network's work
once and dispatching pairs through joblib (threads, processes or Dask).
:class:`ModelEmbedding` (DYNAMO) embeds the models by training one meta-model
that emulates them all, which also gives averaged and interpolated models.
:func:`cluster_population`, :func:`embed_population` and the plots look at
either.
"""

from skequiv.population._analysis import (
    cluster_population,
    embed_population,
    population_distances,
)
from skequiv.population._embedding import ModelEmbedding
from skequiv.population._measures import EquivalenceScore, available_measures
from skequiv.population._pairwise import pairwise_similarity
from skequiv.population._plotting import plot_model_embedding, plot_population_matrix

__all__ = [
    "EquivalenceScore",
    "ModelEmbedding",
    "available_measures",
    "cluster_population",
    "embed_population",
    "pairwise_similarity",
    "plot_model_embedding",
    "plot_population_matrix",
    "population_distances",
]
