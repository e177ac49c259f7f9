"""equivalence_report on synthetic pairs whose answer is known."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skequiv import EquivalenceReport, equivalence_report
from skequiv.equivalence._report import (
    _bootstrap_interval,
    _permutation_p_value,
    decide_verdict,
    direction_status,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore::skequiv.equivalence.EuclideanMetricWarning"
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
    "score, interval, p, status",
    [
        (0.99, (0.97, 0.995), 0.005, "holds"),
        (0.95, (0.95, 0.96), 0.005, "holds"),  # the tolerance is inclusive
        (0.97, (0.94, 0.98), 0.005, "undecided"),  # the interval straddles it
        (0.99, (0.97, 0.995), 0.2, "undecided"),  # not significant
        (0.90, (0.88, 0.949), 0.005, "fails"),
        (0.10, (0.0, 0.2), 0.6, "fails"),
        (0.96, (np.nan, np.nan), 0.005, "holds"),  # no bootstrap: the estimate
        (0.94, (np.nan, np.nan), 1.0, "fails"),
        (0.96, (0.955, 0.97), None, "holds"),  # no permutation test run
    ],
)
def test_direction_status(score, interval, p, status):
    rule = {"tolerance": 0.95, "significance_level": 0.05}
    assert direction_status(score, interval, p, **rule) == status


@pytest.mark.parametrize(
    "ab, ba, verdict, direction",
    [
        ("holds", "holds", "equivalent", None),
        ("holds", "fails", "one-way", "A->B"),
        ("fails", "holds", "one-way", "B->A"),
        ("fails", "fails", "not equivalent", None),
        ("holds", "undecided", "inconclusive", None),
        ("undecided", "fails", "inconclusive", None),
    ],
)
def test_verdict_logic(ab, ba, verdict, direction):
    assert decide_verdict(ab, ba) == (verdict, direction)


def test_straddling_interval_is_inconclusive(x):
    # B = A + noise at R² ≈ 0.95: the interval straddles the tolerance
    rng = np.random.default_rng(3)
    b = x + 0.13 * rng.normal(size=x.shape)
    report = _report(x, b, tolerance=0.95, n_bootstrap=300)
    low, high = report.interval_ab
    assert low < 0.95 < high, report
    assert report.verdict == "inconclusive"
    assert "inconclusive" in str(report)


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
    assert (report.status_ab, report.status_ba) == ("holds", "fails")


def test_neither_pair_is_not_equivalent(x):
    report = _report(x**2, (x - 0.3) ** 2)
    assert report.verdict == "not equivalent"
    assert report.direction is None


def test_independent_targets_do_not_reject_the_null(x):
    noise = np.random.default_rng(5).uniform(size=(300, 1))
    report = _report(x, noise)
    assert report.p_value > 0.05
    assert report.verdict == "not equivalent"


def test_null_conditions_on_the_selection(x):
    # the null keeps the selected neurons: the p-value is still small here
    from sklearn.feature_selection import SelectFromModel

    a = np.hstack([x, np.random.default_rng(1).normal(size=(300, 2))])
    sel = SelectFromModel(Ridge(), max_features=1, threshold=-np.inf)
    report = _report(a, x**3, selector=sel, n_permutations=20)
    assert report.support_ab.tolist() == [0]
    assert report.p_value_ab == pytest.approx(1 / 21)


def test_stacked_null_equals_one_refit_per_permutation(x):
    # reference: each permutation refitted on its own with the selected ridge
    # strength fixed, as scikit-learn would, then scored on the held-out pairs
    a = np.hstack([x, x**2])
    b = np.hstack([np.sin(2 * x), x**3])
    report = equivalence_report(
        a, b, candidates="ridge", n_permutations=7, n_bootstrap=0, random_state=0
    )
    t = report.transform_ab
    train, test = report.train_index, report.test_index
    alpha = t.regressor_[-1].alpha_
    perms = [np.random.default_rng(i).permutation(len(train)) for i in range(7)]
    expected = []
    for p in perms:
        ref = make_pipeline(StandardScaler(), Ridge(alpha=alpha))
        ref.fit(a[train], b[train][p])
        pred = ref.predict(a[test])
        r2 = [
            1
            - np.sum((b[test][:, j] - pred[:, j]) ** 2)
            / np.sum((b[test][:, j] - b[test][:, j].mean()) ** 2)
            for j in range(2)
        ]
        expected.append(np.mean(r2))
    got = t.permutation_scores(a[test], b[test], permutations=perms)
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="permutations of range"):
        t.permutation_scores(a[test], b[test], permutations=[np.zeros(len(train))])


def test_report_states_the_p_value_floor_and_the_chosen_transforms(x):
    report = _report(x, np.sin(2 * x), n_permutations=19, n_bootstrap=0)
    text = str(report)
    assert "p-value floor 1/20 = 0.05" in text
    assert report.p_value_floor == pytest.approx(0.05)
    assert report.selected_ab in report.candidate_scores_ab
    assert f"A→B {report.selected_ab}" in text


def test_probabilities_are_compared_as_log_ratios():
    # B's probabilities are a softmax of a function of A's logits
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(400, 3))
    logits_b = np.tanh(2 * logits) * 2 + logits  # probabilities above 1e-6
    probs_b = np.exp(logits_b) / np.exp(logits_b).sum(axis=1, keepdims=True)
    report = equivalence_report(
        logits, probs_b, n_permutations=0, n_bootstrap=0, random_state=0
    )
    from skequiv.equivalence import centered_log_ratio

    clr = logits_b - logits_b.mean(axis=1, keepdims=True)
    # the reference: the log-ratios of the softmax are the centred logits
    np.testing.assert_allclose(centered_log_ratio(probs_b), clr, atol=1e-5)
    np.testing.assert_allclose(report.test_b, clr[report.test_index], atol=1e-5)
    assert report.score_ab > 0.95


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
        x,
        x**3 + x,
        candidates="intrinsic",
        n_permutations=19,  # p-value floor 0.05: the test can reject at 0.05
        n_bootstrap=50,
        random_state=0,
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
        x,
        x**3 + x,
        candidates="intrinsic",
        n_permutations=5,
        n_bootstrap=20,
        color=x[:, 0],
        random_state=0,
    )
    from skequiv.equivalence._plotting import KINDS

    for kind in KINDS:
        fig = report.plot(kind, color_label="input x")
        fig.savefig(tmp_path / f"{kind}.png")
        plt.close(fig)
    assert len(list(tmp_path.glob("*.png"))) == len(KINDS) == 8
    # the summary has no empty panel: every axes drew something
    fig = report.plot("summary", color_label="input x")
    panels = [ax for ax in fig.get_axes() if ax.get_label() != "<colorbar>"]
    assert all(ax.has_data() for ax in panels)
    assert any(ax.get_ylabel() == "input x" for ax in fig.get_axes())
    plt.close(fig)
    with pytest.raises(
        ValueError, match="'kind' parameter of plot_report must be a str among"
    ):
        report.plot("nope")


def test_a_dataframe_is_data_and_a_bare_module_gets_a_clear_error(x):
    pd = pytest.importorskip("pandas")
    a, b = np.hstack([x, x**3]), np.sin(2 * x)
    report = _report(pd.DataFrame(a), pd.DataFrame(b), n_permutations=0)
    reference = _report(a, b, n_permutations=0)
    assert report.score_ab == pytest.approx(reference.score_ab)
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"bare torch module.*NetworkActivations"):
        equivalence_report(torch.nn.Linear(1, 1), torch.nn.Linear(1, 1), x)


def test_report_record_has_the_verdict_fields(x):
    import json

    from skequiv._compare_results import report_record

    report = _report(x, x**2, n_permutations=19, n_bootstrap=50)
    record = json.loads(json.dumps(report_record(report)))
    assert record["verdict"] == report.verdict == "one-way"
    assert (record["status_ab"], record["status_ba"]) == ("holds", "fails")
    assert record["selected_ab"] == report.transform_ab.selected_transform_
    assert record["candidate_scores_ba"] == pytest.approx(
        report.transform_ba.candidate_scores_
    )
    assert record["p_value_floor"] == pytest.approx(1 / 20)


def test_verbose_says_what_is_fitted_on_stderr(x, capsys):
    _report(x, x**3, n_permutations=5, n_bootstrap=0, verbose=True)
    err = capsys.readouterr().err
    assert "fitting A→B and B→A" in err and "permutation null: 5 shuffles" in err
    _report(x, x**3, n_permutations=5, n_bootstrap=0)
    assert capsys.readouterr().err == ""
