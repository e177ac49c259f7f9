"""equivalence_report on synthetic pairs whose answer is known."""

import numpy as np
import pytest
from joblib import parallel_config
from sklearn.neighbors import KNeighborsRegressor

from skequiv import EquivalenceReport, equivalence_report
from skequiv.equivalence._report import (
    _bootstrap_interval,
    _permutation_p_value,
    _verdict,
)


def _report(a, b, **kwargs):
    kwargs = {
        "embedding": "passthrough",
        "regressor": KNeighborsRegressor(5),
        "n_permutations": 149,
        "n_bootstrap": 200,
        "random_state": 0,
        **kwargs,
    }
    return equivalence_report(a, b, **kwargs)


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).uniform(-1, 1, size=(300, 1))


@pytest.mark.parametrize(
    "ab, ba, verdict, direction",
    [
        (0.99, 0.96, "equivalent", None),
        (0.99, 0.5, "one-way", "A->B"),
        (0.2, 0.951, "one-way", "B->A"),
        (0.94, 0.5, "not equivalent", None),
        (0.95, 0.95, "equivalent", None),  # the tolerance is inclusive
    ],
)
def test_verdict_logic(ab, ba, verdict, direction):
    assert _verdict(ab, ba, 0.95) == (verdict, direction)


def test_permutation_p_value_counts_ties_and_adds_one():
    assert _permutation_p_value(0.5, [0.1, 0.6, 0.5]) == pytest.approx(3 / 4)
    assert _permutation_p_value(0.9, np.zeros(99)) == pytest.approx(1 / 100)


def test_bootstrap_interval_is_the_percentile_interval():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(80, 1))
    p = y + 0.5 * rng.normal(size=(80, 1))
    lo, hi = _bootstrap_interval(y, p, 500, 0.9, np.random.RandomState(1))
    # the same resamples, computed directly
    r = np.random.RandomState(1)
    scores = []
    for _ in range(500):
        i = r.randint(0, 80, size=80)
        yi, pi = y[i, 0], p[i, 0]
        scores.append(1 - np.sum((yi - pi) ** 2) / np.sum((yi - yi.mean()) ** 2))
    assert (lo, hi) == pytest.approx(tuple(np.percentile(scores, [5, 95])))
    assert _bootstrap_interval(y, p, 0, 0.9, r) == pytest.approx(
        (np.nan,) * 2, nan_ok=True
    )


def test_same_task_is_equivalent_and_rejects_the_null(x):
    report = _report(
        np.hstack([np.tanh(2 * x), x**3 + x]), np.hstack([np.sin(x), np.exp(x)])
    )
    assert isinstance(report, EquivalenceReport)
    assert report.verdict == "equivalent" and report.equivalent
    assert report.score_ab > 0.95 and report.score_ba > 0.95
    assert report.p_value < 0.01 and report.p_value == max(
        report.p_value_ab, report.p_value_ba
    )
    assert report.null_scores_ab.shape == (149,)
    assert report.interval_ab[0] <= report.score_ab <= report.interval_ab[1] + 1e-12
    assert report.cycle_error_a < 0.2 and report.cycle_error_b < 0.2
    assert (report.n_train, report.n_test) == (225, 75)


def test_self_comparison_scores_best(x):
    a = np.hstack([np.tanh(2 * x), x**3 + x])
    same = _report(a, a, n_permutations=0)
    other = _report(a, np.sin(3 * x), n_permutations=0)
    assert same.score_ab >= other.score_ab
    assert same.score_ab > 0.99


def test_one_way_pair(x):
    report = _report(x, x**2)  # x² is a function of x; x is not of x²
    assert report.verdict == "one-way" and report.direction == "A->B"
    assert "B is a function of A" in str(report)


def test_neither_pair_is_not_equivalent(x):
    report = _report(x**2, (x - 0.3) ** 2)
    assert report.verdict == "not equivalent"
    assert report.direction is None


def test_independent_targets_do_not_reject_the_null(x):
    noise = np.random.default_rng(5).uniform(size=(300, 1))
    report = _report(x, noise)
    assert report.p_value > 0.05
    assert report.verdict == "not equivalent"


def test_full_refit_null_is_used_with_a_selector(x):
    # with a selector the sample correspondence changes the selection, so the
    # null refits everything; the p-value is still valid and small here
    from sklearn.feature_selection import SelectFromModel
    from sklearn.linear_model import Ridge

    a = np.hstack([x, np.random.default_rng(1).normal(size=(300, 2))])
    sel = SelectFromModel(Ridge(), max_features=1, threshold=-np.inf)
    report = _report(a, x**3, selector=sel, n_permutations=20)
    assert report.support_ab.tolist() == [0]
    assert report.p_value_ab == pytest.approx(1 / 21)


def test_str_and_repr_are_readable(x):
    report = _report(x, np.sin(2 * x), n_permutations=20, names=("net1", "net2"))
    text = str(report)
    for piece in (
        "net1→net2",
        "net2→net1",
        "held-out R²",
        "permutation p",
        "cycle error",
        "verdict",
    ):
        assert piece in text
    assert repr(report).startswith("EquivalenceReport(verdict=")


def test_str_says_what_was_not_run(x):
    report = _report(x, x**3, n_permutations=0, n_bootstrap=0)
    text = str(report)
    assert "permutation test not run" in text and "CI not computed" in text
    assert "p = 1" not in text and "nan" not in text


def test_spectra_and_correlations_with_a_diffusion_map(x):
    report = equivalence_report(
        x, x**3 + x, n_permutations=10, n_bootstrap=50, random_state=0
    )
    assert report.spectrum_a.shape == report.spectrum_b.shape == (4,)
    # both are monotone reparametrisations of one interval: ψ₁ agrees
    assert report.coordinate_correlations[0] > 0.95
    assert report.verdict == "equivalent"


def test_invalid_arguments():
    a = np.zeros((10, 1))
    with pytest.raises(ValueError, match="paired samples"):
        equivalence_report(a, np.zeros((9, 1)))
    with pytest.raises(ValueError, match="tolerance"):
        equivalence_report(a, a, tolerance=1.5)
    with pytest.raises(ValueError, match="color must have"):
        equivalence_report(
            a + np.arange(10)[:, None],
            a + np.arange(10)[:, None],
            embedding="passthrough",
            color=[1, 2],
        )


def test_plots_draw_every_kind(x, tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    report = equivalence_report(
        x, x**3 + x, n_permutations=5, n_bootstrap=20, color=x[:, 0], random_state=0
    )
    for kind in ("summary", "spectra", "embeddings", "reconstruction", "selection"):
        fig = report.plot(kind)
        fig.savefig(tmp_path / f"{kind}.png")
        plt.close(fig)
    assert len(list(tmp_path.glob("*.png"))) == 5
    with pytest.raises(ValueError, match="kind must be one of"):
        report.plot("nope")


def test_parallel_and_verbose_null_equals_the_serial_one(x):
    a, b = x, np.sin(2 * x)
    serial = _report(a, b, n_permutations=12, n_bootstrap=0)
    # the threading backend exercises the parallel path without starting
    # processes (loky workers take seconds to import scikit-learn)
    with parallel_config(backend="threading"):
        parallel = _report(
            a, b, n_permutations=12, n_bootstrap=0, n_jobs=2, verbose=True
        )
    np.testing.assert_allclose(parallel.null_scores_ab, serial.null_scores_ab)
    np.testing.assert_allclose(parallel.null_scores_ba, serial.null_scores_ba)
    assert parallel.p_value == serial.p_value
