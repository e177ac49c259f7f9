"""Issue 16's reproductions that no generic matrix reaches, one test each.

Items 2, 5 and 8 are tested where they were fixed (tests/networks/
test_network_dtypes.py, tests/selection/test_whitney.py); items 1, 4, 7 and 11
by the bad-input matrix and the invariance properties of this folder, and by
tests/embedding, tests/metric and tests/regression.
"""

import warnings

import numpy as np
import pytest

import skequiv

from ._outcomes import names, origin
from ._subjects import curve, small_net

pd = pytest.importorskip("pandas")
torch = pytest.importorskip("torch")


def _report(a, b, X=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return skequiv.equivalence_report(
            a, b, X, n_permutations=0, n_bootstrap=0, random_state=0
        )


def test_item_3_a_dataframe_is_an_array_not_a_network_source():
    d = curve(80)
    frame = pd.DataFrame(d["X"], columns=["t", "t2", "sin3t"])
    expected = _report(d["X"], d["Y"])
    got = _report(frame, d["Y"])
    assert got.score_ab == expected.score_ab
    assert got.score_ba == expected.score_ba


def test_item_10_bare_torch_modules_get_an_error_naming_the_argument():
    X = curve(40)["X"]
    with pytest.raises((TypeError, ValueError)) as info:
        _report(small_net(), small_net(), X)
    assert "skequiv" in origin(info.value)
    assert names(str(info.value), "a")
    assert "NetworkActivations" in str(info.value)  # the way in


def test_item_10_score_on_the_network_path_refuses_a_y():
    d = curve(80)
    transform = skequiv.NetworkTransform(
        source_a=skequiv.NetworkActivations(small_net()),
        source_b=skequiv.NetworkActivations(small_net()),
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        transform.fit(d["X"])
    with pytest.raises(ValueError) as info:
        transform.score(d["X"], np.zeros((80, 4)))
    assert names(str(info.value), "y")
