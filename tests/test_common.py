"""scikit-learn's common estimator checks over every public estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skequiv.utils._test_common import (
    EXPECTED_FAILED_CHECKS,
    estimator_instances,
    expected_failed_checks,
    public_estimator_classes,
)

_ALL_CHECKS = parametrize_with_checks(
    list(estimator_instances()), expected_failed_checks=expected_failed_checks
)

# check -> why it is not run (it would only be skipped, once per estimator)
NOT_RUN = {
    "check_array_api_input": (
        "no skequiv estimator declares array API support, so scikit-learn runs "
        "this check with NumPy inputs only, and only when SCIPY_ARRAY_API=1 is "
        "set before scipy is imported, which would switch scipy to its array API "
        "mode for the whole test run"
    ),
}


def _check_name(param):
    check = getattr(param, "values", param)[1]
    return getattr(check, "func", check).__name__


# The common checks fit on a few random or clustered points on purpose; there,
# MahalanobisDiffusionMap rightly warns that the kernel graph falls apart into
# clusters, and WhitneyFeatureSelector that the data have fewer usable columns
# than 2d+1 or that no subset of random features reaches the target score.
# tests/selection/test_whitney.py asserts the selector's two warnings where
# they are expected. The checks also use far fewer than 300 samples, which the
# diffusion map rightly says is too few for rank-deficient metric data, and
# give NetworkTransform plain arrays, with which it rightly says that its
# intrinsic candidate runs with the Euclidean metric.
# check_complex_data passes complex X: numpy warns while casting, then the
# estimator refuses it, as the check requires
@pytest.mark.filterwarnings("ignore:Casting complex values to real")
@pytest.mark.filterwarnings("ignore:The kernel graph is nearly disconnected")
@pytest.mark.filterwarnings("ignore:Cannot select .* features \\(2d\\+1")
@pytest.mark.filterwarnings("ignore:No subset reached the target score")
@pytest.mark.filterwarnings("ignore:Only .* samples with rank-deficient metric data")
@pytest.mark.filterwarnings(
    "ignore:NetworkTransform. no jacobians or covariances came with"
)
@pytest.mark.parametrize(
    _ALL_CHECKS.args[0],
    [param for param in _ALL_CHECKS.args[1] if _check_name(param) not in NOT_RUN],
    **_ALL_CHECKS.kwargs,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_the_checks_not_run_exist_and_say_why():
    names = {_check_name(param) for param in _ALL_CHECKS.args[1]}
    for check, reason in NOT_RUN.items():
        assert check in names, f"{check} is no longer among the common checks"
        assert len(reason) > 20


def test_every_expected_failure_has_a_reason():
    names = {cls.__name__ for cls in public_estimator_classes()}
    for cls_name, checks in EXPECTED_FAILED_CHECKS.items():
        assert cls_name in names, f"{cls_name} is not a public estimator"
        for check, reason in checks.items():
            assert isinstance(reason, str) and len(reason) > 20, (cls_name, check)


@pytest.mark.parametrize("cls", public_estimator_classes(), ids=lambda c: c.__name__)
def test_estimator_has_numpydoc_sections(cls):
    doc = cls.__doc__ or ""
    for section in ("Parameters", "Attributes", "Examples"):
        assert section in doc, f"{cls.__name__} docstring lacks {section}"
