"""Instances of every public estimator for scikit-learn's common checks.

One table per concern, as in imbalanced-learn: ``INSTANCES`` builds the
estimators to check (torch-backed ones lazily, so this module imports without
torch), and ``EXPECTED_FAILED_CHECKS`` lists every check an estimator is known
to fail, each with the reason. An entry here is a documented decision, not a
way to silence a bug.
"""

import inspect

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
