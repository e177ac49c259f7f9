"""Bad input to every public name: a clean error, or a finite result.

Each subject of ``_subjects.SUBJECTS`` gets each corruption of each of its
inputs (NaN, inf, complex and string dtypes, wrong ranks, extreme scales, all
zeros, one row short) and too few samples (0, 1 and 3, every input cut
together). The outcome must be a ValueError or TypeError raised by skequiv
(naming the parameter) or by scikit-learn's input validation, or finite
arrays; never an error from inside numpy, scipy or torch, never NaN.
"""

import pytest

from ._outcomes import CORRUPTIONS, SAMPLE_COUNTS, assert_clean
from ._subjects import SUBJECTS, data_for


def _cases():
    for subject in SUBJECTS:
        for slot, param in subject.slots.items():
            for corruption in CORRUPTIONS:
                key = (subject.name, slot, corruption)
                yield pytest.param(
                    subject, slot, param, corruption, id="-".join(map(str, key))
                )


@pytest.mark.parametrize(("subject", "slot", "param", "corruption"), list(_cases()))
def test_corrupted_input(subject, slot, param, corruption):
    data = data_for(subject)
    data[slot] = CORRUPTIONS[corruption](data[slot])
    assert_clean(subject, data, param)


def _count_cases():
    for subject in SUBJECTS:
        for n in SAMPLE_COUNTS:
            if n < subject.min_samples:
                yield pytest.param(subject, n, id=f"{subject.name}-{n}")


@pytest.mark.parametrize(("subject", "n"), list(_count_cases()))
def test_too_few_samples(subject, n):
    data = {key: value[:n] for key, value in data_for(subject).items()}
    param = next(iter(subject.slots.values()))
    assert_clean(subject, data, param, sample_count=True)
