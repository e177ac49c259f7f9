"""Public functions validate their parameters like the estimators do.

scikit-learn's ``validate_params`` (imported through ``skequiv._compat``)
checks each argument before any work and raises ``InvalidParameterError``
naming the function, the parameter, what is valid and the value received.
Every public function is either in ``BAD_CALLS`` or in ``NOT_VALIDATED``
with the reason.
"""

import importlib
import inspect

import numpy as np
import pytest

import skequiv
from skequiv._compat import InvalidParameterError

_A = np.arange(12.0).reshape(6, 2)

# public name -> (a call with exactly one bad argument, that parameter)
BAD_CALLS = {
    "match_neurons": (lambda f: f(np.eye(2), assignment="greedy"), "assignment"),
    "neuron_correlation": (lambda f: f(_A, chunk_size=0), "chunk_size"),
    "neuron_mutual_information": (lambda f: f(_A, n_bins=1), "n_bins"),
    "sparse_prediction_path": (lambda f: f(_A, _A, eps=1.5), "eps"),
    "estimate_intrinsic_dimension": (lambda f: f(_A, method="pca"), "method"),
    "load_experiment": (lambda f: f("cifar"), "name"),
    "load_inputs": (lambda f: f(3), "path"),
    "load_model": (lambda f: f("net.pt", model_class=3), "model_class"),
    "pairwise_similarity": (lambda f: f([_A, _A], batch_size=0), "batch_size"),
    "cluster_population": (lambda f: f(np.eye(2), 1, linkage="ward"), "linkage"),
    "embed_population": (lambda f: f(np.eye(2), 0), "n_components"),
    "population_distances": (lambda f: f(np.eye(2), kind="kernel"), "kind"),
}

# representation similarity (issue 12)
BAD_CALLS.update(
    {
        "cka": (lambda f: f(_A, _A, kernel="poly"), "kernel"),
        "cca": (lambda f: f(_A, _A, summary="max"), "summary"),
        "svcca": (lambda f: f(_A, _A, variance=0.0), "variance"),
        "pwcca": (lambda f: f(_A, _A, weights="fewer"), "weights"),
        "procrustes": (lambda f: f(_A, "not an array"), "Y"),
        "shape_distance": (lambda f: f(_A, _A, alpha=2.0), "alpha"),
        "get_measure": (lambda f: f("cosine"), "name"),
    }
)

# data sets and figures (issue 17)
BAD_CALLS.update(
    {
        "make_scalar_task": (lambda f: f(noise=-1.0), "noise"),
        "make_vector_field_task": (lambda f: f(field="lorenz"), "field"),
        "make_rotating_object": (lambda f: f(size=4), "size"),
        "train_mlp": (lambda f: f(_A, _A[:, 0], lr=0.0), "lr"),
        "train_autoencoder": (lambda f: f(_A, code_size=0), "code_size"),
        "plot_similarity_matrix": (lambda f: f("a matching"), "matching"),
        "plot_matched_similarity": (lambda f: f("a matching"), "matching"),
        "plot_sparse_prediction_path": (lambda f: f([1.0]), "path"),
        "plot_coclusters": (lambda f: f(None), "coclustering"),
        "plot_population_matrix": (lambda f: f(np.eye(2), title=3), "title"),
        "plot_model_embedding": (lambda f: f(_A, color_label=1), "color_label"),
        "plot_variance_by_order": (lambda f: f("profile"), "profiles"),
        "save_or_show": (lambda f: f(3), "name"),
    }
)

# the equivalence test and its figures (issue 17)
_J = np.ones((6, 2, 2))
BAD_CALLS.update(
    {
        "equivalence_report": (lambda f: f(_A, _A, tolerance=2.0), "tolerance"),
        "align_embeddings": (
            lambda f: f(_A, _A, degeneracy_tol=-1.0),
            "degeneracy_tol",
        ),
        "eigenvalue_blocks": (lambda f: f([1.0, 0.5], tol=-0.1), "tol"),
        "equivalence_r2": (lambda f: f(_A, 3), "y_pred"),
        "relative_rmse": (lambda f: f(_A, "prediction"), "y_pred"),
        "is_probability": (lambda f: f(0.5), "P"),
        "centered_log_ratio": (lambda f: f(_A, floor=0.0), "floor"),
        "plot_report": (lambda f: f("a report"), "report"),
        "plot_spectra": (lambda f: f(None), "report"),
        "plot_embeddings": (lambda f: f({"coords_a": _A}), "report"),
        "plot_reconstruction": (lambda f: f(_A), "report"),
        "plot_null": (lambda f: f("report"), "report"),
        "plot_scores": (lambda f: f(0.9), "report"),
        "plot_candidates": (lambda f: f([0.9]), "report"),
        "plot_score_curve": (lambda f: f(None, target=1), "target"),
    }
)

# per-sample metric data (issue 17)
BAD_CALLS.update(
    {
        "burst_covariances": (
            lambda f: f(np.sin, _A, sigma=0.1, n_bursts=1),
            "n_bursts",
        ),
        "local_spectra": (lambda f: f(_J, batch_size=0), "batch_size"),
        "precision_factors": (lambda f: f(_J, rank=0), "rank"),
        "resolve_regularization": (lambda f: f("none", [1.0]), "regularization"),
        "warn_if_ranks_vary": (lambda f: f(3), "ranks"),
        "check_finite_scale": (lambda f: f(_A, name=None), "name"),
        "check_metric_data": (lambda f: f(_J, n_samples=-1, n_features=2), "n_samples"),
        "check_spectra": (lambda f: f(_A, n_samples=6, n_features=2), "spectra"),
    }
)

# public functions that check their arguments by hand, with why
NOT_VALIDATED = {
    "available_measures": "takes no arguments",
    "is_metric_source": "a predicate: any object is a valid argument",
}


def _public_functions():
    names = dict(skequiv._PUBLIC)
    for package in skequiv._SUBPACKAGES:
        module = importlib.import_module(f"skequiv.{package}")
        for name in getattr(module, "__all__", ()):
            names.setdefault(name, f"skequiv.{package}")
    return {
        name: getattr(importlib.import_module(module), name)
        for name, module in names.items()
        if inspect.isfunction(getattr(importlib.import_module(module), name))
    }


def test_every_public_function_is_validated_or_says_why_not():
    functions = _public_functions()
    assert set(functions) == set(BAD_CALLS) | set(NOT_VALIDATED)
    for name in BAD_CALLS:
        # validate_params wraps the function it checks
        assert hasattr(functions[name], "__wrapped__"), name


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_a_bad_parameter_is_named(name):
    call, parameter = BAD_CALLS[name]
    function = _public_functions()[name]
    with pytest.raises(
        InvalidParameterError,
        # (?s): the received value may print over several lines
        match=rf"(?s)^The '{parameter}' parameter of {name} must be .* Got .* "
        r"instead\.$",
    ):
        call(function)
