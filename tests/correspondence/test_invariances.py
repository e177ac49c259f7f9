"""Invariances of the unit statistics and the matching (property tests)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from skequiv import NeuronMatching, neuron_correlation, neuron_mutual_information

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def _data(seed, n=300, p_a=5, p_b=4):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 3))
    A = latent @ rng.normal(size=(3, p_a)) + rng.normal(size=(n, p_a))
    B = np.maximum(latent @ rng.normal(size=(3, p_b)) + rng.normal(size=(n, p_b)), 0)
    return rng, A, B


@settings(max_examples=10, deadline=None)
@given(seed=seeds)
def test_statistics_are_invariant_to_increasing_affine_maps_and_sample_order(seed):
    rng, A, B = _data(seed)
    scale = rng.uniform(0.01, 100, size=A.shape[1])
    shift = rng.normal(scale=1e3, size=A.shape[1])
    order = rng.permutation(A.shape[0])
    corr = neuron_correlation(A, B)
    np.testing.assert_allclose(
        neuron_correlation(A * scale + shift, B), corr, atol=1e-10
    )
    np.testing.assert_allclose(neuron_correlation(A[order], B[order]), corr, atol=1e-12)
    mi = neuron_mutual_information(A, B)
    # equal-mass bins depend on ranks only: any increasing map of a unit keeps MI
    np.testing.assert_allclose(
        neuron_mutual_information(np.exp(A / A.std(0)), B), mi, atol=1e-12
    )
    np.testing.assert_allclose(
        neuron_mutual_information(A[order], B[order]), mi, atol=1e-12
    )


@settings(max_examples=10, deadline=None)
@given(seed=seeds, assignment=st.sampled_from(["bipartite", "semi"]))
def test_matching_follows_a_permutation_of_b_units(seed, assignment):
    rng, A, B = _data(seed, p_b=5)
    perm = rng.permutation(B.shape[1])
    base = NeuronMatching(assignment=assignment).fit(A, B)
    permuted = NeuronMatching(assignment=assignment).fit(A, B[:, perm])
    # unit j of B is unit argsort(perm)[j] of B[:, perm]
    np.testing.assert_array_equal(permuted.matching_, np.argsort(perm)[base.matching_])
    np.testing.assert_allclose(
        permuted.match_similarity_, base.match_similarity_, atol=1e-12
    )
    np.testing.assert_allclose(permuted.transform(A), base.transform(A)[:, perm])
