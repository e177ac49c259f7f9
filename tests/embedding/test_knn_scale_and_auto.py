"""The kernel scale on a kNN graph, and n_components="auto" (issue 16).

References are analytic: the first Neumann eigenfunction of an interval is
cos(pi t), and a rectangle has exactly two independent coordinates.
"""

import warnings

import numpy as np
import pytest

from skequiv import MahalanobisDiffusionMap


def line_in_r10(n=300, seed=0):
    """t uniform on [0, 1], embedded by a random orthonormal 10 x 1 map."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0.0, 1.0, n))
    Q, _ = np.linalg.qr(rng.standard_normal((10, 1)))
    return t, t[:, None] @ Q.T


def abs_corr(a, b):
    return abs(np.corrcoef(a, b)[0, 1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_line_in_r10_default_settings_recover_cos_pi_t(seed):
    t, X = line_in_r10(seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dmap = MahalanobisDiffusionMap(n_components=1, random_state=0).fit(X)
    assert abs_corr(dmap.eigenvectors_[:, 0], np.cos(np.pi * t)) >= 0.99


def test_line_in_r10_small_knn_graph_gets_the_dense_scale_and_warns():
    # 10 neighbours used to shrink epsilon 30x (|corr| 0.71, no warning); the
    # pairs beyond the kNN radius now count in the scale's sum, and the graph
    # that truncates that kernel is reported
    t, X = line_in_r10(seed=0)
    with pytest.warns(UserWarning, match=r"n_neighbors=10\).*Raise `n_neighbors`"):
        dmap = MahalanobisDiffusionMap(
            n_components=1, n_neighbors=10, random_state=0
        ).fit(X)
    assert abs_corr(dmap.eigenvectors_[:, 0], np.cos(np.pi * t)) >= 0.99


def test_line_in_r10_split_knn_graph_warns():
    # seed 2 has a gap that splits the 10-nearest-neighbour graph: the
    # embedding is wrong, and the warning says so
    t, X = line_in_r10(seed=2)
    with pytest.warns(UserWarning, match="cannot support the kernel scale"):
        dmap = MahalanobisDiffusionMap(
            n_components=1, n_neighbors=10, random_state=0
        ).fit(X)
    assert abs_corr(dmap.eigenvectors_[:, 0], np.cos(np.pi * t)) < 0.99


def line_jacobians(X):
    """dy/dt of the line: the orthonormal map itself, at every sample."""
    direction = X[-1] - X[0]
    q = direction / np.linalg.norm(direction)
    return np.repeat(q[None, :, None], X.shape[0], axis=0)


def test_line_with_jacobians_default_settings_recover_cos_pi_t():
    t, X = line_in_r10(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dmap = MahalanobisDiffusionMap(n_components=1, random_state=0)
        dmap.fit(X, jacobians=line_jacobians(X))
    assert abs_corr(dmap.eigenvectors_[:, 0], np.cos(np.pi * t)) >= 0.99


@pytest.mark.parametrize("seed", [0, 2])
def test_line_with_jacobians_small_knn_graph_warns(seed):
    # with metric data the scale stays on the graph's edges; 10 neighbours
    # cap it (|corr| 0.71 and 0.52 here), and the fit says so
    t, X = line_in_r10(seed=seed)
    with pytest.warns(UserWarning, match=r"n_neighbors=10\) is too small"):
        dmap = MahalanobisDiffusionMap(n_components=1, n_neighbors=10, random_state=0)
        dmap.fit(X, jacobians=line_jacobians(X))
    assert abs_corr(dmap.eigenvectors_[:, 0], np.cos(np.pi * t)) < 0.99


@pytest.mark.parametrize("seed", [0, 1])
def test_auto_picks_the_two_coordinates_of_a_rectangle(seed):
    # [0, 2] x [0, 1]: cos(pi x / 2) and cos(pi y) are the coordinates;
    # cos(pi x), a harmonic, scores about 0.2 by local linear regression
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(1000, 2)) * [2.0, 1.0]
    dmap = MahalanobisDiffusionMap(random_state=0).fit(X)
    assert dmap.n_components_ == 2
    codes = dmap.embedding_
    assert abs_corr(codes[:, 0], np.cos(np.pi * X[:, 0] / 2)) >= 0.99
    assert abs_corr(codes[:, 1], np.cos(np.pi * X[:, 1])) >= 0.98


def test_auto_picks_one_coordinate_on_a_closed_interval():
    t, X = line_in_r10(seed=1)
    dmap = MahalanobisDiffusionMap(random_state=0).fit(X)
    assert dmap.n_components_ == 1
    assert abs_corr(dmap.embedding_[:, 0], np.cos(np.pi * t)) >= 0.99
