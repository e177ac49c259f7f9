"""Every public estimator and function of skequiv, as one callable each.

The property and bad-input suites run the same table: a *subject* takes a
dict of arrays (``data``) and returns its result as a tuple of arrays. Its
``slots`` map the keys of ``data`` it reads to the name of the parameter they
are passed as (or a tuple of the names an error may use), so that a test can
corrupt one input and expect an error that names that parameter.

Data (issue 16's curve): ``t`` uniform in [0, 1], observations
``X = [t, t², sin 3t]`` in R³ with Jacobians ``J = dX/dt`` of shape
(n, 3, 1), and a second view ``Y`` (another "network"), a smooth function of
``t`` with four units.
"""

from dataclasses import dataclass, field

import numpy as np

import skequiv


def curve(n=60, seed=0):
    """``{"t", "X", "J", "Y", "Z"}`` for ``n`` points of the curve.

    ``Z`` is a pool of eight tanh neurons of ``t`` (for the selector), ``Y``
    four smooth features of ``t``.
    """
    t = np.sort(np.random.default_rng(seed).uniform(0.0, 1.0, n))
    X = np.c_[t, t**2, np.sin(3 * t)]
    J = np.c_[np.ones(n), 2 * t, 3 * np.cos(3 * t)][:, :, None]
    Y = np.c_[np.cos(np.pi * t), t**3, np.exp(-t), np.tanh(2 * t - 1)]
    weights = np.random.default_rng(1).normal(size=(2, 8))
    Z = np.tanh(np.outer(2 * t - 1, 2 * weights[0]) + weights[1])
    return {"t": t, "X": X, "J": J, "Y": Y, "Z": Z}


@dataclass(frozen=True)
class Subject:
    """One public name, run on ``data``; see the module docstring."""

    name: str
    run: object
    slots: dict = field(default_factory=dict)
    # some subjects need more samples than the bad-input cases give them
    min_samples: int = 2

    def __call__(self, data):
        out = self.run(data)
        return out if isinstance(out, tuple) else (out,)

    def __repr__(self):
        return self.name


# -- the runs ---------------------------------------------------------------
# Small settings throughout: the whole suite must stay under two minutes.


def _mdm(d):
    dmap = skequiv.MahalanobisDiffusionMap(n_components=2, random_state=0)
    return dmap.fit_transform(d["X"], jacobians=d["J"])


def _mdm_euclidean(d):
    dmap = skequiv.MahalanobisDiffusionMap(n_components=2, random_state=0)
    return dmap.fit_transform(d["X"])


def _quadratic(X):
    return np.hstack([X, 0.5 * X**2])


def _quadratic_jacobian(X):
    n, k = X.shape
    eye = np.broadcast_to(np.eye(k), (n, k, k))
    return np.concatenate([eye, X[:, :, None] * np.eye(k)], axis=1)


def _function_metric(d):
    source = skequiv.FunctionMetric(_quadratic, _quadratic_jacobian).fit(d["X"])
    data = source.metric_data(d["X"])
    return data.observations, data.jacobians


def _burst_metric(d):
    source = skequiv.BurstCovarianceMetric(
        _quadratic, sigma=1e-2, n_bursts=8, random_state=0
    ).fit(d["X"])
    data = source.metric_data(d["X"])
    return data.observations, data.covariances


def small_net():
    """A fixed float32 network R³ -> R⁴ (built from a seeded generator)."""
    import torch

    gen = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 4)
    )
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    return net


def _network_activations(d):
    acts = skequiv.NetworkActivations(small_net()).fit(d["X"])
    return acts.transform(d["X"]), acts.jacobian(d["X"])


def _geometric_harmonics(d):
    return skequiv.GeometricHarmonicsRegressor().fit(d["X"], d["Y"]).predict(d["X"])


def _whitney(d):
    selector = skequiv.WhitneyFeatureSelector(3, cv=3, random_state=0)
    return selector.fit(d["Z"], d["t"]).transform(d["Z"])


def _dimension(d):
    return np.float64(skequiv.estimate_intrinsic_dimension(d["X"], n_neighbors=5))


def _network_transform(d):
    transform = skequiv.NetworkTransform(random_state=0).fit(d["X"], d["Y"])
    return transform.predict(d["X"]), np.float64(transform.score(d["X"], d["Y"]))


