"""Bad input gets a clear error that names the parameter and the fix."""

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from skequiv.similarity import (
    MEASURES,
    cca,
    cka,
    get_measure,
    procrustes,
    pwcca,
    shape_distance,
    svcca,
)


def _data(n=40, p=4, q=3):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, p)), rng.normal(size=(n, q))


@pytest.mark.parametrize("name", MEASURES)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_is_refused(name, bad):
    X, Y = _data()
    X[5, 1] = bad
    with pytest.raises(ValueError, match="Input X contains"):
        get_measure(name)(X, Y)
    with pytest.raises(ValueError, match="Input Y contains"):
        get_measure(name)(Y, X)


@pytest.mark.parametrize("name", MEASURES)
def test_mismatched_rows_are_refused(name):
    X, Y = _data()
    with pytest.raises(ValueError, match="same number of samples"):
        get_measure(name)(X, Y[:-1])
    measure = get_measure(name)
    with pytest.raises(ValueError, match="same number of samples"):
        measure.compare(measure.prepare(X), measure.prepare(Y[:-1]))


@pytest.mark.parametrize("name", MEASURES)
def test_too_few_samples_are_refused(name):
    measure = get_measure(name)
    X, Y = _data(n=measure.min_samples - 1)
    with pytest.raises(ValueError, match=f"at least {measure.min_samples}"):
        measure(X, Y)


def test_debiased_cka_needs_four_samples():
    X, Y = _data(n=3)
    with pytest.raises(ValueError, match="at least 4"):
        cka(X, Y, debiased=True)
    assert np.isfinite(cka(X, Y))


@pytest.mark.parametrize("name", MEASURES)
def test_a_representation_of_constant_units_is_refused(name):
    X, Y = _data()
    with pytest.raises(ValueError, match="every column of X is constant"):
        get_measure(name)(np.full_like(X, 3.0), Y)


@pytest.mark.parametrize(
    "function", [cka, cca, svcca, pwcca, procrustes, shape_distance]
)
def test_a_constant_unit_contributes_nothing(function):
    X, Y = _data()
    with_dead = np.insert(X, 2, 7.25, axis=1)
    assert function(with_dead, Y) == pytest.approx(function(X, Y), abs=1e-12)


def test_conv_maps_must_be_flattened_explicitly():
    X = np.zeros((10, 3, 4, 4))
    with pytest.raises(ValueError, match=r"must be 2-D.*reshape"):
        cka(X, X)


def test_cca_refuses_ranks_that_force_correlations_to_one():
    X, Y = _data(n=10, p=6, q=5)
    with pytest.raises(ValueError, match="canonical correlations equal 1"):
        cca(X, Y)
    with pytest.raises(ValueError, match="n_samples - 1 = 9"):
        pwcca(X, Y)
    assert 0 <= svcca(X, Y, variance=0.5) <= 1


def test_rbf_bandwidth_of_zero_is_refused():
    X = np.zeros((10, 2))
    X[-2:] = 1.0
    with pytest.raises(ValueError, match="median squared distance"):
        cka(X, X, kernel="rbf")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda X, Y: cka(X, Y, kernel="poly"), "'kernel' parameter"),
        (lambda X, Y: cka(X, Y, threshold=0), "'threshold' parameter"),
        (lambda X, Y: cca(X, Y, summary="max"), "'summary' parameter"),
        (lambda X, Y: svcca(X, Y, variance=1.5), "'variance' parameter"),
        (lambda X, Y: pwcca(X, Y, weights="fewer"), "'weights' parameter"),
        (lambda X, Y: shape_distance(X, Y, alpha=2), "'alpha' parameter"),
        (lambda X, Y: get_measure("svcca", variance=0), "'variance' parameter"),
    ],
)
def test_bad_parameters_are_refused(call, match):
    X, Y = _data()
    with pytest.raises(InvalidParameterError, match=match):
        call(X, Y)


def test_unknown_measures_and_parameters_are_refused():
    with pytest.raises(ValueError, match="must be a str among"):
        get_measure("cosine")
    with pytest.raises(TypeError, match=r"get_measure\('linear_cka'\)"):
        get_measure("linear_cka", threshold=0.5)


@pytest.mark.parametrize("name", MEASURES)
def test_errors_name_the_argument_at_fault(name):
    X, Y = _data()
    with pytest.raises(ValueError, match="every column of Y is constant"):
        get_measure(name)(X, np.zeros_like(Y))
    with pytest.raises(ValueError, match="every column of y is constant"):
        get_measure(name).evaluate(X, np.zeros_like(Y), names=("X", "y"))


@pytest.mark.parametrize("name", MEASURES)
def test_extreme_scales_give_the_answer_of_unit_scale(name):
    # squares of 1e200 overflow and of 1e-200 vanish; every measure is
    # scale-invariant, so the data are rescaled (by powers of 2) first
    X, Y = _data()
    expected = get_measure(name)(X, Y)
    got = get_measure(name)(X * 1e200, Y * 1e-200)
    assert got == pytest.approx(expected, abs=1e-12)


def test_streaming_at_extreme_scales():
    from skequiv.similarity import SimilarityAccumulator

    X, Y = _data()
    acc = SimilarityAccumulator(batch_size=7).update(X * 1e200, Y * 1e-200)
    for name in ("debiased_linear_cka", "cca", "procrustes"):
        assert acc.score(name) == pytest.approx(get_measure(name)(X, Y), abs=1e-10)
    with pytest.raises(ValueError, match="Complex data not supported"):
        SimilarityAccumulator().update(X + 1j, Y)
