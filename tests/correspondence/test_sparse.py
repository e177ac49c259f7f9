"""Sparse one-to-many prediction against scikit-learn's Lasso on the samples."""

import numpy as np
import pytest
from sklearn.linear_model import Lasso
from sklearn.metrics import r2_score
from sklearn.model_selection import GroupKFold, KFold
from sklearn.preprocessing import StandardScaler

from skequiv import SparseNeuronPrediction, sparse_prediction_path
from skequiv.correspondence import ConstantUnitWarning


def _reference_lasso(A, B, alpha):
    """Lasso on explicitly standardised samples: the independent reference."""
    sa, sb = StandardScaler().fit(A), StandardScaler().fit(B)
    lasso = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=100_000)
    lasso.fit(sa.transform(A), sb.transform(B))
    return np.atleast_2d(lasso.coef_), sa, sb


def test_units_that_are_sums_of_three_units_get_exactly_those_connections():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(3000, 12)) * rng.uniform(0.5, 3, size=12) + 4
    supports = [[0, 4, 9], [1, 2, 3], [5, 7, 11], [6, 8, 10]]
    B = np.column_stack([A[:, s].sum(axis=1) for s in supports])
    model = SparseNeuronPrediction(alpha=1e-3).fit(A, B)
    for row, support in zip(model.coef_, supports, strict=True):
        assert np.flatnonzero(row).tolist() == support
    assert model.n_connections_.tolist() == [3, 3, 3, 3]
    assert model.score(A, B) > 1 - 1e-4
    # at a penalty above every |correlation| nothing is connected
    assert SparseNeuronPrediction(alpha=1.0).fit(A, B).n_connections_.sum() == 0


@pytest.mark.parametrize("alpha", [0.3, 0.05, 0.002])
def test_coefficients_equal_lasso_on_the_standardised_samples(alpha):
    rng = np.random.default_rng(1)
    A = rng.normal(size=(800, 10)) @ rng.normal(size=(10, 10)) + 50
    B = A[:, :4] @ rng.normal(size=(4, 5)) + rng.normal(scale=3, size=(800, 5))
    model = SparseNeuronPrediction(alpha=alpha, tol=1e-12, max_iter=100_000)
    model.fit(A, B)
    coef, sa, sb = _reference_lasso(A, B, alpha)
    np.testing.assert_allclose(model.coef_, coef, atol=1e-7)
    np.testing.assert_array_equal(model.n_connections_, (coef != 0).sum(axis=1))
    np.testing.assert_allclose(model.mean_a_, sa.mean_)
    np.testing.assert_allclose(model.scale_b_, sb.scale_)
    expected = sb.inverse_transform(sa.transform(A) @ coef.T)
    np.testing.assert_allclose(model.predict(A), expected, atol=1e-6)
    assert model.score(A, B) == pytest.approx(r2_score(B, expected), abs=1e-9)


def test_conv_layout_one_dimensional_target_and_chunking():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(30, 4, 5, 5))
    B = (A[:, [1]] - 2 * A[:, [3]]) + 0.1 * rng.normal(size=(30, 1, 5, 5))
    model = SparseNeuronPrediction(alpha=0.01, chunk_size=60).fit(A, B)
    assert model.n_connections_.tolist() == [2]
    pred = model.predict(A)
    assert pred.shape == B.shape
    columns = np.moveaxis(A.reshape(30, 4, -1), 1, 2).reshape(-1, 4)
    target = np.moveaxis(B.reshape(30, 1, -1), 1, 2).reshape(-1)
    flat = SparseNeuronPrediction(alpha=0.01).fit(columns, target)
    np.testing.assert_allclose(model.coef_, flat.coef_, atol=1e-10)
    assert flat.predict(columns).shape == (750,)
    assert model.score(A, B) == pytest.approx(flat.score(columns, target))


def test_constant_units_warn_and_are_defined():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(300, 4))
    A[:, 2] = 1.5
    B = np.column_stack([A[:, 0] + A[:, 1], np.zeros(300)])
    with pytest.warns(ConstantUnitWarning) as record:
        model = SparseNeuronPrediction(alpha=1e-3).fit(A, B)
    assert len(record) == 2
    assert (model.coef_[:, 2] == 0).all() and (model.coef_[1] == 0).all()
    assert np.isfinite(model.predict(A)).all()
    np.testing.assert_allclose(model.predict(A)[:, 1], 0.0)
    with pytest.warns(ConstantUnitWarning, match="left out of the R"):
        score = model.score(A, B)
    assert score == pytest.approx(1.0, abs=1e-4)  # the constant unit is left out


