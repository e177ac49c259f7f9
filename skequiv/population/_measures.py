"""Measures between two networks' representations, as ``prepare`` + ``compare``.

A measure splits its work in two: ``prepare(X) -> state`` does everything that
depends on one network alone (centring, whitening, Gram or QR factors, a
train/test split) and runs once per network; ``compare(state_x, state_y) ->
float`` is the cheap pair kernel, larger = more similar. ``symmetric`` says
whether ``compare(a, b) == compare(b, a)``. The similarities of
:mod:`skequiv.similarity` follow this protocol; :class:`EquivalenceScore` is
the directed one.
"""

import importlib
import inspect
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone

from skequiv._compat import HasMethods, Interval, validate_params

_PROTOCOL = ("prepare", "compare")


class EquivalenceScore:
    """Directed equivalence: held-out R² of the transform from one network to another.

    ``compare(state_i, state_j)`` fits the transform on the training rows of
    network i's activations (the input) and network j's (the target) and
    returns its ``score`` on the held-out rows: how well j's representation
    can be predicted from i's. It is not symmetric: a digit classifier
    predicts a parity classifier, not the converse.

    With a :class:`~skequiv.NetworkTransform` (the default), everything that
    depends on network i alone is done once, in ``prepare``: its Jacobians
    (when :func:`pairwise_similarity` reads a network, as
    ``NetworkTransform(source_a=...)`` does, so the diffusion map uses the
    Mahalanobis metric) and the diffusion-map embedding of its training rows
    and of every inner cross-validation fold
    (:meth:`~skequiv.NetworkTransform.embed_source`). ``compare`` does the
    pair's work only: the choice of candidate map, the regression onto j's
    activations (:meth:`~skequiv.NetworkTransform.fit_embedded`) and the
    held-out score. Entry ``[i, j]`` equals what
    ``NetworkTransform(source_a=NetworkActivations(net_i),
    source_b=NetworkActivations(net_j)).fit(X[train]).score(X[test])`` gives,
    with ``train, test = score.split(len(X))``.

    Parameters
    ----------
    transform : estimator, default=None
        A regressor-like estimator with ``fit(X, y)`` and a larger-is-better
        ``score(X, y)``, cloned for every ordered pair. ``None`` means
        ``NetworkTransform(random_state=random_state)``: the choice, by inner
        cross-validation, between diffusion-map coordinates of i's
        activations followed by geometric harmonics, kernel ridge and ridge.
        A ``NetworkTransform`` with a ``selector`` (which picks i's neurons
        for each target) or network sources is refitted whole for every pair.
    test_size : float, default=0.25
        Fraction of the samples held out for the score.
    random_state : int, default=0
        Seed of the train/test split (and of the default transform). It must
        be an integer: every network is prepared on its own, possibly in
        another process, and all of them must draw the same split (the rows
        are paired).

    Notes
    -----
    Per-network work (the forward pass, the Jacobians, the split, the
    embeddings) is done once per network; the regression depends on both
    networks and runs once per ordered pair, K² fits for K networks. A cheap
    transform, e.g. ``NetworkTransform(embedding="passthrough",
    regressor=Ridge())``, makes large populations affordable.

    Each network's state holds its Jacobians (samples × units × input
    features) and its fitted embeddings until the matrix is done: for wide
    layers of networks with many inputs, compare a narrower layer or use a
    transform without a diffusion map (no Jacobians are then read).
    """

    symmetric = False

    @validate_params(
        {
            "transform": [HasMethods(["fit", "score"]), None],
            "test_size": [Interval(Real, 0, 1, closed="neither")],
            "random_state": [Interval(Integral, 0, None, closed="left")],
        },
        prefer_skip_nested_validation=True,
    )
    def __init__(self, transform=None, *, test_size=0.25, random_state=0):
        self.transform = transform
        self.test_size = test_size
        self.random_state = random_state

    def __repr__(self):
        return (
            f"EquivalenceScore(transform={self.transform!r}, "
            f"test_size={self.test_size}, random_state={self.random_state})"
        )

    @property
    def uses_metric_data(self):
        """Whether ``prepare`` takes the network's metric data (Jacobians)."""
        transform = self._estimator()
        return _embeds_source(transform) and _embedding_takes_metric(transform)

    def split(self, n_samples):
        """``(train, test)``: the row indices every network is split into."""
        n_test = round(self.test_size * n_samples)
        if not 2 <= n_test <= n_samples - 2:
            raise ValueError(
                f"test_size={self.test_size} leaves {n_test} of {n_samples} "
                "samples for the score; use more samples or a test_size that "
                "keeps at least 2 on each side."
            )
        order = np.random.default_rng(self.random_state).permutation(n_samples)
        return order[n_test:], order[:n_test]

    def prepare(self, X, *, jacobians=None, covariances=None):
        """One network's training and held-out rows, and its precomputed side.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_units)
            The network's activations.
        jacobians, covariances : array-like, default=None
            Their metric data (see :class:`~skequiv.NetworkTransform`), used
            when :attr:`uses_metric_data` is true.

        Returns
        -------
        state : dict
            What :meth:`compare` needs of this network.
        """
        X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        train, test = self.split(X.shape[0])
        metadata = _metadata(jacobians, covariances)
        state = {
            "train": X[train],
            "test": X[test],
            "test_metadata": {k: v[test] for k, v in metadata.items()},
            "source": None,
        }
        transform = self._estimator()
        if _embeds_source(transform):
            train_metadata = {k: v[train] for k, v in metadata.items()}
            state["source"] = transform.embed_source(X[train], **train_metadata)
        return state

    def compare(self, state_x, state_y):
        """Held-out score of the transform from network x to network y."""
        transform = self._estimator()
        if state_x["source"] is not None:
            transform.fit_embedded(state_x["source"], state_y["train"])
        else:
            transform.fit(state_x["train"], state_y["train"])
        test = (state_x["test"], state_y["test"])
        return float(transform.score(*test, **state_x["test_metadata"]))

    def _estimator(self):
        if self.transform is None:
            from skequiv.equivalence import NetworkTransform

            return NetworkTransform(random_state=self.random_state)
        return clone(self.transform)


