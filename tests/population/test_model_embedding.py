"""ModelEmbedding (DYNAMO): clusters, permutation invariance, averaging, order."""

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, r2_score

from skequiv.population import ModelEmbedding

# a budget that trains in seconds on two cores; the defaults train longer
FAST = {"max_epochs": 60, "batch_size": 512, "learning_rate": 1e-2}


def sine(X):
    return np.sin(np.pi * X[:, :1])


def product(X):
    return 2 * X[:, :1] * X[:, 1:]


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).uniform(-1, 1, size=(256, 2))


@pytest.fixture(scope="module")
def population(X, nets):
    """Models 0-2: one sine network and two copies with permuted hidden units;
    3-4: sine networks of other seeds; 5-7: networks of another function."""
    base = nets.fitted_net(sine, X, seed=0)
    models = [base, nets.permuted(base, 1), nets.permuted(base, 2)]
    models += [nets.fitted_net(sine, X, seed) for seed in (1, 2)]
    models += [nets.fitted_net(product, X, seed) for seed in (0, 1, 2)]
    return models


@pytest.fixture(scope="module")
def embedding(population, X):
    return ModelEmbedding(layers=["1"], random_state=0, **FAST).fit(population, X)


def test_two_functions_give_two_clusters(embedding):
    labels = KMeans(2, n_init=10, random_state=0).fit_predict(embedding.embeddings_)
    assert adjusted_rand_score([0] * 5 + [1] * 3, labels) == 1.0
    assert embedding.embeddings_.shape == (8, 2)


def test_emulation_is_accurate(embedding):
    assert embedding.output_r2_.shape == (8,)
    assert embedding.hidden_r2_.shape == (8, 1)
    assert np.all(embedding.output_r2_ > 0.98)
    assert np.all(embedding.hidden_r2_ > 0.98)


def test_permuted_copies_land_close(embedding):
    D = embedding.pairwise_distances()
    np.testing.assert_allclose(D, D.T)
    np.testing.assert_allclose(np.diag(D), 0)
    # independent reference for the distances
    E = embedding.embeddings_
    assert D[0, 6] == pytest.approx(np.linalg.norm(E[0] - E[6]), rel=1e-12)
    assert D[:3, :3].max() < 0.2 * D[:3, 5:].min()


def test_average_of_permuted_copies_works_where_weight_averaging_fails(
    embedding, population, X, nets
):
    reference = nets.outputs(population[0], X)
    averaged = embedding.average([0, 1, 2])
    assert isinstance(averaged, torch.nn.Module)
    assert r2_score(reference, nets.outputs(averaged, X)) >= 0.99
    naive = nets.weight_average(population[:3])
    assert r2_score(reference, nets.outputs(naive, X)) < 0.5


def test_interpolation_ends_are_the_models(embedding, population, X, nets):
    start = nets.outputs(embedding.interpolate(0, 5, 0.0), X)
    end = nets.outputs(embedding.interpolate(0, 5, 1.0), X)
    assert r2_score(nets.outputs(population[0], X), start) > 0.98
    assert r2_score(nets.outputs(population[5], X), end) > 0.98


def test_embed_places_a_new_permuted_copy_with_its_function(
    embedding, population, X, nets
):
    theta = embedding.embed(nets.permuted(population[0], 7), X)
    distances = np.linalg.norm(embedding.embeddings_ - theta, axis=1)
    assert distances[:5].max() < distances[5:].min()


def test_fit_embedding_picks_the_function_from_a_few_labels(embedding, X, nets):
    model = embedding.fit_embedding(X[:20], product(X[:20]))
    assert r2_score(product(X), nets.outputs(model, X)) > 0.95
    theta = model.theta.numpy()
    distances = np.linalg.norm(embedding.embeddings_ - theta, axis=1)
    assert distances[5:].min() < distances[:5].min()


def doubled(X):
    return np.c_[X, X]


def rotation(angle):
    return np.array([[np.cos(angle)], [np.sin(angle)]])


def test_one_parameter_family_is_ordered(X, nets):
    angles = np.linspace(0, np.pi / 2, 8)
    family = [
        nets.fitted_net(lambda X, a=a: np.tanh(2 * X @ rotation(a)), X, k)
        for k, a in enumerate(angles)
    ]
    emb = ModelEmbedding(1, layers="1", random_state=1, **FAST).fit(family, X)
    assert abs(spearmanr(emb.embeddings_[:, 0], angles).statistic) >= 0.95


def test_classifiers_are_emulated_through_their_softmax(X, nets):
    def logits(X):
        return np.c_[3 * X[:, :1], -3 * X[:, :1], 2 * X[:, 1:]]

    models = [nets.fitted_net(logits, X, seed) for seed in range(3)]
    emb = ModelEmbedding(task="classification", random_state=0, **FAST)
    emb.fit(models, X)
    assert emb.task_ == "classification"
    assert np.all(emb.output_r2_ > 0.95)
    labels = np.argmax(logits(X), axis=1)
    predicted = np.argmax(nets.outputs(emb.average(), X), axis=1)
    assert np.mean(predicted == labels) > 0.95


def test_same_seed_same_embeddings(population, X):
    fits = [
        ModelEmbedding(random_state=3, max_epochs=2).fit(population[:3], X).embeddings_
        for _ in range(2)
    ]
    np.testing.assert_array_equal(*fits)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p, X, nets: ([p[0]], X), "at least 2"),
        (lambda p, X, nets: (p[:2], X[:, :1]), r"models\[0\]"),
        (lambda p, X, nets: (p[:2], np.full((5, 2), np.nan)), "NaN"),
        (
            lambda p, X, nets: ([p[0], nets.fitted_net(doubled, X, 0)], X),
            "outputs differ in shape",
        ),
    ],
    ids=["one model", "inputs rejected", "nan", "output shapes"],
)
def test_bad_populations_are_refused(population, X, nets, make, match):
    models, inputs = make(population, X, nets)
    with pytest.raises(ValueError, match=match):
        ModelEmbedding(max_epochs=1).fit(models, inputs)


def test_bad_layers_and_indices_are_refused(embedding, population, X, nets):
    with pytest.raises(ValueError, match=r"one list per model|one list of layer"):
        ModelEmbedding(layers=[["1"], ["0", "1"]], max_epochs=1).fit(population[:2], X)
    with pytest.raises(IndexError, match="out of range for 8 models"):
        embedding.average([0, 9])
    with pytest.raises(ValueError, match=r"expected \(2,\)"):
        embedding.emulate([0.0])
    with pytest.raises(ValueError, match="model has 4 outputs per sample"):
        embedding.embed(nets.fitted_net(doubled, X, 0), X)
    with pytest.raises(ValueError, match=r"class indices|outputs per sample"):
        embedding.fit_embedding(X[:5], np.ones((5, 3)))


def test_bad_device_is_refused_like_the_network_sources(population, X):
    # the same message as NetworkActivations and KnowledgeIsomorphism give
    with pytest.raises(ValueError, match=r"device='gpu7' is not a torch device"):
        ModelEmbedding(device="gpu7", max_epochs=1).fit(population[:2], X)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_refused(population, X):
    with pytest.raises(ValueError, match="CUDA is not available"):
        ModelEmbedding(device="cuda", max_epochs=1).fit(population[:2], X)


def test_torch_device_object_is_accepted(population, X, nets):
    emb = ModelEmbedding(device=torch.device("cpu"), max_epochs=1)
    emb.fit(population[:2], X)
    assert emb.get_params()["device"] == torch.device("cpu")  # stored unchanged
    assert nets.outputs(emb.average(), X).shape == (len(X), 1)
