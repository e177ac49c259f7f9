"""Co-clustering recovers planted groups shared by two networks."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from skequiv import NeuronCoclustering
from skequiv.correspondence import ConstantUnitWarning


def _planted(seed, n=3000, n_factors=5, per_net=(4, 3), noise=0.5):
    """Latent factors copied, noisily, with random signs and scales into A and B.

    B's units are permuted, so the groups can only be found from the data.
    """
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n, n_factors))

    def net(copies):
        groups = np.repeat(np.arange(n_factors), copies)
        signs = rng.choice([-1.0, 1.0], size=groups.size)
        scales = rng.uniform(0.2, 5.0, size=groups.size)
        units = factors[:, groups] * signs + noise * rng.normal(size=(n, groups.size))
        return units * scales + rng.normal(scale=10, size=groups.size), groups

    A, groups_a = net(per_net[0])
    B, groups_b = net(per_net[1])
    perm = rng.permutation(B.shape[1])
    return A, B[:, perm], groups_a, groups_b[perm]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_groups_are_recovered(seed):
    A, B, groups_a, groups_b = _planted(seed)
    model = NeuronCoclustering(n_clusters=5, random_state=seed).fit(A, B)
    labels = np.r_[model.labels_a_, model.labels_b_]
    truth = np.r_[groups_a, groups_b]
    assert adjusted_rand_score(truth, labels) == 1.0
    # every cluster holds units of both networks
    assert (model.cluster_sizes_ > 0).all()
    np.testing.assert_array_equal(model.cluster_sizes_.sum(axis=0), [20, 15])
    assert model.score(A, B) > 0.8


def test_clusters_do_not_follow_networks_when_groups_are_shared():
    # only one network-specific cluster is possible if groups were ignored
    A, B, _, _ = _planted(3, n_factors=2, per_net=(5, 5), noise=0.3)
    model = NeuronCoclustering(n_clusters=2, random_state=0).fit(A, B)
    assert set(model.labels_a_) == set(model.labels_b_) == {0, 1}


def test_transform_averages_standardised_sign_aligned_units():
    A, B, _, _ = _planted(4)
    model = NeuronCoclustering(n_clusters=5, random_state=0).fit(A, B)
    Z = model.transform(A)
    standardised = (A - A.mean(0)) / A.std(0)
    for k in range(5):
        members = np.flatnonzero(model.labels_a_ == k)
        block = standardised[:, members]
        # the members' orientations make them positively correlated
        oriented = block * model.signs_a_[members]
        assert (np.corrcoef(oriented, rowvar=False) > 0).all()
        np.testing.assert_allclose(Z[:, k], oriented.mean(axis=1), atol=1e-10)
    # A's and B's cluster means agree on held-out samples of the same factors
    assert model.score(A[:1000], B[:1000]) > 0.8
    rng = np.random.default_rng(0)
    assert abs(model.score(A[:1000], rng.permutation(B[:1000]))) < 0.1


def test_conv_layout_transform():
    rng = np.random.default_rng(5)
    factors = rng.normal(size=(40, 2, 4, 4))
    A = factors[:, [0, 0, 1]] + 0.2 * rng.normal(size=(40, 3, 4, 4))
    B = -factors[:, [1, 0]] + 0.2 * rng.normal(size=(40, 2, 4, 4))
    model = NeuronCoclustering(n_clusters=2, random_state=0).fit(A, B)
    truth = [0, 0, 1, 1, 0]
    assert adjusted_rand_score(truth, np.r_[model.labels_a_, model.labels_b_]) == 1
    assert model.transform(A).shape == (40, 2, 4, 4)


def test_dead_units_are_left_out_with_a_warning():
    A, B, _, _ = _planted(6, n_factors=3)
    A[:, 0] = 0.0
    with pytest.warns(ConstantUnitWarning, match="label -1"):
        model = NeuronCoclustering(n_clusters=3, random_state=0).fit(A, B)
    assert model.labels_a_[0] == -1 and (model.labels_a_[1:] >= 0).all()
    assert np.isfinite(model.transform(A)).all()


def test_too_many_clusters_is_a_clear_error():
    rng = np.random.default_rng(7)
    with pytest.raises(ValueError, match="Lower n_clusters"):
        NeuronCoclustering(n_clusters=6).fit(
            rng.normal(size=(50, 3)), rng.normal(size=(50, 2))
        )


@pytest.mark.parametrize(
    ("params", "X", "y", "match"),
    [
        (
            {"assign_labels": "agglomerative"},
            np.ones((5, 2)),
            np.ones((5, 2)),
            "assign",
        ),
        ({}, np.ones((5, 2)), np.ones((4, 2)), "same number of inputs"),
        ({}, np.ones((1, 2)), np.ones((1, 2)), "1 sample"),
        ({}, np.full((5, 2), np.nan), np.ones((5, 2)), "NaN"),
        ({"n_clusters": 0}, np.ones((5, 2)), np.ones((5, 2)), "n_clusters"),
    ],
)
def test_bad_input_gets_a_clear_error(params, X, y, match):
    with pytest.raises(ValueError, match=match):
        NeuronCoclustering(**params).fit(X, y)
