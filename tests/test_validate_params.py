"""Public functions validate their parameters like the estimators do.

scikit-learn's ``validate_params`` (imported through ``skequiv._compat``)
checks each argument before any work and raises ``InvalidParameterError``
naming the function, the parameter, what is valid and the value received.
Every public function outside the areas listed in ``OTHER_AREAS`` is either
in ``BAD_CALLS`` or in ``NOT_VALIDATED`` with the reason.
"""

import importlib
import inspect

import numpy as np
import pytest

import skequiv
from skequiv._compat import InvalidParameterError

# rewritten elsewhere at the same time; their functions are checked there
OTHER_AREAS = ("equivalence", "embedding", "regression", "metric")

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

# public functions that check their arguments by hand, with why
NOT_VALIDATED = {"available_measures": "takes no arguments"}


def _public_functions():
    names = dict(skequiv._PUBLIC)
    for package in skequiv._SUBPACKAGES:
        module = importlib.import_module(f"skequiv.{package}")
        for name in getattr(module, "__all__", ()):
            names.setdefault(name, f"skequiv.{package}")
    return {
        name: getattr(importlib.import_module(module), name)
        for name, module in names.items()
        if module.split(".")[1] not in OTHER_AREAS
        and inspect.isfunction(getattr(importlib.import_module(module), name))
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
        match=rf"^The '{parameter}' parameter of {name} must be .* Got .* instead\.$",
    ):
        call(function)
