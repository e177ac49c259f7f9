"""One-to-one matching against brute force, networkx, and exact copies."""

import itertools

import numpy as np
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from skequiv import NeuronMatching, match_neurons
from skequiv.correspondence import ConstantUnitWarning


def _brute_force_bipartite(S, exclude_diagonal=False):
    """The best one-to-one assignment of min(p_A, p_B) rows, by enumeration."""
    p_a, p_b = S.shape
    best, best_match = -np.inf, None
    if p_a <= p_b:
        for cols in itertools.permutations(range(p_b), p_a):
            if exclude_diagonal and any(i == j for i, j in enumerate(cols)):
                continue
            total = S[np.arange(p_a), cols].sum()
            if total > best:
                best, best_match = total, np.array(cols)
        return best_match, best
    for rows in itertools.permutations(range(p_a), p_b):
        total = S[list(rows), np.arange(p_b)].sum()
        if total > best:
            best = total
            best_match = np.full(p_a, -1)
            best_match[list(rows)] = np.arange(p_b)
    return best_match, best


def _permuted_copy(seed=0, n=400, p=6):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, p)) @ rng.normal(size=(p, p))  # correlated units
    perm = rng.permutation(p)
    scale = rng.uniform(0.1, 10, size=p)
    B = A[:, perm] * scale + rng.normal(scale=100, size=p)
    return A, B, np.argsort(perm)


@pytest.mark.parametrize("assignment", ["bipartite", "semi"])
def test_a_permuted_rescaled_shifted_copy_is_matched_exactly(assignment):
    A, B, truth = _permuted_copy()
    matcher = NeuronMatching(assignment=assignment).fit(A, B)
    np.testing.assert_array_equal(matcher.matching_, truth)
    np.testing.assert_allclose(matcher.match_similarity_, 1.0, atol=1e-12)
    assert matcher.score(A, B) == pytest.approx(1.0, abs=1e-12)
    # transform puts A's units in B's order: an affine copy of B column by column
    Z = matcher.transform(A)
    for j in range(B.shape[1]):
        assert np.corrcoef(Z[:, j], B[:, j])[0, 1] == pytest.approx(1, abs=1e-12)
    mi = NeuronMatching("mutual_information", assignment=assignment).fit(A, B)
    np.testing.assert_array_equal(mi.matching_, truth)
    np.testing.assert_allclose(mi.match_similarity_, np.log(10) + 9 / 800, atol=1e-12)


def test_semi_and_bipartite_differ_on_a_hand_built_case():
    # unit 0 of B is the best partner of both units of A; only one can have it
    S = np.array([[0.9, 0.8], [0.85, 0.1]])
    semi, semi_sim = match_neurons(S, assignment="semi")
    assert semi.tolist() == [0, 0]
    np.testing.assert_allclose(semi_sim, [0.9, 0.85])
    bip, bip_sim = match_neurons(S, assignment="bipartite")
    assert bip.tolist() == [1, 0]  # 0.8 + 0.85 = 1.65 > 0.9 + 0.1
    np.testing.assert_allclose(bip_sim, [0.8, 0.85])


@pytest.mark.parametrize("shape", [(6, 6), (4, 6), (6, 4)])
def test_bipartite_matching_equals_brute_force(shape):
    rng = np.random.default_rng(sum(shape))
    for _ in range(3):
        S = rng.uniform(-1, 1, size=shape)
        matching, matched = match_neurons(S)
        expected, best = _brute_force_bipartite(S)
        np.testing.assert_array_equal(matching, expected)
        assert np.nansum(matched) == pytest.approx(best)
        assert (np.isnan(matched) == (matching < 0)).all()
        assert (matching >= 0).sum() == min(shape)


def test_bipartite_matching_equals_the_authors_networkx_matching():
    nx = pytest.importorskip("networkx")
    rng = np.random.default_rng(3)
    S = rng.uniform(-1, 1, size=(7, 7))
    # match_unit._max_match_order: edge (i, j + n) weighted by C[i, j]
    graph = nx.Graph()
    for i, j in itertools.product(range(7), range(7)):
        graph.add_edge(i, j + 7, weight=S[i, j])
    pairs = nx.max_weight_matching(graph, maxcardinality=True)
    expected = np.empty(7, dtype=int)
    for u, v in pairs:
        i, j = (u, v) if u < v else (v, u)
        expected[i] = j - 7
    np.testing.assert_array_equal(match_neurons(S)[0], expected)


