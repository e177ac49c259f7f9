"""RepresentationSimilarity in scikit-learn's model selection tools."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skequiv.similarity import RepresentationSimilarity, cca, cka, get_measure


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    Y = np.tanh(X[:, :4] @ rng.normal(size=(4, 5))) + 0.2 * rng.normal(size=(n, 5))
    return X, Y


def test_fit_records_and_score_recomputes_on_the_given_rows():
    X, Y = _data()
    est = RepresentationSimilarity("cca").fit(X[:80], Y[:80])
    assert est.similarity_ == cca(X[:80], Y[:80])
    assert est.score(X[80:], Y[80:]) == cca(X[80:], Y[80:])
    assert est.measure_.name == "cca"
    assert est.n_features_in_ == 6


def test_cross_val_score_gives_the_measure_on_each_test_fold():
    X, Y = _data()
    cv = KFold(3)
    scores = cross_val_score(RepresentationSimilarity(), X, Y, cv=cv)
    expected = [cka(X[test], Y[test]) for _, test in cv.split(X)]
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-15)


def test_grid_search_picks_the_most_similar_setting():
    # a larger score must mean more similar, so the best is the maximum
    X, Y = _data()
    grid = GridSearchCV(
        RepresentationSimilarity("rbf_cka"),
        {"measure_params": [{"threshold": t} for t in (0.25, 0.5, 1.0, 4.0)]},
        cv=KFold(3),
    ).fit(X, Y)
    means = grid.cv_results_["mean_test_score"]
    assert grid.best_score_ == means.max()
    assert grid.best_index_ == int(np.argmax(means))


def test_pipeline_transforms_x_before_the_measure():
    X, Y = _data()
    pipe = make_pipeline(StandardScaler(), RepresentationSimilarity("procrustes"))
    pipe.fit(X, Y)
    Xs = StandardScaler().fit_transform(X)
    assert pipe.score(X, Y) == pytest.approx(
        get_measure("procrustes")(Xs, Y), abs=1e-15
    )


def test_one_dimensional_y_is_one_unit():
    X, Y = _data()
    est = RepresentationSimilarity().fit(X, Y[:, 0])
    assert est.similarity_ == cka(X, Y[:, :1])


def test_score_refuses_sample_weights_and_other_units():
    X, Y = _data()
    est = RepresentationSimilarity().fit(X, Y)
    with pytest.raises(ValueError, match="sample_weight"):
        est.score(X, Y, sample_weight=np.ones(len(X)))
    with pytest.raises(ValueError, match="features"):
        est.score(X[:, :3], Y)


def test_bad_measure_params_are_refused_at_fit():
    X, Y = _data()
    with pytest.raises(ValueError, match="'variance' parameter of get_measure"):
        RepresentationSimilarity("svcca", measure_params={"variance": 2}).fit(X, Y)
    with pytest.raises(ValueError, match="'measure' parameter"):
        RepresentationSimilarity("euclidean").fit(X, Y)