def _network_transform_jacobians(d):
    transform = skequiv.NetworkTransform(random_state=0)
    transform.fit(d["X"], d["Y"], jacobians=d["J"])
    return transform.predict(d["X"], jacobians=d["J"])


def _report(d):
    report = skequiv.equivalence_report(
        d["X"], d["Y"], n_permutations=0, n_bootstrap=0, random_state=0
    )
    return np.float64(report.score_ab), np.float64(report.score_ba)


def _correlation(d):
    return skequiv.neuron_correlation(d["X"], d["Y"])


def _mutual_information(d):
    return skequiv.neuron_mutual_information(d["X"], d["Y"], n_bins=4)


def _match_neurons(d):
    matching, matched = skequiv.match_neurons(d["S"])
    return matching, matched[matching >= 0]  # NaN marks the unmatched


def _neuron_matching(d):
    matching = skequiv.NeuronMatching().fit(d["X"], d["Y"])
    return matching.transform(d["X"]), np.float64(matching.score(d["X"], d["Y"]))


def _sparse_prediction(d):
    model = skequiv.SparseNeuronPrediction(alpha=1e-3).fit(d["X"], d["Y"])
    return model.predict(d["X"])


def _sparse_path(d):
    path = skequiv.sparse_prediction_path(d["X"], d["Y"], alphas=4, cv=2)
    return tuple(
        np.asarray(v, dtype=np.float64)
        for v in vars(path).values()
        if isinstance(v, np.ndarray) and v.dtype.kind in "fiu"
    )


def _coclustering(d):
    model = skequiv.NeuronCoclustering(n_clusters=2, n_init=2, random_state=0)
    model.fit(d["X"], d["Y"])
    return model.transform(d["X"]), np.float64(model.score(d["X"], d["Y"]))


def _similarity(name):
    def run(d):
        return np.float64(getattr(skequiv, name)(d["X"], d["Y"]))

    run.__name__ = f"_{name}"
    return run


def _measure(d):
    measure = skequiv.get_measure("linear_cka")
    return np.float64(measure.compare(measure.prepare(d["X"]), measure.prepare(d["Y"])))


def _representation_similarity(d):
    model = skequiv.RepresentationSimilarity("cca").fit(d["X"], d["Y"])
    return np.float64(model.score(d["X"], d["Y"]))


def _accumulator(d):
    accumulator = skequiv.SimilarityAccumulator(batch_size=16)
    parts = zip(np.array_split(d["X"], 3), np.array_split(d["Y"], 3), strict=True)
    for x, y in parts:
        accumulator = accumulator.update(x, y)
    return np.float64(accumulator.score("linear_cka"))


def _pairwise(measure):
    def run(d):
        return skequiv.pairwise_similarity(
            [d["X"], d["Y"]], measure=measure, progress=False
        )

    return run


def _cluster_population(d):
    return skequiv.cluster_population(d["M"], 2)


def _embed_population(d):
    return skequiv.embed_population(d["M"], 2, random_state=0)


_XJ = {"X": "X", "J": "jacobians"}
_XY = {"X": "X", "Y": "y"}
_AB = {"X": "A", "Y": "B"}

SUBJECTS = [
    Subject("MahalanobisDiffusionMap", _mdm, _XJ, min_samples=4),
    Subject("MahalanobisDiffusionMap[euclidean]", _mdm_euclidean, {"X": "X"}, 4),
    Subject("FunctionMetric", _function_metric, {"X": "X"}),
    Subject("BurstCovarianceMetric", _burst_metric, {"X": "X"}),
    Subject("NetworkActivations", _network_activations, {"X": "X"}),
    Subject("GeometricHarmonicsRegressor", _geometric_harmonics, _XY, 4),
    Subject("WhitneyFeatureSelector", _whitney, {"Z": "X", "t": "y"}, 4),
    Subject("estimate_intrinsic_dimension", _dimension, {"X": "X"}, 7),
    Subject("NetworkTransform", _network_transform, _XY, 8),
    Subject("NetworkTransform[jacobians]", _network_transform_jacobians, _XJ, 8),
    Subject("equivalence_report", _report, {"X": "a", "Y": "b"}, 8),
    Subject("neuron_correlation", _correlation, _AB),
    Subject("neuron_mutual_information", _mutual_information, _AB),
    Subject("match_neurons", _match_neurons, {"S": "similarity"}, 1),
    Subject("NeuronMatching", _neuron_matching, _XY),
    Subject("SparseNeuronPrediction", _sparse_prediction, _XY, 4),
    Subject("sparse_prediction_path", _sparse_path, {"X": "A", "Y": "B"}, 4),
    Subject("NeuronCoclustering", _coclustering, _XY, 2),
    # representation similarity: f(X, Y)
    *(
        Subject(name, _similarity(name), {"X": "X", "Y": "Y"}, 2)
        for name in ("cka", "cca", "svcca", "pwcca", "procrustes", "shape_distance")
    ),
    # Measure.prepare(X) takes each side; compare(state_x, state_y) pairs them
    Subject("get_measure", _measure, {"X": ("X", "state_x"), "Y": ("X", "state_y")}),
    Subject("RepresentationSimilarity", _representation_similarity, _XY, 2),
    Subject("SimilarityAccumulator", _accumulator, {"X": "X", "Y": "Y"}, 2),
    # populations of networks
    Subject("pairwise_similarity", _pairwise("linear_cka"), {"X": "sources"}, 2),
    Subject(
        "EquivalenceScore",
        _pairwise(skequiv.EquivalenceScore(random_state=0)),
        {"X": "sources"},
        8,
    ),
    Subject("cluster_population", _cluster_population, {"M": "matrix"}, 6),
    Subject("embed_population", _embed_population, {"M": "matrix"}, 6),
]