def test_within_network_baseline_excludes_the_diagonal():
    rng = np.random.default_rng(4)
    S = rng.uniform(-1, 1, size=(6, 6))
    S = (S + S.T) / 2
    np.fill_diagonal(S, 1.0)
    semi, _ = match_neurons(S, assignment="semi", exclude_diagonal=True)
    off = S - 3 * np.eye(6)
    np.testing.assert_array_equal(semi, off.argmax(axis=1))
    bip, matched = match_neurons(S, exclude_diagonal=True)
    expected, best = _brute_force_bipartite(S, exclude_diagonal=True)
    np.testing.assert_array_equal(bip, expected)
    assert matched.sum() == pytest.approx(best)
    assert (bip != np.arange(6)).all()
    lone, value = match_neurons([[1.0]], exclude_diagonal=True)
    assert lone.tolist() == [-1] and np.isnan(value).all()
    with pytest.raises(ValueError, match="square"):
        match_neurons(np.ones((2, 3)), exclude_diagonal=True)


@pytest.mark.parametrize("similarity", ["correlation", "mutual_information"])
def test_estimator_baseline_matches_the_within_network_matrices(similarity):
    rng = np.random.default_rng(5)
    A = np.maximum(rng.normal(size=(500, 5)) @ rng.normal(size=(5, 5)), 0)
    B = np.maximum(rng.normal(size=(500, 4)) @ rng.normal(size=(4, 4)), 0)
    matcher = NeuronMatching(similarity, baseline=True).fit(A, B)
    if similarity == "correlation":
        full = np.corrcoef(A, B, rowvar=False)
        np.testing.assert_allclose(matcher.similarity_a_, full[:5, :5], atol=1e-12)
        np.testing.assert_allclose(matcher.similarity_b_, full[5:, 5:], atol=1e-12)
        np.testing.assert_allclose(matcher.similarity_, full[:5, 5:], atol=1e-12)
    for side, within in (("a", matcher.similarity_a_), ("b", matcher.similarity_b_)):
        expected, best = _brute_force_bipartite(within, exclude_diagonal=True)
        np.testing.assert_array_equal(
            getattr(matcher, f"baseline_matching_{side}_"), expected
        )
        assert getattr(matcher, f"baseline_similarity_{side}_").sum() == (
            pytest.approx(best)
        )


def test_wider_a_leaves_units_unmatched_and_transform_fills_zeros():
    rng = np.random.default_rng(6)
    A = rng.normal(size=(300, 5))
    B = A[:, [3, 1]] + 0.1 * rng.normal(size=(300, 2))
    matcher = NeuronMatching().fit(A, B)
    assert matcher.matching_.tolist() == [-1, 1, -1, 0, -1]
    assert np.isnan(matcher.match_similarity_[[0, 2, 4]]).all()
    assert matcher.partner_.tolist() == [3, 1]
    np.testing.assert_array_equal(matcher.transform(A), A[:, [3, 1]])
    # B wider than A: B's extra units have no partner and read as zeros
    wide = NeuronMatching().fit(B, A)
    assert wide.matching_.tolist() == [3, 1]
    Z = wide.transform(B)
    np.testing.assert_array_equal(Z[:, [3, 1]], B)
    assert (Z[:, [0, 2, 4]] == 0).all()
    # semi-matching: B's unit gets the most similar of the A units matched to it
    semi = NeuronMatching(assignment="semi").fit(np.hstack([A[:, [3]], B]), B)
    assert semi.matching_.tolist() == [0, 0, 1]
    assert semi.partner_.tolist() == [1, 2]


def test_conv_channels_transform_in_the_input_layout():
    rng = np.random.default_rng(7)
    A = rng.normal(size=(12, 4, 3, 3))
    B = 2 * A[:, [2, 0, 3, 1]] + 1
    matcher = NeuronMatching().fit(A, B)
    assert matcher.matching_.tolist() == [1, 3, 0, 2]
    assert matcher.spatial_shape_ == (3, 3)
    np.testing.assert_array_equal(matcher.transform(A), A[:, [2, 0, 3, 1]])
    flat = NeuronMatching(spatial_shape=(3, 3)).fit(
        A.reshape(12, -1), B.reshape(12, -1)
    )
    np.testing.assert_array_equal(flat.matching_, matcher.matching_)
    np.testing.assert_array_equal(
        flat.transform(A.reshape(12, -1)), A[:, [2, 0, 3, 1]].reshape(12, -1)
    )
    with pytest.raises(ValueError, match="expecting 4 features"):
        matcher.transform(A[:, :3])
    with pytest.raises(ValueError, match="spatial shape"):
        matcher.transform(A[:, :, :2])


