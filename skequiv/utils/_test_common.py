"""Instances of every public estimator for scikit-learn's common checks.

One table per concern, as in imbalanced-learn: ``INSTANCES`` builds the
estimators to check (torch-backed ones lazily, so this module imports without
torch), and ``EXPECTED_FAILED_CHECKS`` lists every check an estimator is known
to fail, each with the reason. An entry here is a documented decision, not a
way to silence a bug.
"""

import inspect

import numpy as np
from sklearn.base import BaseEstimator

import skequiv

# class name -> callable returning a list of instances to check. Classes whose
# constructor needs no argument are instantiated with defaults when absent.
INSTANCES = {}

# class name -> {check name: reason}
EXPECTED_FAILED_CHECKS = {}


def _network_activations_instances():
    # imported here: this module must import without torch
    from skequiv import NetworkActivations
    from skequiv.networks._testing import AnyWidthNet

    return [
        NetworkActivations(AnyWidthNet()),
        NetworkActivations(AnyWidthNet(), layers=("hidden", "output"), dtype="float64"),
    ]


INSTANCES["NetworkActivations"] = _network_activations_instances
EXPECTED_FAILED_CHECKS["NetworkActivations"] = {
    "check_estimators_overwrite_params": (
        "the check compares joblib.hash of `net` against a deepcopy of it, and "
        "torch pickles each tensor storage under a key taken from its memory "
        "address, so a deepcopied module never hashes equal; fit does not touch "
        "`net` (tests/networks/test_network_activations.py checks its parameters, "
        "training flags and hooks before and after every call)"
    ),
}


class _QuadraticFeatures:
    """(n, d) -> (n, 2d): [x, x**2 / 2].

    A class rather than a function so that it pickles and its repr carries no
    memory address: check ids must be the same in every pytest-xdist worker.
    """

    def __call__(self, X):
        return np.hstack([X, 0.5 * X**2])

    def __repr__(self):
        return "quadratic_features"


class _QuadraticFeaturesJacobian:
    """Jacobian of :class:`_QuadraticFeatures`, shape (n, 2d, d)."""

    def __call__(self, X):
        n, d = X.shape
        eye = np.broadcast_to(np.eye(d), (n, d, d))
        return np.concatenate([eye, X[:, :, None] * np.eye(d)], axis=1)

    def __repr__(self):
        return "quadratic_features_jacobian"


_quadratic_features = _QuadraticFeatures()
_quadratic_features_jacobian = _QuadraticFeaturesJacobian()


def _function_metric():
    return skequiv.FunctionMetric(_quadratic_features, _quadratic_features_jacobian)


def _burst_metric():
    return skequiv.BurstCovarianceMetric(
        _quadratic_features, sigma=1e-2, n_bursts=8, random_state=0
    )


INSTANCES["FunctionMetric"] = lambda: [_function_metric()]
INSTANCES["BurstCovarianceMetric"] = lambda: [_burst_metric()]
INSTANCES["MahalanobisDiffusionMap"] = lambda: [
    skequiv.MahalanobisDiffusionMap(random_state=0),
    skequiv.MahalanobisDiffusionMap(n_neighbors=None, random_state=0),
    skequiv.MahalanobisDiffusionMap(metric=_function_metric(), random_state=0),
    skequiv.MahalanobisDiffusionMap(
        metric=_burst_metric(), rank=1e-3, n_neighbors=None, random_state=0
    ),
]


def _network_transform_instances():
    from sklearn.neighbors import KNeighborsRegressor

    return [
        skequiv.NetworkTransform(),
        skequiv.NetworkTransform(
            embedding=skequiv.MahalanobisDiffusionMap(2, random_state=0)
        ),
        skequiv.NetworkTransform(
            embedding="passthrough", regressor=KNeighborsRegressor()
        ),
    ]


# the array path only: the network path needs trained networks as sources,
# and is tested in tests/equivalence/
INSTANCES["NetworkTransform"] = _network_transform_instances


INSTANCES["GeometricHarmonicsRegressor"] = lambda: [
    skequiv.GeometricHarmonicsRegressor(),
    skequiv.GeometricHarmonicsRegressor(n_neighbors=10),
    skequiv.GeometricHarmonicsRegressor(alpha=0.0, cut_off=1e-8),
]
INSTANCES["WhitneyFeatureSelector"] = lambda: [
    skequiv.WhitneyFeatureSelector(random_state=0),
    skequiv.WhitneyFeatureSelector(2, strategy="random", n_random_draws=2, cv=3),
    skequiv.WhitneyFeatureSelector(0.5, intrinsic_dimension=1, random_state=0),
]


