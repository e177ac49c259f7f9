"""GeometricHarmonicsRegressor against naive dense formulas and analytic targets."""

import numpy as np
import pytest
from sklearn.metrics import r2_score
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import InvalidParameterError

from skequiv import GeometricHarmonicsRegressor


def _gauss(A, B, eps):
    d2 = ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)
    return np.exp(-d2 / eps)


def _circle(n, rng):
    """Diffusion-map-like coordinates of a circle (eigenvector scale)."""
    t = rng.uniform(0, 2 * np.pi, n)
    return np.c_[np.cos(t), np.sin(t)] * np.sqrt(2 / n), t


def test_interpolates_like_a_directly_solved_kernel_system():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(40, 2))
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
    eps, alpha = 0.3, 1e-10
    reg = GeometricHarmonicsRegressor(
        epsilon=eps, alpha=alpha, cut_off=0.0, bandwidth="fixed"
    )
    reg.fit(X, y)
    assert reg.n_eigenpairs_ == 40
    # reference: solve (K + alpha I) c = y - mean(y) directly
    c = np.linalg.solve(_gauss(X, X, eps) + alpha * np.eye(40), y - y.mean())
    np.testing.assert_allclose(reg.predict(X), y, atol=1e-6)
    X_new = rng.uniform(-1, 1, size=(15, 2))
    np.testing.assert_allclose(
        reg.predict(X_new), y.mean() + _gauss(X_new, X, eps) @ c, rtol=1e-6, atol=1e-8
    )


def test_truncated_geometric_harmonics_match_the_nystrom_formula():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(80, 1))
    y = np.cos(3 * X[:, 0])
    eps, delta = 0.05, 1e-4
    reg = GeometricHarmonicsRegressor(
        epsilon=eps, alpha=0.0, cut_off=delta, bandwidth="fixed"
    ).fit(X, y)
    # reference: classical GH, eigenpairs with lambda >= delta * lambda_max,
    # psi_k(x*) = lambda_k^-1 sum_j K(x*, x_j) phi_k(x_j)
    lam, phi = np.linalg.eigh(_gauss(X, X, eps))
    keep = lam >= delta * lam.max()
    lam, phi = lam[keep], phi[:, keep]
    X_new = np.linspace(-0.95, 0.95, 30)[:, None]
    psi_new = _gauss(X_new, X, eps) @ phi / lam
    expected = y.mean() + psi_new @ (phi.T @ (y - y.mean()))
    assert reg.n_eigenpairs_ == keep.sum()
    np.testing.assert_allclose(reg.eigenvalues_, np.sort(lam)[::-1], rtol=1e-8)
    np.testing.assert_allclose(reg.predict(X_new), expected, rtol=1e-6, atol=1e-8)


def test_adaptive_kernel_matches_a_naive_gibbs_kernel_system():
    rng = np.random.default_rng(12)
    X = rng.uniform(-1, 1, size=(45, 2)) ** 3  # crowded near the origin
    y = np.cos(2 * X[:, 0]) + X[:, 1]
    eps, alpha = 0.2, 1e-9
    reg = GeometricHarmonicsRegressor(
        epsilon=eps, alpha=alpha, cut_off=0.0, bandwidth="adaptive"
    ).fit(X, y)
    assert reg.bandwidth_ == "adaptive"

    def rms_30(points):
        # RMS distance to the 30 nearest training points (self excluded)
        D = np.sqrt(((points[:, None] - X[None]) ** 2).sum(-1))
        D = np.sort(D, axis=1)
        D = D[:, 1:31] if points is X else D[:, :30]
        return np.sqrt((D**2).mean(axis=1))

    r = rms_30(X)
    rho = r / np.median(r)
    np.testing.assert_allclose(reg.bandwidths_, rho, rtol=1e-10)

    def gibbs(A, ra, B, rb):
        s2 = 0.5 * (ra[:, None] ** 2 + rb[None, :] ** 2)
        d2 = ((A[:, None] - B[None]) ** 2).sum(-1)
        return (np.outer(ra, rb) / s2) ** (2 / 2) * np.exp(-d2 / (eps * s2))

    c = np.linalg.solve(gibbs(X, rho, X, rho) + alpha * np.eye(45), y - y.mean())
    X_new = rng.uniform(-1, 1, size=(12, 2)) ** 3
    rho_new = rms_30(X_new) / np.median(r)
    expected = y.mean() + gibbs(X_new, rho_new, X, rho) @ c
    np.testing.assert_allclose(reg.predict(X_new), expected, rtol=1e-6, atol=1e-8)