def _embeds_source(transform):
    """Whether ``transform`` can take network i's side precomputed."""
    from skequiv.equivalence import NetworkTransform

    return (
        isinstance(transform, NetworkTransform)
        and transform.source_a is None
        and transform.source_b is None
        and transform.selector in (None, "passthrough")
        and not isinstance(transform.random_state, np.random.RandomState)
    )


def _embedding_takes_metric(transform):
    """Whether the intrinsic candidate's embedding takes Jacobians."""
    candidates = transform.candidates
    if candidates != "auto" and "intrinsic" not in (
        [candidates] if isinstance(candidates, str) else candidates
    ):
        return False
    embedding = transform.embedding
    if embedding is None:
        return True  # the default Mahalanobis diffusion map
    if isinstance(embedding, str):
        return False  # "passthrough"
    params = inspect.signature(embedding.fit).parameters
    return "jacobians" in params and "covariances" in params


def _metadata(jacobians, covariances):
    metadata = {"jacobians": jacobians, "covariances": covariances}
    return {
        k: np.asarray(v, dtype=np.float64) for k, v in metadata.items() if v is not None
    }


def _similarity_module():
    """:mod:`skequiv.similarity`, or ``None`` where this version lacks it."""
    try:
        return importlib.import_module("skequiv.similarity")
    except ImportError:
        return None


def resolve_measure(measure):
    """A measure object from a name or an object with ``prepare``/``compare``."""
    if isinstance(measure, str):
        if measure == "equivalence":
            return EquivalenceScore()
        return _lookup_similarity(measure)
    missing = [m for m in _PROTOCOL if not callable(getattr(measure, m, None))]
    if missing or not hasattr(measure, "symmetric"):
        raise TypeError(
            f"measure={measure!r} is neither a name nor a measure object with "
            "prepare(X), compare(state_x, state_y) and a `symmetric` flag; "
            f"use one of {available_measures()}."
        )
    return measure


def _lookup_similarity(name):
    get = getattr(_similarity_module(), "get_measure", None)
    if get is not None:
        try:
            return get(name)
        except (KeyError, ValueError):
            pass
    raise ValueError(
        f"measure={name!r} is not a known measure; use one of "
        f"{available_measures()} or a measure object with prepare/compare."
    )


def available_measures():
    """The measure names :func:`pairwise_similarity` accepts."""
    names = getattr(_similarity_module(), "MEASURES", ())
    return ["equivalence", *sorted(names)]
