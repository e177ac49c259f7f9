"""`skequiv compare` with many models: per-network work once, same reports."""

import numpy as np
import pytest

from skequiv import NetworkActivations, equivalence_report
from skequiv._compare_results import pairwise_equivalence


@pytest.fixture(scope="module")
def setting(nets):
    X = np.random.default_rng(0).uniform(-1, 1, size=(100, 1))
    functions = [np.sin, lambda x: np.sin(x) + 0.1, np.square]
    sources = [
        NetworkActivations(nets.fitted_net(f, X, seed=k, width=12)).fit(X)
        for k, f in enumerate(functions)
    ]
    return sources, X


def options(names):
    # the scores and verdicts are the point here; the nulls and intervals are
    # computed from them the same way on both paths
    return {"n_permutations": 0, "n_bootstrap": 0, "names": names, "random_state": 0}


@pytest.mark.slow
def test_cached_reports_match_the_per_pair_network_path(setting):
    sources, X = setting
    said = []
    matrix, reports = pairwise_equivalence(
        sources, X, ["a", "b", "c"], options, said.append
    )
    assert said[0] == "activations and Jacobians of the 3 models, once each"
    assert sorted(reports) == [(0, 1), (0, 2), (1, 2)]
    np.testing.assert_array_equal(np.diag(matrix), 1.0)
    for (i, j), report in reports.items():
        # the reference: the report computed from the two networks directly
        direct = equivalence_report(sources[i], sources[j], X, **options(("x", "y")))
        assert report.score_ab == pytest.approx(direct.score_ab, abs=1e-6)
        assert report.score_ba == pytest.approx(direct.score_ba, abs=1e-6)
        assert report.verdict == direct.verdict
        assert (matrix[i, j], matrix[j, i]) == (report.score_ab, report.score_ba)