def test_score_is_held_out_and_works_with_cross_validation():
    rng = np.random.default_rng(8)
    latent = rng.normal(size=(600, 4))
    A = latent + 0.5 * rng.normal(size=(600, 4))
    B = latent[:, [1, 3, 0, 2]] + 0.5 * rng.normal(size=(600, 4))
    matcher = NeuronMatching().fit(A[:300], B[:300])
    held_out = matcher.score(A[300:], B[300:])
    pairs = np.corrcoef(A[300:], B[300:], rowvar=False)[:4, 4:]
    expected = pairs[np.arange(4), matcher.matching_].mean()
    assert held_out == pytest.approx(expected, abs=1e-12)
    scores = cross_val_score(NeuronMatching(), A, B, cv=3)
    assert scores.shape == (3,) and (scores > 0.7).all()
    # shuffling B's samples destroys the correspondence: the score drops
    assert matcher.score(A[300:], rng.permutation(B[300:])) < 0.2
    mi = NeuronMatching("mutual_information").fit(A[:300], B[:300])
    assert mi.score(A[300:], B[300:]) > mi.score(A[300:], rng.permutation(B[300:]))


def test_dead_units_warn_and_are_matched_last():
    rng = np.random.default_rng(9)
    A = rng.normal(size=(200, 3))
    A[:, 0] = 0.0
    B = A[:, [2, 1, 0]].copy()
    with (
        pytest.warns(ConstantUnitWarning, match=r"X \(network A\) has 1 constant"),
        pytest.warns(ConstantUnitWarning, match=r"y \(network B\) .*\[2\]"),
    ):
        matcher = NeuronMatching(baseline=True).fit(A, B)
    assert np.isfinite(matcher.similarity_).all()
    assert matcher.constant_a_.tolist() == [True, False, False]
    assert matcher.matching_[1:].tolist() == [1, 0]
    with pytest.warns(ConstantUnitWarning):
        score = matcher.score(A, B)
    assert score == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("params", "X", "y", "match"),
    [
        ({"similarity": "cosine"}, np.ones((5, 2)), np.ones((5, 2)), "similarity"),
        ({"assignment": "greedy"}, np.ones((5, 2)), np.ones((5, 2)), "assignment"),
        ({}, np.ones((5, 2)), np.ones((4, 2)), "same number of inputs"),
        ({}, np.ones((1, 2)), np.ones((1, 2)), "1 sample"),
        ({}, np.full((5, 2), np.nan), np.ones((5, 2)), "NaN"),
        ({}, np.ones((5, 2)), None, "requires y"),
    ],
)
def test_bad_input_gets_a_clear_error(params, X, y, match):
    with pytest.raises(ValueError, match=match):
        NeuronMatching(**params).fit(X, y)


def test_composes_with_network_activations_of_conv_nets():
    torch = pytest.importorskip("torch")
    from skequiv import NetworkActivations

    def net(seed):
        g = torch.Generator().manual_seed(seed)
        conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        with torch.no_grad():
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=g))
            conv.bias.zero_()
        return torch.nn.Sequential(conv, torch.nn.ReLU())

    X = np.random.default_rng(10).normal(size=(20, 1, 6, 6)).astype(np.float32)
    net_a = net(0)
    net_b = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU())
    with torch.no_grad():  # B: A's channels permuted and scaled
        net_b[0].weight.copy_(net_a[0].weight[[3, 0, 2, 1]] * 2.0)
        net_b[0].bias.zero_()
    acts_b = NetworkActivations(net_b, layers="1").fit(X)
    shape = acts_b.layer_shapes_["1"]
    assert shape == (4, 6, 6)
    pipe = make_pipeline(
        NetworkActivations(net_a, layers="1"),
        NeuronMatching(spatial_shape=shape[1:]),
    )
    pipe.fit(X, acts_b.transform(X))
    assert pipe[-1].matching_.tolist() == [1, 3, 2, 0]
    assert pipe.score(X, acts_b.transform(X)) == pytest.approx(1.0, abs=1e-6)
