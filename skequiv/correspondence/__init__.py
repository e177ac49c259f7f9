"""Neuron correspondence between two networks (Li et al., Convergent Learning).

Units of two networks are compared one to one (correlation or mutual
information, semi- or bipartite matching), one to many (sparse LASSO
prediction of each unit of B from all units of A) and many to many
(spectral co-clustering of both networks' units).
"""

from skequiv.correspondence._coclustering import NeuronCoclustering
from skequiv.correspondence._matching import NeuronMatching, match_neurons
from skequiv.correspondence._plotting import (
    plot_coclusters,
    plot_matched_similarity,
    plot_similarity_matrix,
    plot_sparse_prediction_path,
)
from skequiv.correspondence._sparse import (
    SparseNeuronPrediction,
    sparse_prediction_path,
)
from skequiv.correspondence._statistics import (
    neuron_correlation,
    neuron_mutual_information,
)
from skequiv.correspondence._units import ConstantUnitWarning

__all__ = [
    "ConstantUnitWarning",
    "NeuronCoclustering",
    "NeuronMatching",
    "SparseNeuronPrediction",
    "match_neurons",
    "neuron_correlation",
    "neuron_mutual_information",
    "plot_coclusters",
    "plot_matched_similarity",
    "plot_similarity_matrix",
    "plot_sparse_prediction_path",
    "sparse_prediction_path",
]
