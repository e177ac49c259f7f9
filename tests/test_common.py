"""scikit-learn's common estimator checks over every public estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skequiv.utils._test_common import (
    EXPECTED_FAILED_CHECKS,
    estimator_instances,
    expected_failed_checks,
    public_estimator_classes,
)


@parametrize_with_checks(
    list(estimator_instances()), expected_failed_checks=expected_failed_checks
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


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