def _fold_reference(A, B, alphas, folds):
    error = np.empty((len(folds), len(alphas)))
    connections = np.empty_like(error)
    for f, test in enumerate(folds):
        train = np.setdiff1d(np.arange(len(A)), test)
        for k, alpha in enumerate(alphas):
            coef, sa, sb = _reference_lasso(A[train], B[train], alpha)
            pred = sb.inverse_transform(sa.transform(A[test]) @ coef.T)
            error[f, k] = 1 - r2_score(B[test], pred)
            connections[f, k] = (coef != 0).sum(axis=1).mean()
    return error, connections


def test_path_errors_equal_refitting_on_each_fold():
    rng = np.random.default_rng(4)
    A = rng.normal(size=(600, 8)) + 10
    B = A[:, :3] @ rng.normal(size=(3, 4)) + rng.normal(size=(600, 4))
    alphas = [0.5, 0.1, 0.01]
    path = sparse_prediction_path(
        A, B, alphas=alphas, cv=3, tol=1e-12, max_iter=100_000
    )
    folds = np.array_split(np.arange(600), 3)
    error, connections = _fold_reference(A, B, alphas, folds)
    np.testing.assert_allclose(path.error_folds, error, atol=1e-7)
    np.testing.assert_allclose(path.n_connections_folds, connections)
    np.testing.assert_allclose(path.error, error.mean(axis=0), atol=1e-7)
    # a shuffled splitter with groups of inputs gives the same as refitting too
    groups = rng.integers(0, 6, size=600)
    split = list(GroupKFold(n_splits=3).split(A, groups=groups))
    path = sparse_prediction_path(
        A, B, alphas=alphas, cv=split, tol=1e-12, max_iter=100_000
    )
    error, _ = _fold_reference(A, B, alphas, [test for _, test in split])
    np.testing.assert_allclose(path.error_folds, error, atol=1e-7)


def test_default_path_runs_from_no_connection_to_dense():
    rng = np.random.default_rng(5)
    A = rng.normal(size=(1000, 10))
    B = A[:, :2] @ rng.normal(size=(2, 3)) + 0.2 * rng.normal(size=(1000, 3))
    path = sparse_prediction_path(A, B, alphas=8)
    assert path.alphas.shape == (8,) and (np.diff(path.alphas) < 0).all()
    assert path.n_connections[0] == 0 and path.error[0] == pytest.approx(1, abs=0.02)
    assert path.n_connections[-1] >= 2 and path.error[-1] < 0.05
    assert (np.diff(path.n_connections) >= 0).all()


def test_path_rejects_folds_that_do_not_partition_the_inputs():
    A, B = np.ones((10, 2)), np.ones((10, 2))
    overlapping = [
        (np.arange(5, 10), np.arange(0, 6)),
        (np.arange(5), np.arange(4, 10)),
    ]
    with pytest.raises(ValueError, match="overlapping"):
        sparse_prediction_path(A, B, cv=overlapping)
    partial = [(np.arange(5, 10), np.arange(5)), (np.arange(5), np.arange(5, 9))]
    with pytest.raises(ValueError, match="cover every input"):
        sparse_prediction_path(A, B, cv=partial)
    rng = np.random.default_rng(6)
    with pytest.raises(ValueError, match="positive"):
        sparse_prediction_path(
            rng.normal(size=(10, 2)),
            rng.normal(size=(10, 2)),
            alphas=[0.1, -1.0],
            cv=KFold(2),
        )


@pytest.mark.parametrize(
    ("params", "X", "y", "match"),
    [
        ({"alpha": 0.0}, np.ones((5, 2)), np.ones((5, 2)), "alpha"),
        ({}, np.ones((5, 2)), np.ones((4, 2)), "same number of inputs"),
        ({}, np.ones((1, 2)), np.ones((1, 2)), "1 sample"),
        ({}, np.ones((5, 2)), np.full((5, 2), np.inf), "inf"),
    ],
)
def test_bad_input_gets_a_clear_error(params, X, y, match):
    with pytest.raises(ValueError, match=match):
        SparseNeuronPrediction(**params).fit(X, y)
