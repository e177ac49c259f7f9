"""Bad input to every public name: a clean error, or a finite result.

Each subject of ``_subjects.SUBJECTS`` gets each corruption of each of its
inputs (NaN, inf, complex and string dtypes, wrong ranks, extreme scales, all
zeros, one row short) and too few samples (0, 1 and 3, every input cut
together). The outcome must be a ValueError or TypeError raised by skequiv
(naming the parameter) or by scikit-learn's input validation, or finite
arrays; never an error from inside numpy, scipy or torch, never NaN.

Cases that fail today in code another branch is rewriting are marked
``xfail(strict=True)`` with the item of issue 16 that covers them, so that they
turn into failures, and get unmarked, once the fix lands.
"""

import pytest

from ._outcomes import CORRUPTIONS, SAMPLE_COUNTS, assert_clean
from ._subjects import SUBJECTS, data_for

_A = "fixed on branch issue-10a"
_SCALE = f"issue 16 item 1 (extreme scales): {_A}"
_DEGENERATE = (
    "issue 16 item 4 (degenerate metric data reported as 'duplicated samples', "
    f"naming no parameter): {_A}"
)
_METRIC = f"issue 16 item 4 (one validator for metric data): {_A}"
_STRING_Y = (
    "issue 16 bad-input matrix, not one of items 1-11: a string `y` fails in "
    "numpy's float conversion without naming `y` (regression/): reported, for "
    "branch issue-10a"
)

# (subject, slot, corruption) or (subject, n_samples) -> reason
KNOWN_FAILURES = {
    **{
        (name, "X", corruption): _SCALE
        for name in (
            "MahalanobisDiffusionMap",
            "MahalanobisDiffusionMap[euclidean]",
            "NetworkTransform",
            "NetworkTransform[jacobians]",
        )
        for corruption in ("huge", "tiny")
    },
    **{
        (name, "X", "zero"): _DEGENERATE
        for name in (
            "MahalanobisDiffusionMap",
            "MahalanobisDiffusionMap[euclidean]",
            "NetworkTransform",
            "NetworkTransform[jacobians]",
        )
    },
    **{
        ("MahalanobisDiffusionMap", "J", corruption): _METRIC
        for corruption in ("strings", "huge", "tiny", "zero")
    },
    ("NetworkTransform[jacobians]", "J", "tiny"): _METRIC,
    ("NetworkTransform[jacobians]", "J", "zero"): _METRIC,
    ("FunctionMetric", "X", "huge"): _METRIC,
    ("BurstCovarianceMetric", "X", "huge"): _METRIC,
    ("GeometricHarmonicsRegressor", "X", "huge"): _SCALE,
    ("GeometricHarmonicsRegressor", "Y", "strings"): _STRING_Y,
    ("NetworkTransform", "Y", "strings"): _STRING_Y,
    ("NetworkTransform", "Y", "huge"): _SCALE,
    ("equivalence_report", "X", "huge"): _SCALE,
    ("equivalence_report", "Y", "huge"): _SCALE,
    ("equivalence_report", "Y", "tiny"): _SCALE,
    ("equivalence_report", "Y", "zero"): _DEGENERATE,
}


def _cases():
    for subject in SUBJECTS:
        for slot, param in subject.slots.items():
            for corruption in CORRUPTIONS:
                key = (subject.name, slot, corruption)
                yield _case(key, subject, slot, param, corruption)


def _case(key, *values):
    marks = []
    if key in KNOWN_FAILURES:
        marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[key]))
    return pytest.param(*values, id="-".join(map(str, key)), marks=marks)


@pytest.mark.parametrize(("subject", "slot", "param", "corruption"), list(_cases()))
def test_corrupted_input(subject, slot, param, corruption):
    data = data_for(subject)
    data[slot] = CORRUPTIONS[corruption](data[slot])
    assert_clean(subject, data, param)


def _count_cases():
    for subject in SUBJECTS:
        for n in SAMPLE_COUNTS:
            key = (subject.name, n)
            if n < subject.min_samples or key in KNOWN_FAILURES:
                yield _case(key, subject, n)


@pytest.mark.parametrize(("subject", "n"), list(_count_cases()))
def test_too_few_samples(subject, n):
    data = {key: value[:n] for key, value in data_for(subject).items()}
    param = next(iter(subject.slots.values()))
    assert_clean(subject, data, param, sample_count=True)