def test_crowded_samples_of_saturated_neurons_are_resolved():
    # tanh neurons saturate: samples of x crowd at the ends of the curve, so
    # one kernel width cannot fit both ends; the automatic choice adapts it
    rng = np.random.default_rng(13)
    x = rng.uniform(-1, 1, 1500)
    Z = np.tanh(np.outer(x, [4.0, -3.0, 5.0]) + np.array([1.0, 0.5, -2.0]))
    reg = GeometricHarmonicsRegressor().fit(Z[:1000], x[:1000])
    assert reg.bandwidth_ == "adaptive"
    assert r2_score(x[1000:], reg.predict(Z[1000:])) >= 0.99


def test_auto_epsilon_is_ten_times_median_fifth_neighbour_distance():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 3))
    D2 = ((X[:, None] - X[None]) ** 2).sum(-1)
    fifth = np.sort(D2, axis=1)[:, 5]  # column 0 is the point itself
    reg = GeometricHarmonicsRegressor().fit(X, X[:, 0])
    assert reg.epsilon_ == pytest.approx(10 * np.median(fifth), rel=1e-10)


def test_smooth_function_of_one_variable_held_out():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(1300, 1))
    y = np.sin(4 * x[:, 0]) + 0.3 * x[:, 0] ** 2
    reg = GeometricHarmonicsRegressor().fit(x[:300], y[:300])
    assert r2_score(y[300:], reg.predict(x[300:])) >= 0.99


@pytest.mark.parametrize("n", [500, 1000])
def test_generalises_on_diffusion_map_like_coordinates(n):
    rng = np.random.default_rng(4)
    X, t = _circle(n + 500, rng)
    Y = np.c_[np.sin(3 * t), np.cos(t) + 0.5 * np.sin(5 * t), np.tanh(4 * np.cos(t))]
    reg = GeometricHarmonicsRegressor().fit(X[:n], Y[:n])
    assert r2_score(Y[n:], reg.predict(X[n:])) >= 0.95


def test_generalises_on_a_two_dimensional_sheet():
    rng = np.random.default_rng(5)
    u = rng.uniform(0, 1, size=(1500, 2))
    X = np.c_[
        np.cos(np.pi * u[:, 0]), np.cos(np.pi * u[:, 1]), np.cos(2 * np.pi * u[:, 0])
    ]
    y = np.sin(3 * u[:, 0]) * np.cos(2 * u[:, 1])
    reg = GeometricHarmonicsRegressor().fit(X[:1000], y[:1000])
    assert r2_score(y[1000:], reg.predict(X[1000:])) >= 0.95


# with bandwidth="auto" the kernel is chosen once for all outputs
@pytest.mark.parametrize("bandwidth", ["fixed", "adaptive"])
def test_multi_output_equals_per_output_fits(bandwidth):
    rng = np.random.default_rng(6)
    X = rng.uniform(-1, 1, size=(150, 2))
    Y = np.c_[np.sin(3 * X[:, 0]), X[:, 0] * X[:, 1], rng.normal(size=150)]
    X_new = rng.uniform(-1, 1, size=(20, 2))
    joint = GeometricHarmonicsRegressor(bandwidth=bandwidth).fit(X, Y)
    assert joint.predict(X_new).shape == (20, 3)
    for j in range(3):
        single = GeometricHarmonicsRegressor(bandwidth=bandwidth).fit(X, Y[:, j])
        assert single.predict(X_new).shape == (20,)
        assert joint.alpha_[j] == pytest.approx(single.alpha_)
        np.testing.assert_allclose(
            joint.predict(X_new)[:, j], single.predict(X_new), rtol=1e-8, atol=1e-10
        )


def test_pure_noise_reverts_to_the_mean():
    rng = np.random.default_rng(7)
    X = rng.uniform(-1, 1, size=(300, 1))
    y = rng.normal(size=300)
    reg = GeometricHarmonicsRegressor().fit(X, y)
    X_new = rng.uniform(-1, 1, size=(300, 1))
    # the leave-one-out ridge refuses to fit noise: no wild extrapolation
    assert np.std(reg.predict(X_new)) < 0.5


def test_column_target_keeps_two_dimensions():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(30, 2))
    reg = GeometricHarmonicsRegressor().fit(X, X[:, :1])
    assert reg.predict(X).shape == (30, 1)


