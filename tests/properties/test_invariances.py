"""Invariances every public estimator and function promises, by hypothesis.

Orthogonal and invertible maps of the observations (with their Jacobians),
permutations of samples and of units, scaling and translation, and
self-comparison. Each property compares a result with the result on the
mapped data (or with an independent formula), never with a stored number.
Examples are derandomized (the same in every run and on every machine) and
few, so that the module stays within its share of the suite's two minutes.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import skequiv

from ._subjects import curve, small_net

# NetworkTransform's invariances are checked on plain arrays: its intrinsic
# candidate runs Euclidean and says so (tests/equivalence asserts the warning)
pytestmark = pytest.mark.filterwarnings(
    "ignore::skequiv.equivalence.EuclideanMetricWarning"
)

PROPERTY = settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    # no shrinking: each example costs a fit, and a failure's seed says enough
    phases=[Phase.explicit, Phase.generate],
)
seeds = st.integers(0, 2**31 - 1)
scales = st.sampled_from([1e-6, 1e-3, 0.5, 7.0, 1e4, 1e8])


def orthogonal(seed, m=3):
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(m, m)))
    return q * np.sign(np.diag(r))


def invertible(seed, m=3, condition=20.0):
    """A random matrix with singular values from 1 to ``condition``."""
    s = np.geomspace(1.0, condition, m)
    return orthogonal(seed, m) @ np.diag(s) @ orthogonal(seed + 1, m)


def permutation(seed, n):
    return np.random.default_rng(seed).permutation(n)


def assert_same_up_to_sign(a, b, atol=1e-6):
    """Columns of ``a`` and ``b`` equal up to one sign per column."""
    signs = np.sign(np.sum(a * b, axis=0))
    np.testing.assert_allclose(a, b * signs, atol=atol * np.abs(a).max())


def abs_corr(a, b):
    return abs(np.corrcoef(a, b)[0, 1])


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


# -- MahalanobisDiffusionMap ------------------------------------------------


def _embed(X, J=None, **params):
    dmap = skequiv.MahalanobisDiffusionMap(n_components=2, random_state=0, **params)
    return _quiet(dmap.fit_transform, X, jacobians=J)


CURVE = curve(120)


@PROPERTY
@given(seed=seeds, scale=scales)
def test_diffusion_map_under_orthogonal_maps_scaling_and_translation(seed, scale):
    # d²(i, j) = ½ Δyᵀ (C_i⁺ + C_j⁺) Δy does not change when y -> c Q y + b
    # and J -> c Q J: (c² Q C Qᵀ)⁺ = Q C⁺ Qᵀ / c²
    X, J = CURVE["X"], CURVE["J"]
    Q, b = orthogonal(seed), np.random.default_rng(seed).normal(size=3)
    reference = _embed(X, J)
    assert_same_up_to_sign(reference, _embed(scale * (X @ Q.T + b), scale * Q @ J))


@PROPERTY
@given(seed=seeds)
def test_diffusion_map_is_equivariant_under_sample_permutations(seed):
    X, J = CURVE["X"], CURVE["J"]
    p = permutation(seed, len(X))
    assert_same_up_to_sign(_embed(X, J)[p], _embed(X[p], J[p]))


def _plane(n=150, seed=0):
    """A 1 × 0.4 patch observed nonlinearly in R² (square, invertible Jacobians).

    The sides differ so that the first two eigenvalues (cos πx, cos 2πx) are
    well apart: a degenerate pair could rotate under any perturbation.
    """
    u = np.random.default_rng(seed).uniform(0, 1, size=(n, 2)) * [1.0, 0.4]
    X = np.c_[u[:, 0] + 0.3 * u[:, 1] ** 2, u[:, 1] + 0.2 * np.sin(2 * u[:, 0])]
    J = np.zeros((n, 2, 2))
    J[:, 0, 0], J[:, 0, 1] = 1.0, 0.6 * u[:, 1]
    J[:, 1, 0], J[:, 1, 1] = 0.4 * np.cos(2 * u[:, 0]), 1.0
    return X, J


PLANE = _plane()


@PROPERTY
@given(seed=seeds)
def test_diffusion_map_is_invariant_under_invertible_maps_with_full_rank_jacobians(
    seed,
):
    # with square invertible J, (A C Aᵀ)⁻¹ = A⁻ᵀ C⁻¹ A⁻¹: distances are exact
    # without regularisation; the default (C + λI)⁻¹ moves them slightly
    X, J = PLANE
    A = invertible(seed, 2)
    exact = {"regularization": 0.0}
    assert_same_up_to_sign(
        _embed(X, J, **exact), _embed(X @ A.T, A @ J, **exact), atol=1e-5
    )
    a, b = _embed(X, J), _embed(X @ A.T, A @ J)
    for k in range(2):
        assert abs_corr(a[:, k], b[:, k]) > 0.9


@PROPERTY
@given(seed=seeds)
def test_diffusion_map_recovers_the_curve_under_invertible_maps_at_n_300(seed):
    # A curve in R³ has rank-1 Jacobians: the pseudo-inverse metric is only
    # locally invariant under y -> A y, so the defaults must keep the kernel
    # local. psi_1 of [0, 1] is cos(pi t) (Neumann eigenfunction).
    data = curve(300, seed=1)
    A = invertible(seed)
    psi = _embed(data["X"] @ A.T, A @ data["J"])[:, 0]
    assert abs_corr(psi, np.cos(np.pi * data["t"])) > 0.95


@PROPERTY
@given(seed=seeds, scale=scales)
def test_euclidean_diffusion_map_under_rigid_motions_and_scaling(seed, scale):
    X = CURVE["X"]
    Q, b = orthogonal(seed), np.random.default_rng(seed).normal(size=3)
    assert_same_up_to_sign(_embed(X), _embed(scale * (X @ Q.T + b)))


# -- metric sources and network activations ---------------------------------


@PROPERTY
@given(seed=seeds)
def test_metric_sources_and_activations_are_equivariant_under_sample_permutations(
    seed,
):
    X = CURVE["X"]
    p = permutation(seed, len(X))
    source = skequiv.FunctionMetric(np.sin, lambda Z: np.cos(Z)[:, :, None] * np.eye(3))
    data, permuted = source.fit(X).metric_data(X), source.fit(X).metric_data(X[p])
    np.testing.assert_array_equal(data.observations[p], permuted.observations)
    np.testing.assert_array_equal(data.jacobians[p], permuted.jacobians)
    acts = skequiv.NetworkActivations(small_net(), batch_size=7).fit(X)
    whole = skequiv.NetworkActivations(small_net(), batch_size=len(X)).fit(X)
    # float32 network: batches of other sizes round differently
    f32 = {"rtol": 1e-5, "atol": 1e-6}
    np.testing.assert_allclose(acts.transform(X)[p], whole.transform(X[p]), **f32)
    np.testing.assert_allclose(acts.jacobian(X)[p], whole.jacobian(X[p]), **f32)


# -- GeometricHarmonicsRegressor ----------------------------------------------


def _gh(X, Y, X_new):
    return skequiv.GeometricHarmonicsRegressor().fit(X, Y).predict(X_new)


@PROPERTY
@given(seed=seeds, scale=scales)
def test_geometric_harmonics_under_rigid_motions_scaling_and_permutations(seed, scale):
    X, Y = CURVE["X"], CURVE["Y"]
    X_new = curve(30, seed=5)["X"]
    Q, b = orthogonal(seed), np.random.default_rng(seed).normal(size=3)
    p = permutation(seed, len(X))
    reference = _gh(X, Y, X_new)
    tol = {"rtol": 1e-5, "atol": 1e-5}  # the automatic kernel scale rounds
    moved = _gh(scale * (X @ Q.T + b), Y, scale * (X_new @ Q.T + b))
    np.testing.assert_allclose(moved, reference, **tol)
    np.testing.assert_allclose(_gh(X[p], Y[p], X_new), reference, **tol)
    # linear in the targets: y -> c y + d gives c f + d
    np.testing.assert_allclose(
        _gh(X, scale * Y + b[0], X_new), scale * reference + b[0], **tol
    )


# -- WhitneyFeatureSelector and the dimension estimate ------------------------


@PROPERTY
@given(seed=seeds, scale=scales)
def test_dimension_estimate_under_similarities_and_permutations(seed, scale):
    X = CURVE["X"]
    Q, b = orthogonal(seed), np.random.default_rng(seed).normal(size=3)
    p = permutation(seed, len(X))
    reference = skequiv.estimate_intrinsic_dimension(X)
    moved = skequiv.estimate_intrinsic_dimension(scale * X[p] @ Q.T + scale * b)
    np.testing.assert_allclose(moved, reference, rtol=1e-9)
    assert abs(reference - 1.0) < 0.25  # a curve


@PROPERTY
@given(seed=seeds)
def test_whitney_selection_follows_its_neurons(seed):
    # per-neuron permutation, positive scaling and translation: the selector
    # standardises every neuron, so the same neurons are chosen
    Z, t = CURVE["Z"], CURVE["t"]
    rng = np.random.default_rng(seed)
    p = permutation(seed, Z.shape[1])
    gain, offset = rng.uniform(0.1, 10, Z.shape[1]), rng.normal(size=Z.shape[1])
    fit = skequiv.WhitneyFeatureSelector(3, cv=3, random_state=0).fit
    reference = fit(Z, t).support_
    moved = fit((Z * gain + offset)[:, p], t).support_
    np.testing.assert_array_equal(moved, reference[p])


# -- NetworkTransform and equivalence_report ----------------------------------


def test_network_transform_of_a_network_to_itself_scores_best():
    X, test = CURVE["X"], curve(40, seed=9)
    fit = skequiv.NetworkTransform(random_state=0).fit
    self_score = _quiet(fit(X, X).score, test["X"], test["X"])
    assert self_score > 0.95  # A predicts A
    noise = np.random.default_rng(0).normal(size=(len(X), 2))
    assert _quiet(fit(X, noise).score, test["X"], test["Y"][:, :2]) < self_score


@settings(PROPERTY, max_examples=2)
@given(seed=seeds)
def test_network_transform_under_rigid_motions_of_its_input(seed):
    # the default embedding without metric data is Euclidean: rotation-invariant
    data, test = curve(60), curve(20, seed=9)
    Q = orthogonal(seed)
    fit = skequiv.NetworkTransform(random_state=0).fit
    reference = _quiet(fit(data["X"], data["Y"]).predict, test["X"])
    moved = _quiet(fit(data["X"] @ Q.T, data["Y"]).predict, test["X"] @ Q.T)
    np.testing.assert_allclose(moved, reference, rtol=1e-5, atol=1e-5)


def test_equivalence_report_of_a_network_with_itself_and_a_relabelled_copy():
    X = CURVE["X"]
    p = permutation(0, X.shape[1])
    report = _quiet(
        skequiv.equivalence_report,
        X,
        X[:, p] * 3.0 + 1.0,  # a relabelled, rescaled copy of the same units
        n_permutations=0,
        n_bootstrap=0,
        random_state=0,
    )
    assert report.equivalent
    assert min(report.score_ab, report.score_ba) > 0.95


# -- neuron correspondence ------------------------------------------------------


@PROPERTY
@given(seed=seeds)
def test_neuron_correlation_against_corrcoef_and_under_unit_maps(seed):
    X, Y = CURVE["X"], CURVE["Y"]
    rng = np.random.default_rng(seed)
    p, q = permutation(seed, len(X)), permutation(seed, Y.shape[1])
    gain, offset = rng.uniform(0.1, 10, 3) * rng.choice([-1, 1], 3), rng.normal(size=3)
    reference = np.corrcoef(X.T, Y.T)[:3, 3:]  # independent formula
    np.testing.assert_allclose(skequiv.neuron_correlation(X, Y), reference, atol=1e-12)
    moved = skequiv.neuron_correlation((X * gain + offset)[p], Y[p][:, q])
    np.testing.assert_allclose(
        moved, (reference * np.sign(gain)[:, None])[:, q], atol=1e-12
    )
    np.testing.assert_allclose(np.diag(skequiv.neuron_correlation(X)), 1.0)


@PROPERTY
@given(seed=seeds)
def test_mutual_information_under_monotone_unit_maps_and_permutations(seed):
    X, Y = CURVE["X"], CURVE["Y"]
    p, q = permutation(seed, len(X)), permutation(seed + 1, Y.shape[1])
    mi = skequiv.neuron_mutual_information
    reference = mi(X, Y, n_bins=5)
    # equal-mass bins depend only on the order of each unit's values
    moved = mi(np.exp(X)[p] * 4.0 - 2.0, Y[p][:, q], n_bins=5)
    np.testing.assert_allclose(moved, reference[:, q], atol=1e-12)
    self_mi = mi(X, n_bins=5)
    assert np.all(np.diag(self_mi) >= self_mi.max(axis=1) - 1e-12)


@PROPERTY
@given(seed=seeds)
def test_matching_is_equivariant_under_unit_permutations(seed):
    rng = np.random.default_rng(seed)
    S = rng.uniform(-1, 1, size=(5, 6))  # no ties
    p, q = permutation(seed, 5), permutation(seed + 1, 6)
    matching = skequiv.match_neurons(S)[0]
    moved = skequiv.match_neurons(S[p][:, q])[0]
    np.testing.assert_array_equal(q[moved], matching[p])
    X = CURVE["X"] + 0.01 * rng.normal(size=CURVE["X"].shape)
    itself = skequiv.NeuronMatching().fit(X, X[:, [2, 0, 1]])
    np.testing.assert_array_equal(itself.matching_, [1, 2, 0])


@PROPERTY
@given(seed=seeds)
def test_sparse_prediction_of_a_network_by_itself_and_under_permutations(seed):
    X, Y = CURVE["X"], CURVE["Y"]
    p = permutation(seed, len(X))

    def model(A, B):  # a tiny alpha converges slowly: its warning is noise here
        return _quiet(skequiv.SparseNeuronPrediction(alpha=1e-4).fit, A, B)

    assert model(X, X).score(X, X) > 0.99
    np.testing.assert_allclose(
        model(X[p], Y[p]).predict(X), model(X, Y).predict(X), rtol=1e-7, atol=1e-9
    )
    path = skequiv.sparse_prediction_path
    reference = path(X, Y, alphas=4, cv=2)
    moved = path(X * 5.0 - 3.0, Y * 0.1 + 2.0, alphas=4, cv=2)  # standardised
    np.testing.assert_allclose(moved.error, reference.error, rtol=1e-6, atol=1e-9)


@PROPERTY
@given(seed=seeds)
def test_coclustering_labels_follow_permuted_units(seed):
    X, Y = CURVE["X"], CURVE["Y"]
    q = permutation(seed, Y.shape[1])
    fit = skequiv.NeuronCoclustering(n_clusters=2, n_init=4, random_state=0).fit
    a, b = fit(X, Y), fit(X, Y[:, q])
    # the same partition of B's units, whatever the cluster numbers
    same = a.labels_b_[q][:, None] == a.labels_b_[q][None, :]
    np.testing.assert_array_equal(same, b.labels_b_[:, None] == b.labels_b_[None, :])
