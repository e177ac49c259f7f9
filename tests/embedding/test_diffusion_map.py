"""MahalanobisDiffusionMap against independent references.

References: the Neumann eigenfunctions of a rectangle (Singer & Coifman 2008),
a naive double-loop diffusion map written here from the formulas, the dense
mode for the sparse one, and a fit that includes held-out points for Nystrom.
"""

import pickle

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from skequiv import FunctionMetric, MahalanobisDiffusionMap

# unit tests on 60-240 samples of curves whose Jacobians have rank 1: the
# fit rightly says invariance under y -> A y needs 300 (asserted below, and
# tested at 300 in test_invariant_under_invertible_maps_of_observations_at_300)
pytestmark = pytest.mark.filterwarnings(
    "ignore:Only .* samples with rank-deficient metric data:UserWarning"
)


# --------------------------------------------------------------------- data
def singer_coifman(n, seed=0):
    """x uniform on [0,1]x[0,0.4], y = (x1 + x2^3, x2 - x1^3) and dy/dx."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 2)) * [1.0, 0.4]
    y = singer_coifman_map(x)
    return x, y, singer_coifman_jacobian(x)


def singer_coifman_map(x):
    return np.c_[x[:, 0] + x[:, 1] ** 3, x[:, 1] - x[:, 0] ** 3]


def singer_coifman_jacobian(x):
    # d(x1 + x2^3)/dx = (1, 3 x2^2);  d(x2 - x1^3)/dx = (-3 x1^2, 1)
    J = np.empty((x.shape[0], 2, 2))
    J[:, 0, 0] = 1.0
    J[:, 0, 1] = 3.0 * x[:, 1] ** 2
    J[:, 1, 0] = -3.0 * x[:, 0] ** 2
    J[:, 1, 1] = 1.0
    return J


# the textbook metric C_i^+ (the defaults regularise it: rank=1e-8 and
# regularization="auto")
PLAIN_PINV = {"rank": None, "regularization": 0.0, "normal_penalty": 0.0}


def abs_corr(a, b):
    return abs(np.corrcoef(a, b)[0, 1])


def random_metric_data(n=60, m=3, d=2, seed=0):
    rng = np.random.default_rng(seed)
    Y = rng.normal(size=(n, m))
    J = rng.normal(size=(n, m, d)) + 0.5 * np.eye(m, d)
    return Y, J


def naive_diffusion_map(Y, C_pinv, epsilon, alpha):
    """Textbook diffusion map with an explicit double loop over pairs.

    C_pinv: list of (m, m) precision matrices, or None for Euclidean.
    Returns Markov eigenvalues (descending, trivial included) and right
    eigenvectors normalised to unit stationary-weighted norm.
    """
    n = Y.shape[0]
    W = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            dy = Y[i] - Y[j]
            if C_pinv is None:
                d2 = dy @ dy
            else:
                d2 = 0.5 * dy @ (C_pinv[i] + C_pinv[j]) @ dy
            W[i, j] = np.exp(-d2 / epsilon)
    q = W.sum(axis=1)
    Wa = W / np.outer(q**alpha, q**alpha)
    P = Wa / Wa.sum(axis=1, keepdims=True)
    evals, evecs = np.linalg.eig(P)  # non-symmetric solver: an independent path
    order = np.argsort(-evals.real)
    evals, evecs = evals.real[order], evecs.real[:, order]
    pi = Wa.sum(axis=1) / Wa.sum()
    evecs /= np.sqrt(np.einsum("i,ik->k", pi, evecs**2))
    return evals, evecs


def align_signs(A, B):
    """Flip columns of B to match A."""
    return B * np.sign(np.sum(A * B, axis=0))


# ------------------------------------------------------- 1. Singer-Coifman
@pytest.mark.slow
def test_singer_coifman_rectangle_recovers_neumann_eigenfunctions():
    x, y, J = singer_coifman(3000)
    mahal = MahalanobisDiffusionMap(n_components=4, random_state=0)
    psi = mahal.fit_transform(y, jacobians=J)
    eucl = MahalanobisDiffusionMap(n_components=4, random_state=0)
    phi = eucl.fit_transform(y)

    cos_x1, cos_x2 = np.cos(np.pi * x[:, 0]), np.cos(2.5 * np.pi * x[:, 1])
    r1_mahal = abs_corr(psi[:, 0], cos_x1)
    r2_mahal = max(abs_corr(psi[:, k], cos_x2) for k in range(4))
    r1_eucl = abs_corr(phi[:, 0], cos_x1)
    r2_eucl = max(abs_corr(phi[:, k], cos_x2) for k in range(4))
    print(
        f"Mahalanobis: r(psi1, cos pi x1)={r1_mahal:.4f}, "
        f"max_k r(psi_k, cos 2.5 pi x2)={r2_mahal:.4f}\n"
        f"Euclidean:   r(psi1, cos pi x1)={r1_eucl:.4f}, "
        f"max_k r(psi_k, cos 2.5 pi x2)={r2_eucl:.4f}"
    )
    assert r1_mahal >= 0.99
    assert r2_mahal >= 0.98
    # the Euclidean map of y sees the distorted geometry and does clearly worse
    assert r1_eucl < r1_mahal - 0.03
    assert r2_eucl < 0.8


# ------------------------------------------- 2. dense vs naive double loop
@pytest.mark.parametrize("alpha", [1.0, 0.5, 0.0])
def test_dense_matches_naive_double_loop(alpha):
    Y, J = random_metric_data()
    C_pinv = [np.linalg.pinv(Ji @ Ji.T) for Ji in J]
    eps = 2.0
    ref_vals, ref_vecs = naive_diffusion_map(Y, C_pinv, eps, alpha)
    dmap = MahalanobisDiffusionMap(
        n_components=4, epsilon=eps, alpha=alpha, n_neighbors=None, **PLAIN_PINV
    )
    psi = dmap.fit_transform(Y, jacobians=J)
    np.testing.assert_allclose(dmap.eigenvalues_, ref_vals[1:5], rtol=0, atol=1e-8)
    np.testing.assert_allclose(psi, align_signs(psi, ref_vecs[:, 1:5]), atol=1e-6)
    # the same with covariances instead of Jacobians
    dmap_c = clone(dmap).fit(Y, covariances=np.einsum("nij,nkj->nik", J, J))
    np.testing.assert_allclose(dmap_c.eigenvalues_, ref_vals[1:5], atol=1e-8)


def test_dense_euclidean_matches_naive_double_loop():
    Y, _ = random_metric_data(seed=1)
    ref_vals, _ = naive_diffusion_map(Y, None, 1.5, 1.0)
    dmap = MahalanobisDiffusionMap(n_components=3, epsilon=1.5, n_neighbors=None)
    dmap.fit(Y)
    np.testing.assert_allclose(dmap.eigenvalues_, ref_vals[1:4], atol=1e-8)
    assert dmap.ranks_ is None


def test_rank_truncation_matches_naive_truncated_pseudo_inverse():
    rng = np.random.default_rng(3)
    Y = rng.normal(size=(50, 3))
    J = rng.normal(size=(50, 3, 3))
    C_pinv = []
    for Ji in J:
        U, s, _ = np.linalg.svd(Ji)
        C_pinv.append(U[:, :2] @ np.diag(1.0 / s[:2] ** 2) @ U[:, :2].T)
    ref_vals, _ = naive_diffusion_map(Y, C_pinv, 3.0, 1.0)
    dmap = MahalanobisDiffusionMap(
        n_components=3,
        epsilon=3.0,
        n_neighbors=None,
        rank=2,
        regularization=0,
        normal_penalty=0,
    ).fit(Y, jacobians=J)
    np.testing.assert_allclose(dmap.eigenvalues_, ref_vals[1:4], atol=1e-8)
    np.testing.assert_array_equal(dmap.ranks_, 2)


# ---------------------------------------------- 3. sparse ~ dense (generous k)
def test_sparse_with_all_neighbours_equals_dense():
    Y, J = random_metric_data(n=120)
    kw = dict(n_components=3, epsilon=2.0, random_state=0)
    dense = MahalanobisDiffusionMap(n_neighbors=None, **kw).fit(Y, jacobians=J)
    sparse = MahalanobisDiffusionMap(n_neighbors=500, **kw).fit(Y, jacobians=J)
    assert sparse.n_neighbors_ == 119
    np.testing.assert_allclose(sparse.eigenvalues_, dense.eigenvalues_, atol=1e-10)
    np.testing.assert_allclose(sparse.eigenvectors_, dense.eigenvectors_, atol=1e-8)


@pytest.mark.slow
def test_sparse_with_generous_k_matches_dense():
    _x, y, J = singer_coifman(1500, seed=1)
    kw = dict(n_components=4, epsilon=1.5e-3, random_state=0)
    dense = MahalanobisDiffusionMap(n_neighbors=None, **kw).fit(y, jacobians=J)
    sparse = MahalanobisDiffusionMap(n_neighbors=300, **kw).fit(y, jacobians=J)
    np.testing.assert_allclose(sparse.eigenvalues_, dense.eigenvalues_, rtol=1e-5)
    for k in range(4):
        assert abs_corr(sparse.eigenvectors_[:, k], dense.eigenvectors_[:, k]) > 0.9999


# ------------------------------------------------------------- 4. Nystrom
@pytest.mark.slow
@pytest.mark.parametrize("n_neighbors", [None, 32])
def test_nystrom_places_held_out_points_like_a_joint_fit(n_neighbors):
    _x, y, J = singer_coifman(2000, seed=2)
    held = np.arange(1800, 2000)
    train = np.arange(1800)
    kw = dict(n_components=2, n_neighbors=n_neighbors, random_state=0)
    joint = MahalanobisDiffusionMap(**kw).fit_transform(y, jacobians=J)[held]
    model = MahalanobisDiffusionMap(**kw).fit(y[train], jacobians=J[train])
    new = model.transform(y[held], jacobians=J[held])
    for k in range(2):
        assert abs_corr(new[:, k], joint[:, k]) >= 0.99
    # without the new points' metric: one-sided distance, with a warning
    with pytest.warns(UserWarning, match="one-sided") as record:
        one_sided = model.transform(y[held])
    assert {w.filename for w in record} == {__file__}  # the caller's line
    for k in range(2):
        assert abs_corr(one_sided[:, k], joint[:, k]) >= 0.98


def test_dense_transform_of_training_points_reproduces_eigenvectors():
    Y, J = random_metric_data(n=80)
    dmap = MahalanobisDiffusionMap(n_components=3, epsilon=2.0, n_neighbors=None)
    psi = dmap.fit_transform(Y, jacobians=J)
    # the Markov eigen-relation sum_j M_ij psi_j = lambda psi_i, exactly
    np.testing.assert_allclose(dmap.transform(Y, jacobians=J), psi, atol=1e-10)


def test_far_points_warn_and_get_nearest_training_coordinates():
    Y, J = random_metric_data(n=80)
    dmap = MahalanobisDiffusionMap(n_components=2, epsilon=2.0, n_neighbors=None)
    dmap.fit(Y, jacobians=J)
    with pytest.warns(UserWarning, match="beyond the kernel's reach") as record:
        out = dmap.transform(Y[:1] + 1e4, jacobians=J[:1])
    assert {w.filename for w in record} == {__file__}  # the caller's line
    assert np.all(np.isfinite(out))


# ------------------------------------------ 5. sklearn contract and routing
def test_clone_pickle_and_pandas_output():
    pd = pytest.importorskip("pandas")
    Y, J = random_metric_data(n=100)
    dmap = MahalanobisDiffusionMap(n_components=2, epsilon=2.0, random_state=0)
    assert clone(dmap).get_params() == dmap.get_params()
    psi = dmap.fit_transform(Y, jacobians=J)
    restored = pickle.loads(pickle.dumps(dmap))
    np.testing.assert_allclose(
        restored.transform(Y, jacobians=J), dmap.transform(Y, jacobians=J)
    )
    frame = clone(dmap).set_output(transform="pandas").fit_transform(Y, jacobians=J)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [
        "mahalanobisdiffusionmap0",
        "mahalanobisdiffusionmap1",
    ]
    np.testing.assert_allclose(frame.to_numpy(), psi)


def _manual_cv_scores(make_pipe, X, target, J, epsilons, cv):
    """Per-split scores of a hand-written cross-validation loop (the reference)."""
    scores = {}
    for eps in epsilons:
        for train, test in cv.split(X):
            pipe = make_pipe(eps)
            fit_kw = {} if J is None else {"dmap__jacobians": J[train]}
            pipe.fit(X[train], target[train], **fit_kw)
            Z = pipe.named_steps["dmap"].transform(
                X[test], **({} if J is None else {"jacobians": J[test]})
            )
            scores.setdefault(eps, []).append(
                pipe.named_steps["reg"].score(Z, target[test])
            )
    return scores


@pytest.mark.slow
def test_grid_search_over_epsilon_routes_jacobians_through_the_splits():
    x, y, J = singer_coifman(600, seed=4)
    target = np.cos(np.pi * x[:, 0])
    epsilons = [3e-3, 1e-2]
    cv = KFold(3, shuffle=True, random_state=0)

    def make_pipe(eps):
        return Pipeline(
            [
                ("dmap", MahalanobisDiffusionMap(epsilon=eps, random_state=0)),
                ("reg", Ridge(alpha=1e-3)),
            ]
        )

    reference = _manual_cv_scores(make_pipe, y, target, J, epsilons, cv)
    with sklearn.config_context(enable_metadata_routing=True):
        dmap = (
            MahalanobisDiffusionMap(random_state=0)
            .set_fit_request(jacobians=True)
            .set_transform_request(jacobians=True)
        )
        pipe = Pipeline([("dmap", dmap), ("reg", Ridge(alpha=1e-3))])
        search = GridSearchCV(pipe, {"dmap__epsilon": epsilons}, cv=cv)
        search.fit(y, target, jacobians=J)
    for i, eps in enumerate(epsilons):
        got = [search.cv_results_[f"split{s}_test_score"][i] for s in range(3)]
        np.testing.assert_allclose(got, reference[eps], rtol=1e-10)
    assert search.best_score_ > 0.9
    assert not sklearn.get_config()["enable_metadata_routing"]


@pytest.mark.slow
def test_grid_search_with_a_metric_source_equals_routed_jacobians():
    x, y, J = singer_coifman(600, seed=4)
    target = np.cos(np.pi * x[:, 0])
    epsilons = [3e-3, 1e-2]
    cv = KFold(3, shuffle=True, random_state=0)
    reference = _manual_cv_scores(
        lambda eps: Pipeline(
            [
                ("dmap", MahalanobisDiffusionMap(epsilon=eps, random_state=0)),
                ("reg", Ridge(alpha=1e-3)),
            ]
        ),
        y,
        target,
        J,
        epsilons,
        cv,
    )
    source = FunctionMetric(singer_coifman_map, singer_coifman_jacobian)
    pipe = Pipeline(
        [
            ("dmap", MahalanobisDiffusionMap(metric=source, random_state=0)),
            ("reg", Ridge(alpha=1e-3)),
        ]
    )
    # X holds the *inputs* now; the source computes observations and Jacobians
    search = GridSearchCV(pipe, {"dmap__epsilon": epsilons}, cv=cv).fit(x, target)
    for i, eps in enumerate(epsilons):
        got = [search.cv_results_[f"split{s}_test_score"][i] for s in range(3)]
        np.testing.assert_allclose(got, reference[eps], rtol=1e-8)
    assert search.best_estimator_.named_steps["dmap"].metric_ is not source


# --------------------------------------------------- epsilon, rank, harmonics
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_bgh_dimension_estimate(dim):
    rng = np.random.default_rng(dim)
    # flat torus T^dim in R^(2 dim): no boundary, so the slope is clean
    theta = rng.uniform(0, 2 * np.pi, size=(1500, dim))
    X = np.hstack([np.cos(theta), np.sin(theta)])
    dmap = MahalanobisDiffusionMap(2, n_neighbors=None, random_state=0).fit(X)
    assert abs(dmap.dimension_ - dim) < 0.35 * dim
    assert dmap.epsilon_ > 0
    assert MahalanobisDiffusionMap(epsilon=1.0).fit(X).dimension_ is None


def test_ranks_are_reported_and_a_varying_rank_warns():
    Y, J = random_metric_data(n=60, m=3, d=2)
    J[:10, :, 1] = 0.0  # rank 1 at ten samples (a dead unit)
    with pytest.warns(UserWarning, match="different ranks") as record:
        dmap = MahalanobisDiffusionMap(epsilon=2.0).fit(Y, jacobians=J)
    # the warning points at the caller's line, not inside skequiv or sklearn
    assert {w.filename for w in record} == {__file__}
    np.testing.assert_array_equal(dmap.ranks_, [1] * 10 + [2] * 50)
    # fixed rank: no warning
    fixed = MahalanobisDiffusionMap(epsilon=2.0, rank=1).fit(Y, jacobians=J)
    np.testing.assert_array_equal(fixed.ranks_, 1)


@pytest.mark.slow
def test_drop_harmonics_keeps_the_second_direction():
    rng = np.random.default_rng(5)
    x = rng.uniform(size=(1500, 2)) * [1.0, 0.25]  # long strip: x1 harmonics first
    plain = MahalanobisDiffusionMap(n_components=2, n_neighbors=64, random_state=0)
    psi = plain.fit_transform(x)
    assert abs_corr(psi[:, 1], np.cos(2 * np.pi * x[:, 0])) > 0.95  # a harmonic
    dmap = MahalanobisDiffusionMap(
        n_components=2, n_neighbors=64, drop_harmonics=True, random_state=0
    )
    phi = dmap.fit_transform(x)
    assert dmap.residuals_.shape == dmap.eigenvalues_.shape
    assert dmap.residuals_[0] == 1.0
    assert dmap.residuals_[1] < 0.1  # cos 2 pi x1 is a function of cos pi x1
    assert abs_corr(phi[:, 0], np.cos(np.pi * x[:, 0])) > 0.99
    assert abs_corr(phi[:, 1], np.cos(np.pi * x[:, 1] / 0.25)) > 0.95


def test_diffusion_time_scales_by_eigenvalue_powers_and_signs_are_fixed():
    Y, J = random_metric_data(n=80)
    base = MahalanobisDiffusionMap(n_components=3, epsilon=2.0, n_neighbors=None)
    psi = base.fit_transform(Y, jacobians=J)
    timed = clone(base).set_params(diffusion_time=2.5)
    np.testing.assert_allclose(
        timed.fit_transform(Y, jacobians=J), psi * base.eigenvalues_**2.5
    )
    biggest = psi[np.argmax(np.abs(psi), axis=0), np.arange(3)]
    assert np.all(biggest > 0)
    # deterministic: reordering the samples permutes the output, signs and all
    perm = np.random.default_rng(0).permutation(80)
    np.testing.assert_allclose(
        clone(base).fit_transform(Y[perm], jacobians=J[perm]), psi[perm], atol=1e-10
    )


def test_iterative_eigensolver_is_seeded_and_matches_a_dense_reference():
    rng = np.random.default_rng(6)
    n = 700  # above the size solved by dense LAPACK: ARPACK is used
    Y = rng.normal(size=(n, 3))
    J = rng.normal(size=(n, 3, 2)) + np.eye(3, 2)
    C_pinv = np.stack([np.linalg.pinv(Ji @ Ji.T) for Ji in J])
    eps = 1.0
    W = np.empty((n, n))
    for i in range(n):  # reference kernel, one row at a time from the formula
        dY = Y[i] - Y
        own = np.einsum("jk,kl,jl->j", dY, C_pinv[i], dY)
        other = np.einsum("jk,jkl,jl->j", dY, C_pinv, dY)
        W[i] = np.exp(-0.5 * (own + other) / eps)
    q = W.sum(axis=1)
    Wa = W / np.outer(q, q)
    deg = Wa.sum(axis=1)
    ref = np.linalg.eigvalsh(Wa / np.sqrt(np.outer(deg, deg)))[::-1]
    kw = dict(n_components=3, epsilon=eps, n_neighbors=None, **PLAIN_PINV)
    a = MahalanobisDiffusionMap(random_state=0, **kw).fit(Y, jacobians=J)
    b = MahalanobisDiffusionMap(random_state=0, **kw).fit(Y, jacobians=J)
    np.testing.assert_allclose(a.eigenvalues_, ref[1:4], atol=1e-8)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)


def test_dense_kernel_with_negligible_weights_matches_lapack_on_all_pairs():
    # a small epsilon leaves most weights below 1e-16, so "auto" solves the
    # dense kernel through its sparse pattern; the answer must be the exact
    # all-pairs one (here computed by LAPACK on the full matrix)
    _, y, J = singer_coifman(1200, seed=5)
    kw = dict(n_components=4, epsilon=3e-4, n_neighbors=None, random_state=0)
    fast = MahalanobisDiffusionMap(**kw).fit(y, jacobians=J)
    exact = MahalanobisDiffusionMap(eigen_solver="dense", **kw).fit(y, jacobians=J)
    np.testing.assert_allclose(1 - fast.eigenvalues_, 1 - exact.eigenvalues_, rtol=1e-9)
    for k in range(4):
        assert abs_corr(fast.eigenvectors_[:, k], exact.eigenvectors_[:, k]) > 1 - 1e-9


# --------------------------------------------------------------- bad input
def test_nan_and_inf_are_rejected():
    Y, J = random_metric_data()
    Y[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MahalanobisDiffusionMap().fit(Y, jacobians=J)
    Y, J = random_metric_data()
    J[3, 1, 1] = np.inf
    with pytest.raises(ValueError, match=r"jacobians.*NaN or infinity"):
        MahalanobisDiffusionMap().fit(Y, jacobians=J)


@pytest.mark.parametrize(
    "bad",
    [
        {"jacobians": np.ones((59, 3, 2))},
        {"jacobians": np.ones((60, 2, 2))},
        {"covariances": np.ones((60, 3, 2))},
        {"jacobians": np.ones((60, 3, 2)), "covariances": np.ones((60, 3, 3))},
    ],
)
def test_metric_data_with_wrong_shape_or_count(bad):
    Y, _ = random_metric_data()
    with pytest.raises(ValueError, match=r"jacobians|covariances"):
        MahalanobisDiffusionMap().fit(Y, **bad)


def test_too_few_samples():
    Y, J = random_metric_data(n=4)
    with pytest.raises(ValueError, match=r"n_samples=4.*at least 5"):
        MahalanobisDiffusionMap(n_components=3).fit(Y, jacobians=J)


def test_disconnected_graph_is_solved_per_component_and_merged_by_eigenvalue():
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(40, 2)), rng.normal(size=(30, 2)) * 0.7
    Y = np.vstack([A, B + 100.0])  # cross weights exp(-5000) underflow to 0
    dmap = MahalanobisDiffusionMap(n_components=6, epsilon=2.0, n_neighbors=None)
    dmap.fit(Y)
    assert dmap.n_connected_components_ == 2
    # eigenvalue 1 once more: the coordinate that tells the clusters apart
    assert dmap.eigenvalues_[0] == pytest.approx(1.0, abs=1e-12)
    psi1 = dmap.eigenvectors_[:, 0]
    assert np.ptp(psi1[:40]) < 1e-10 and np.ptp(psi1[40:]) < 1e-10
    assert np.sign(psi1[0]) != np.sign(psi1[40])
    # the rest: the union of the clusters' own spectra (naive double loop)
    own = np.concatenate(
        [naive_diffusion_map(C, None, 2.0, 1.0)[0][1:] for C in (A, B)]
    )
    np.testing.assert_allclose(
        dmap.eigenvalues_[1:], np.sort(own)[::-1][:5], rtol=0, atol=1e-8
    )


def test_clustered_data_keeps_every_row_connected_at_the_automatic_epsilon():
    # ten tight clusters of softmax-like outputs, one far outlier per cluster
    rng = np.random.default_rng(1)
    centres = np.eye(10) * 8.0
    Y = np.repeat(centres, 40, axis=0) + 0.01 * rng.normal(size=(400, 10))
    Y[::40] += 0.5 * rng.normal(size=(10, 10))
    dmap = MahalanobisDiffusionMap(random_state=0).fit(Y)
    # every sample keeps min_neighbors neighbours of weight >= exp(-16)
    D2 = ((Y[:, None] - Y[None]) ** 2).sum(-1)
    kth = np.sort(D2, axis=1)[:, dmap.min_neighbors]
    assert np.all(np.exp(-kth / dmap.epsilon_) >= np.exp(-16.0) * (1 - 1e-12))
    # n_components="auto" keeps the cluster indicators: the clusters separate
    assert dmap.n_connected_components_ == 10
    inliers = np.arange(400) % 40 != 0
    codes = dmap.embedding_[inliers]
    labels = np.repeat(np.arange(10), 40)[inliers]
    centroid = np.stack([codes[labels == c].mean(axis=0) for c in range(10)])
    nearest = np.argmin(((codes[:, None] - centroid[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(nearest, labels)


def test_tiny_epsilon_says_rows_vanish():
    Y, J = random_metric_data()
    with pytest.raises(ValueError, match=r"so small.*larger float `epsilon`"):
        MahalanobisDiffusionMap(epsilon=1e-6).fit(Y, jacobians=J)


def test_metric_at_transform_but_not_at_fit_is_an_error():
    Y, J = random_metric_data()
    dmap = MahalanobisDiffusionMap(epsilon=2.0).fit(Y)
    with pytest.raises(ValueError, match="fitted without metric data"):
        dmap.transform(Y, jacobians=J)


def test_metric_source_and_routed_jacobians_together_are_an_error():
    x, _y, J = singer_coifman(50)
    source = FunctionMetric(singer_coifman_map, singer_coifman_jacobian)
    with pytest.raises(ValueError, match="both a `metric` source"):
        MahalanobisDiffusionMap(metric=source).fit(x, jacobians=J)


def test_invalid_parameters_are_rejected():
    Y, _ = random_metric_data()
    with pytest.raises(ValueError, match="epsilon"):
        MahalanobisDiffusionMap(epsilon="median").fit(Y)
    with pytest.raises(ValueError, match="rank"):
        MahalanobisDiffusionMap(rank=1.5).fit(Y)
    with pytest.raises(ValueError, match="n_eigenpairs"):
        MahalanobisDiffusionMap(n_components=3, n_eigenpairs=2).fit(Y)


# ------------------------------------------------ issue 16: state and scales
def test_set_params_diffusion_time_after_fit_agrees_with_transform():
    Y, J = random_metric_data(n=80)
    dmap = MahalanobisDiffusionMap(n_components=3, epsilon=2.0, n_neighbors=None)
    dmap.fit(Y, jacobians=J)
    dmap.set_params(diffusion_time=2)
    # lambda_k^t psi_k, from the stored eigenpairs
    expected = dmap.eigenvectors_[:, :3] * dmap.eigenvalues_[:3] ** 2
    np.testing.assert_allclose(dmap.embedding_, expected, rtol=1e-12)
    np.testing.assert_allclose(dmap.transform(Y, jacobians=J), expected, atol=1e-10)


def test_arpack_failure_falls_back_to_lapack(monkeypatch):
    from scipy.sparse.linalg import ArpackNoConvergence

    from skequiv.embedding import _eigensolvers

    def no_convergence(*args, **kwargs):
        raise ArpackNoConvergence("no convergence", np.zeros(0), np.zeros((0, 0)))

    _, y, J = singer_coifman(600, seed=3)
    kw = dict(n_components=3, epsilon=0.01, random_state=0)
    exact = MahalanobisDiffusionMap(eigen_solver="dense", **kw).fit(y, jacobians=J)
    monkeypatch.setattr(_eigensolvers, "eigsh", no_convergence)
    with pytest.warns(UserWarning, match="'arpack' failed.*falling back to 'dense'"):
        fallen = MahalanobisDiffusionMap(eigen_solver="arpack", **kw).fit(
            y, jacobians=J
        )
    np.testing.assert_allclose(fallen.eigenvalues_, exact.eigenvalues_, atol=1e-12)


@pytest.mark.parametrize("scale", [1e200, 1e-300])
def test_extreme_scales_get_a_clear_error(scale):
    Y, _ = random_metric_data()
    with pytest.raises(ValueError, match=r"`X`.*(overflow|underflow).*rescale"):
        MahalanobisDiffusionMap().fit(Y * scale)
    dmap = MahalanobisDiffusionMap(2, random_state=0).fit(Y)
    if scale > 1:
        with pytest.raises(ValueError, match=r"`X`.*overflow"):
            dmap.transform(Y * 1e300)


def _curve(n, seed=0):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 1, n))
    X = np.c_[t, t**2, np.sin(3 * t)]
    J = np.c_[np.ones(n), 2 * t, 3 * np.cos(3 * t)][:, :, None]
    return t, X, J


def test_invariant_under_invertible_maps_of_observations_at_300_samples():
    # issue 16 #11: a curve in R^3 (rank-1 Jacobians) observed as y -> A y,
    # J -> A J for random A; the defaults must keep psi_1 = cos(pi t)
    t, X, J = _curve(300)
    for seed in range(10):
        A = np.random.default_rng(100 + seed).normal(size=(3, 3))
        dmap = MahalanobisDiffusionMap(random_state=0)
        dmap.fit(X @ A.T, jacobians=np.einsum("ij,njk->nik", A, J))
        assert dmap.n_components_ == 1  # one intrinsic direction, found
        assert abs_corr(dmap.embedding_[:, 0], np.cos(np.pi * t)) > 0.99


def test_fewer_samples_than_the_invariance_needs_warn():
    _, X, J = _curve(150)
    with pytest.warns(UserWarning, match="below 300.*not reliably invariant"):
        MahalanobisDiffusionMap(2, random_state=0).fit(X, jacobians=J)