@pytest.mark.parametrize("bandwidth", ["fixed", "adaptive"])
def test_complete_sparse_graph_equals_the_dense_kernel(bandwidth):
    rng = np.random.default_rng(9)
    X = rng.uniform(-1, 1, size=(40, 2))
    y = np.sin(2 * X[:, 0]) * X[:, 1]
    X_new = rng.uniform(-1, 1, size=(10, 2))
    kw = dict(n_eigenpairs=20, epsilon=0.5, alpha=1e-6, bandwidth=bandwidth)
    dense = GeometricHarmonicsRegressor(**kw).fit(X, y)
    sparse = GeometricHarmonicsRegressor(n_neighbors=39, **kw).fit(X, y)
    np.testing.assert_allclose(sparse.eigenvalues_, dense.eigenvalues_, rtol=1e-8)
    np.testing.assert_allclose(
        sparse.predict(X_new), dense.predict(X_new), rtol=1e-6, atol=1e-9
    )


def test_sparse_kernel_generalises_on_a_large_sample():
    rng = np.random.default_rng(10)
    x = rng.uniform(-1, 1, size=(3000, 1))
    y = np.sin(4 * x[:, 0])
    reg = GeometricHarmonicsRegressor(n_eigenpairs=100, n_neighbors=100)
    reg.fit(x[:2000], y[:2000])
    assert reg.eigenvectors_.shape == (2000, 100)
    assert r2_score(y[2000:], reg.predict(x[2000:])) >= 0.99


def test_predictions_are_invariant_under_rigid_motions():
    rng = np.random.default_rng(11)
    X = rng.uniform(-1, 1, size=(120, 3))
    y = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2]
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    shift = rng.normal(size=3)
    X_new = rng.uniform(-1, 1, size=(25, 3))
    ref = GeometricHarmonicsRegressor().fit(X, y).predict(X_new)
    moved = GeometricHarmonicsRegressor().fit(X @ Q + shift, y)
    np.testing.assert_allclose(moved.predict(X_new @ Q + shift), ref, atol=1e-6)


@pytest.mark.parametrize(
    "params",
    [{"epsilon": -1.0}, {"epsilon": "median"}, {"alpha": -1e-3}, {"n_eigenpairs": 0}],
)
def test_invalid_parameters_are_rejected(params):
    with pytest.raises(InvalidParameterError):
        GeometricHarmonicsRegressor(**params).fit(np.eye(5), np.arange(5.0))


def test_string_targets_are_refused_naming_y():
    # numeric strings convert, as in scikit-learn; others name `y` and the fix
    X = np.random.default_rng(0).uniform(size=(10, 2))
    y = np.arange(10.0)
    from_strings = GeometricHarmonicsRegressor(epsilon=0.5).fit(X, y.astype(str))
    reference = GeometricHarmonicsRegressor(epsilon=0.5).fit(X, y)
    np.testing.assert_allclose(from_strings.predict(X), reference.predict(X))
    y = y.astype(str)
    y[0] = "cat"
    with pytest.raises(ValueError, match=r"`y` must be numeric.*OneHotEncoder"):
        GeometricHarmonicsRegressor().fit(X, y)


@pytest.mark.parametrize("alpha", [1e-3, 1e-1, 1e-8])
def test_leave_one_out_error_equals_brute_force_refits(alpha):
    # the exact leave-one-out error includes the change of the subtracted mean
    # (issue: 2.4e18 reported against 0.025 by brute force at alpha 1e-3)
    rng = np.random.default_rng(13)
    X = rng.uniform(-1, 1, size=(50, 2))
    y = np.sin(3 * X[:, 0]) + 0.1 * rng.normal(size=50)
    kw = dict(epsilon=0.3, alpha=alpha, cut_off=0.0, bandwidth="fixed")
    reg = GeometricHarmonicsRegressor(**kw).fit(X, y)
    errors = []
    for i in range(50):
        rest = np.arange(50) != i
        fit = GeometricHarmonicsRegressor(**kw).fit(X[rest], y[rest])
        errors.append(fit.predict(X[i : i + 1])[0] - y[i])
    assert reg.loo_mse_ == pytest.approx(np.mean(np.square(errors)), rel=1e-6)


