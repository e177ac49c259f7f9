"""R² over varying features and the relative RMSE, against direct formulas."""

import numpy as np
import pytest
from sklearn.metrics import r2_score

from skequiv.equivalence import equivalence_r2, relative_rmse
from skequiv.equivalence._scores import varying_features


def _naive_r2(y, p):
    return 1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2)


def test_r2_matches_the_textbook_formula_per_feature():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(50, 3))
    p = y + 0.3 * rng.normal(size=(50, 3))
    expected = np.mean([_naive_r2(y[:, j], p[:, j]) for j in range(3)])
    assert equivalence_r2(y, p) == pytest.approx(expected)


def test_constant_target_features_are_left_out():
    # a dead unit (constant 0) that the prediction misses slightly would score
    # 0 under r2_score's convention and halve the average of a perfect map
    rng = np.random.default_rng(1)
    live = rng.normal(size=(40, 1))
    y = np.hstack([live, np.zeros((40, 1))])
    p = np.hstack([live, np.full((40, 1), 1e-3)])
    assert r2_score(y, p) == pytest.approx(0.5)
    assert equivalence_r2(y, p) == pytest.approx(1.0)
    assert varying_features(y).tolist() == [True, False]


def test_all_constant_target_falls_back_to_r2_score():
    y = np.ones((10, 2))
    assert equivalence_r2(y, y) == r2_score(y, y)


def test_one_dimensional_inputs_and_sample_weight():
    y = np.array([0.0, 1.0, 2.0, 3.0])
    p = np.array([0.1, 0.9, 2.2, 2.9])
    w = np.array([1.0, 2.0, 1.0, 3.0])
    assert equivalence_r2(y, p, sample_weight=w) == pytest.approx(
        r2_score(y, p, sample_weight=w)
    )


def test_relative_rmse_reference_values():
    rng = np.random.default_rng(2)
    y = rng.normal(size=(100, 2))
    assert relative_rmse(y, y) == 0.0
    mean = np.broadcast_to(y.mean(axis=0), y.shape)
    assert relative_rmse(y, mean) == pytest.approx(1.0)
    expected = np.sqrt(np.sum((y - 2 * y) ** 2) / np.sum((y - y.mean(0)) ** 2))
    assert relative_rmse(y, 2 * y) == pytest.approx(expected)
