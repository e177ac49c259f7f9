"""Warnings point at the user's line, however deep skequiv raised them."""

import warnings

import numpy as np
import pytest

from skequiv.equivalence import align_embeddings
from skequiv.metric import warn_if_ranks_vary
from skequiv.utils._warnings import user_stacklevel


def _raise_here():
    warnings.warn("from a test helper", UserWarning, stacklevel=user_stacklevel())


def test_a_caller_outside_skequiv_is_its_own_level():
    # this file is not inside skequiv: the warning names this function's line
    with pytest.warns(UserWarning) as record:
        _raise_here()
    assert record[0].filename == __file__
    assert record[0].lineno == _raise_here.__code__.co_firstlineno + 1


def test_a_public_function_behind_validate_params_points_at_the_caller():
    with pytest.warns(UserWarning, match="different ranks") as record:
        warn_if_ranks_vary(np.array([1, 2, 2]))
    assert [w.filename for w in record] == [__file__]


def test_a_nested_helper_points_at_the_caller():
    # the sign helper is two calls below align_embeddings and its wrapper;
    # symmetric data leaves the signs barely identified
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(200, 2))
    Z = np.vstack([Z, -Z])
    with pytest.warns(UserWarning, match="barely identified") as record:
        align_embeddings(Z, Z @ np.diag([1.0, -1.0]))
    assert {w.filename for w in record} == {__file__}
