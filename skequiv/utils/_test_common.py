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
