"""skequiv: when have two neural networks learned the same task?

Scikit-learn estimators that test, and where possible establish, equivalence
between two trained networks by constructing a data-driven transformation
between them (Bertalan, Dietrich & Kevrekidis, Chaos 34, 2024).

Public names are loaded lazily, so ``import skequiv`` needs neither torch nor
matplotlib; the torch-backed names import torch when first used.
"""

import importlib

__version__ = "0.1.0"

# public name -> private module that defines it (one module per algorithm)
_PUBLIC = {
    "MahalanobisDiffusionMap": "skequiv.embedding._diffusion_map",
    "FunctionMetric": "skequiv.metric._sources",
    "BurstCovarianceMetric": "skequiv.metric._sources",
    "NetworkActivations": "skequiv.networks._activations",
    "GeometricHarmonicsRegressor": "skequiv.regression._geometric_harmonics",
    "WhitneyFeatureSelector": "skequiv.selection._whitney",
    "estimate_intrinsic_dimension": "skequiv.selection._dimension",
    "NetworkTransform": "skequiv.equivalence._network_transform",
    "equivalence_report": "skequiv.equivalence._report",
    "EquivalenceReport": "skequiv.equivalence._report",
    # neuron correspondence (Li et al. 2016, Convergent Learning)
    "neuron_correlation": "skequiv.correspondence._statistics",
    "neuron_mutual_information": "skequiv.correspondence._statistics",
    "match_neurons": "skequiv.correspondence._matching",
    "NeuronMatching": "skequiv.correspondence._matching",
    "SparseNeuronPrediction": "skequiv.correspondence._sparse",
    "sparse_prediction_path": "skequiv.correspondence._sparse",
    "NeuronCoclustering": "skequiv.correspondence._coclustering",
    "plot_similarity_matrix": "skequiv.correspondence._plotting",
    "plot_matched_similarity": "skequiv.correspondence._plotting",
    "plot_sparse_prediction_path": "skequiv.correspondence._plotting",
    "plot_coclusters": "skequiv.correspondence._plotting",
    # populations of networks (pairwise matrices; DYNAMO, Cotler et al. 2023)
    "EquivalenceScore": "skequiv.population._measures",
    "ModelEmbedding": "skequiv.population._embedding",
    "pairwise_similarity": "skequiv.population._pairwise",
    "cluster_population": "skequiv.population._analysis",
    "embed_population": "skequiv.population._analysis",
    "plot_population_matrix": "skequiv.population._plotting",
    "plot_model_embedding": "skequiv.population._plotting",
    # representation similarity baselines (CKA, CCA, SVCCA, PWCCA, Procrustes)
    "cka": "skequiv.similarity._functions",
    "cca": "skequiv.similarity._functions",
    "svcca": "skequiv.similarity._functions",
    "pwcca": "skequiv.similarity._functions",
    "procrustes": "skequiv.similarity._functions",
    "shape_distance": "skequiv.similarity._functions",
    "get_measure": "skequiv.similarity._measures",
    "SimilarityAccumulator": "skequiv.similarity._streaming",
    "RepresentationSimilarity": "skequiv.similarity._estimator",
    # knowledge isomorphism (Liang et al. 2019 / ICLR 2020)
    "KnowledgeIsomorphism": "skequiv.isomorphism._estimator",
    "plot_variance_by_order": "skequiv.isomorphism._plotting",
}
_SUBPACKAGES = (
    "correspondence",
    "datasets",
    "embedding",
    "equivalence",
    "io",
    "isomorphism",
    "metric",
    "networks",
    "population",
    "regression",
    "selection",
    "similarity",
    "utils",
)

__all__ = sorted([*_PUBLIC, *_SUBPACKAGES, "__version__"])


def __getattr__(name):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value  # cache: later lookups skip __getattr__
        return value
    if name in _SUBPACKAGES:
        return importlib.import_module(f"skequiv.{name}")
    raise AttributeError(f"module 'skequiv' has no attribute {name!r}")


def __dir__():
    return __all__