# public names exercised through another entry, with where
_PLOTS = "test_contract.py::test_plots_refuse_what_they_cannot_draw"
COVERED_ELSEWHERE = {
    "EquivalenceReport": "returned by equivalence_report (test_contract pickles it)",
    "plot_similarity_matrix": _PLOTS,
    "plot_matched_similarity": _PLOTS,
    "plot_sparse_prediction_path": _PLOTS,
    "plot_coclusters": _PLOTS,
    # they train networks (seconds each): their bad inputs are tested there
    "KnowledgeIsomorphism": "tests/isomorphism/test_knowledge_isomorphism.py",
    "plot_variance_by_order": "tests/isomorphism/test_knowledge_isomorphism.py",
    "ModelEmbedding": "tests/population/test_model_embedding.py",
    "plot_model_embedding": "tests/population/test_analysis.py",
    "plot_population_matrix": "tests/population/test_analysis.py",
}


def data_for(subject, n=60, seed=0):
    """The arrays ``subject`` reads, for ``n`` samples."""
    d = curve(n, seed)
    d["S"] = np.corrcoef(d["X"].T, d["Y"].T)[:3, 3:]
    # a population's similarity matrix: six "networks", two families
    units = np.c_[d["X"], d["Y"], d["X"][:, :2] + 0.1 * d["Y"][:, :2]]
    d["M"] = np.abs(np.corrcoef(units.T))[:6, :6]
    return d


# -- representation similarity (issue 12) -------------------------------------
def _similarity(function, **params):
    def run(d):
        return np.float64(function(d["X"], d["Y"], **params))

    return run


def _similarity_estimator(d):
    model = skequiv.RepresentationSimilarity("svcca").fit(d["X"], d["Y"])
    return np.float64(model.similarity_), np.float64(model.score(d["X"], d["Y"]))


def _accumulator(d):
    acc = skequiv.SimilarityAccumulator(batch_size=16).update(d["X"], d["Y"])
    return np.float64(acc.score("pwcca")), np.float64(acc.shape_distance(0.5))


def _measure(d):
    measure = skequiv.get_measure("debiased_linear_cka")
    return np.float64(measure(d["X"], d["Y"]))


_XY_PAIR = {"X": "X", "Y": "Y"}
SUBJECTS += [
    Subject("cka", _similarity(skequiv.cka), _XY_PAIR),
    Subject("cka[rbf]", _similarity(skequiv.cka, kernel="rbf"), _XY_PAIR, 2),
    Subject("cca", _similarity(skequiv.cca), _XY_PAIR, 9),
    Subject("svcca", _similarity(skequiv.svcca), _XY_PAIR, 9),
    Subject("pwcca", _similarity(skequiv.pwcca), _XY_PAIR, 9),
    Subject("procrustes", _similarity(skequiv.procrustes), _XY_PAIR),
    Subject("shape_distance", _similarity(skequiv.shape_distance), _XY_PAIR),
    Subject("get_measure", _measure, _XY_PAIR, 4),
    Subject("SimilarityAccumulator", _accumulator, _XY_PAIR, 9),
    Subject("RepresentationSimilarity", _similarity_estimator, _XY, 9),
]
