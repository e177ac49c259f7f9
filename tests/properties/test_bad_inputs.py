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

_STRING_Y = (
    "issue 16 bad-input matrix, not one of items 1-11: a string `y` fails in "
    "numpy's float conversion without naming `y` (equivalence/): reported, for "
    "branch issue-10b"
)
_REPORT = (
    "issue 16 bad-input matrix, not one of items 1-11: equivalence_report's errors "
    "name NetworkTransform's `X`/`y`, not its own `a`/`b`, and call a `b` scaled "
    "by 1e200 or 1e-200 'constant' (equivalence/): reported, for branch issue-10b"
)
_TARGET = (
    "issue 16 bad-input matrix, not one of items 1-11: NetworkTransform calls a "
    "target scaled by 1e200 or 1e-200 'constant', and names no `y` when it is: "
    "reported, for branch issue-10b"
)
_SCALES = ("huge", "tiny")


def _known(reason, names, slots, corruptions):
    return {
        (name, slot, corruption): reason
        for name in names
        for slot in slots
        for corruption in corruptions
    }


# (subject, slot, corruption) or (subject, n_samples) -> reason
KNOWN_FAILURES = {
    **_known(
        _STRING_Y,
        ["NetworkTransform"],
        ["Y"],
        ["strings"],
    ),
    **_known(_TARGET, ["NetworkTransform"], ["Y"], [*_SCALES, "zero"]),
    ("equivalence_report", "X", "huge"): _REPORT,
    **_known(_REPORT, ["equivalence_report"], ["Y"], [*_SCALES, "zero"]),
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