@pytest.mark.parametrize("bandwidth", ["fixed", "adaptive"])
@pytest.mark.parametrize("alpha", ["auto", 1e-4])
def test_stacked_permuted_targets_equal_one_fit_per_block(bandwidth, alpha):
    # a permutation test refits B's activations shuffled P times: one fit on
    # Y of shape (n, m * P) must equal the P fits on (n, m)
    rng = np.random.default_rng(14)
    X = rng.uniform(-1, 1, size=(120, 2))
    Y = np.c_[np.sin(3 * X[:, 0]), X[:, 0] * X[:, 1]]
    blocks = [Y[rng.permutation(120)] for _ in range(4)]
    kw = dict(epsilon=0.4, bandwidth=bandwidth, alpha=alpha)
    stacked = GeometricHarmonicsRegressor(**kw).fit(X, np.hstack(blocks))
    X_new = rng.uniform(-1, 1, size=(15, 2))
    predicted = stacked.predict(X_new)
    for p, block in enumerate(blocks):
        single = GeometricHarmonicsRegressor(**kw).fit(X, block)
        np.testing.assert_allclose(
            predicted[:, 2 * p : 2 * p + 2], single.predict(X_new), atol=1e-10
        )
        np.testing.assert_allclose(
            stacked.loo_mse_[2 * p : 2 * p + 2], single.loo_mse_, rtol=1e-10
        )


def test_many_eigenpairs_of_a_small_sparse_graph_use_lapack():
    # 200 of 460 eigenpairs: ARPACK dies with ArpackError 3 (issue 16, #6)
    rng = np.random.default_rng(15)
    logits = rng.normal(size=(460, 10)) + 4 * np.eye(10)[rng.integers(0, 10, 460)]
    P = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    reg = GeometricHarmonicsRegressor(n_neighbors=10, bandwidth="fixed")
    reg.fit(P, logits[:, 0])
    W = np.zeros((460, 460))  # reference: the same symmetrised kNN kernel
    dist, ind = NearestNeighbors(n_neighbors=10).fit(P).kneighbors()
    W[np.repeat(np.arange(460), 10), ind.ravel()] = np.exp(
        -(dist.ravel() ** 2) / reg.epsilon_
    )
    W = np.maximum(W, W.T) + np.eye(460)
    top = np.sort(np.linalg.eigvalsh(W))[::-1][:200]
    kept = top >= reg.cut_off * top[0]
    np.testing.assert_allclose(reg.eigenvalues_, top[kept], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("scale", [1e200, 1e-300])
def test_extreme_scales_get_a_clear_error(scale):
    rng = np.random.default_rng(16)
    X = rng.uniform(-1, 1, size=(40, 2))
    with pytest.raises(ValueError, match=r"`X`.*(overflow|underflow).*rescale"):
        GeometricHarmonicsRegressor().fit(X * scale, X[:, 0])
    reg = GeometricHarmonicsRegressor().fit(X, X[:, 0])
    if scale > 1:
        with pytest.raises(ValueError, match=r"`X`.*overflow"):
            reg.predict(X * 1e300)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"bandwidth": "fixed", "alpha": 1e-6},
        {"n_neighbors": 20, "n_eigenpairs": 30},
    ],
    ids=["auto", "fixed-alpha", "sparse"],
)
def test_fit_eigendecomposed_equals_fit_for_every_target(params):
    rng = np.random.default_rng(11)
    X = rng.uniform(-1, 1, size=(160, 2))
    X_new = rng.uniform(-1, 1, size=(30, 2))
    targets = [np.sin(3 * X[:, 0]), np.c_[X[:, 0] * X[:, 1], np.exp(X[:, 1])]]
    eigenpairs = GeometricHarmonicsRegressor(**params).eigendecompose(X)
    for y in targets:  # one decomposition serves several targets
        ref = GeometricHarmonicsRegressor(**params).fit(X, y)
        reg = GeometricHarmonicsRegressor(**params).fit_eigendecomposed(eigenpairs, y)
        assert reg.bandwidth_ == ref.bandwidth_
        np.testing.assert_array_equal(reg.alpha_, ref.alpha_)
        np.testing.assert_array_equal(reg.loo_mse_, ref.loo_mse_)
        np.testing.assert_array_equal(reg.predict(X_new), ref.predict(X_new))
        assert reg.n_features_in_ == 2


def test_fit_eigendecomposed_refuses_other_parameters_and_samples():
    X = np.random.default_rng(12).uniform(-1, 1, size=(50, 1))
    eigenpairs = GeometricHarmonicsRegressor().eigendecompose(X)
    with pytest.raises(ValueError, match="other parameters"):
        GeometricHarmonicsRegressor(bandwidth="fixed").fit_eigendecomposed(
            eigenpairs, X[:, 0]
        )
    with pytest.raises(ValueError, match="y has 49 samples"):
        GeometricHarmonicsRegressor().fit_eigendecomposed(eigenpairs, X[1:, 0])
    with pytest.raises(TypeError, match="what eigendecompose returned"):
        GeometricHarmonicsRegressor().fit_eigendecomposed(X, X[:, 0])