def public_estimator_classes():
    """All public estimator classes of skequiv, sorted by name."""
    classes = []
    for name in skequiv._PUBLIC:
        obj = getattr(skequiv, name)
        if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
            classes.append(obj)
    return sorted(classes, key=lambda cls: cls.__name__)


def estimator_instances():
    """Yield one or more instances of every public estimator."""
    for cls in public_estimator_classes():
        factory = INSTANCES.get(cls.__name__)
        yield from (factory() if factory is not None else [cls()])


def expected_failed_checks(estimator):
    """The checks ``estimator`` is known to fail, with reasons."""
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


# -- correspondence (Li et al. 2016): issue 11 --------------------------------
# The common checks pass 1-D y (one unit of B); co-clustering needs at least
# as many units as clusters, so its instances use 2.
INSTANCES["NeuronMatching"] = lambda: [
    skequiv.NeuronMatching(),
    skequiv.NeuronMatching(
        "mutual_information", assignment="semi", baseline=True, random_state=0
    ),
]
INSTANCES["SparseNeuronPrediction"] = lambda: [
    skequiv.SparseNeuronPrediction(),
    skequiv.SparseNeuronPrediction(alpha=0.1, chunk_size=7),
]
INSTANCES["NeuronCoclustering"] = lambda: [
    skequiv.NeuronCoclustering(n_clusters=2, n_init=2, random_state=0),
    skequiv.NeuronCoclustering(n_clusters=2, assign_labels="cluster_qr"),
]


# -- representation similarity: issue 12 ---------------------------------------
# No RBF instance: several checks fit a y of two or three integer labels, where
# most sample pairs are at distance 0, so the median bandwidth is 0 and RBF CKA
# refuses the input (tests/similarity/test_errors.py); the estimator code is the
# same for every measure.
INSTANCES["RepresentationSimilarity"] = lambda: [
    skequiv.RepresentationSimilarity(),
    skequiv.RepresentationSimilarity("debiased_linear_cka"),
    skequiv.RepresentationSimilarity("cca", measure_params={"summary": "mean"}),
    skequiv.RepresentationSimilarity("pwcca"),
    skequiv.RepresentationSimilarity("procrustes"),
]


# -- knowledge isomorphism (Liang et al.): issue 13 ---------------------------
# Few epochs keep the many fits of the common checks fast; the checks'
# data are linear enough for the least-squares start.
INSTANCES["KnowledgeIsomorphism"] = lambda: [
    skequiv.KnowledgeIsomorphism(max_epochs=5, random_state=0),
    skequiv.KnowledgeIsomorphism(
        n_orders=2,
        alpha=[0.5],
        hidden_channels=4,
        early_stopping=False,
        max_epochs=3,
        random_state=0,
    ),
]

# -- populations (DYNAMO model embedding): issue 14 -----------------------------
# ModelEmbedding.fit(models, X) takes a population of networks, not (X, y): the
# checks pass a data matrix as `models`, and every check that fits fails on
# that. Its contract (errors, seeding, fitted attributes) is tested in
# tests/population/test_model_embedding.py.
INSTANCES["ModelEmbedding"] = lambda: [skequiv.ModelEmbedding(max_epochs=1)]
EXPECTED_FAILED_CHECKS["ModelEmbedding"] = dict.fromkeys(
    (
        "check_complex_data",
        "check_dict_unchanged",
        "check_dont_overwrite_parameters",
        "check_dtype_object",
        "check_estimator_sparse_array",
        "check_estimator_sparse_matrix",
        "check_estimator_sparse_tag",
        "check_estimators_dtypes",
        "check_estimators_empty_data_messages",
        "check_estimators_fit_returns_self",
        "check_estimators_nan_inf",
        "check_estimators_overwrite_params",
        "check_estimators_pickle",
        "check_estimators_pickle(readonly_memmap=True)",
        "check_f_contiguous_array_estimator",
        "check_fit2d_1feature",
        "check_fit2d_1sample",
        "check_fit2d_predict1d",
        "check_fit_check_is_fitted",
        "check_fit_idempotent",
        "check_fit_score_takes_y",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_n_features_in",
        "check_n_features_in_after_fitting",
        "check_pipeline_consistency",
        "check_positive_only_tag_during_fit",
        "check_readonly_memmap_input",
    ),
    "fit(models, X) takes a population of networks; the check passes a data "
    "matrix as `models`",
)
