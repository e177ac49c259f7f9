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
    with pytest.warns(UserWarning, match="cannot support the kernel scale") as record:
        dmap = MahalanobisDiffusionMap(
            n_components=1, n_neighbors=10, random_state=0
        ).fit(X)
    assert {w.filename for w in record} == {__file__}  # the caller's line
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
    with pytest.warns(UserWarning, match=r"n_neighbors=10\) is too small") as record:
        dmap = MahalanobisDiffusionMap(n_components=1, n_neighbors=10, random_state=0)
        dmap.fit(X, jacobians=line_jacobians(X))
    assert {w.filename for w in record} == {__file__}  # the caller's line
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


def ten_clusters(n_per=90, seed=0):
    """Ten tight clusters in R^10 (classifier outputs' shape), about 4 apart."""
    rng = np.random.default_rng(seed)
    centres = np.eye(10) * 3.0 + rng.normal(scale=0.5, size=(10, 10))
    labels = np.repeat(np.arange(10), n_per)
    spread = rng.normal(scale=0.15, size=(labels.size, 10))
    return centres[labels] + spread * rng.gamma(1.0, 1.0, size=(labels.size, 1))


def naive_diffusion_eigenvalues(X, epsilon):
    """Leading eigenvalues of the alpha=1 diffusion operator, all pairs, dense."""
    D2 = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    W = np.exp(-D2 / epsilon)
    q = W.sum(1)
    K = W / np.outer(q, q)
    d = K.sum(1)
    return np.sort(np.linalg.eigvalsh(K / np.sqrt(np.outer(d, d))))[::-1]


def test_clusters_get_the_dense_kernel_their_scale_needs():
    # the scale of clustered data is the distance between clusters, which the
    # 64 nearest neighbours (all inside a cluster) do not reach: the graph's
    # operator nearly splits (eigenvalues 1.000) where the kernel's does not
    X = ten_clusters()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dmap = MahalanobisDiffusionMap(n_components=4, random_state=0).fit(X)
    assert dmap.n_neighbors_ is None
    reference = naive_diffusion_eigenvalues(X, dmap.epsilon_)[1:5]
    np.testing.assert_allclose(dmap.eigenvalues_, reference, rtol=1e-8)
    assert reference[0] < 0.9


def test_a_graph_too_small_for_clusters_warns_where_it_is_kept():
    X = ten_clusters()
    with pytest.warns(UserWarning, match=r"n_neighbors=64\) cannot support"):
        graph = MahalanobisDiffusionMap(n_components=4, n_neighbors=64, random_state=0)
        graph.fit(X)
    assert graph.eigenvalues_.min() > 0.99  # near-indicators of cluster groups


def test_auto_keeps_the_graph_and_warns_above_the_dense_limit(monkeypatch):
    from skequiv.embedding import _diffusion_map

    monkeypatch.setattr(_diffusion_map, "_AUTO_DENSE_MAX", 500)
    with pytest.warns(UserWarning, match=r"n_neighbors=64\) cannot support"):
        dmap = MahalanobisDiffusionMap(n_components=4, random_state=0)
        dmap.fit(ten_clusters())
    assert dmap.n_neighbors_ == 64


def test_clusters_with_metric_data_keep_their_own_scale_without_warning():
    # with metric data the scale comes from the graph's edges: here the scale
    # within the clusters, a peak of the all-pairs curve too (the other is the
    # distance between them), so the graph is not too small; the kernel then
    # splits between the clusters (9 components: two of them lie close), and
    # the leading coordinates are indicators, constant on each cluster
    X = ten_clusters()
    labels = np.repeat(np.arange(10), 90)
    jacobians = np.repeat(np.eye(10)[None], X.shape[0], axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dmap = MahalanobisDiffusionMap(n_components=4, random_state=0)
        dmap.fit(X, jacobians=jacobians)
    assert dmap.n_connected_components_ > dmap.n_components_
    for cluster in range(10):
        codes = dmap.embedding_[labels == cluster]
        assert np.ptp(codes, axis=0).max() < 1e-6 * np.ptp(dmap.embedding_)
