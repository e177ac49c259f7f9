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
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone

from skequiv._compat import HasMethods, Interval, validate_params

_PROTOCOL = ("prepare", "compare")


class EquivalenceScore:
    """Directed equivalence: held-out R² of the transform from one network to another.

    ``compare(state_i, state_j)`` fits a clone of ``transform`` on the training
    rows of network i's activations (the input) and network j's (the target)
    and returns its ``score`` on the held-out rows: how well j's
    representation can be predicted from i's. It is not symmetric: a digit
    classifier predicts a parity classifier, not the converse.

    Parameters
    ----------
    transform : estimator, default=None
        A regressor-like estimator with ``fit(X, y)`` and a larger-is-better
        ``score(X, y)``, cloned for every ordered pair. ``None`` means
        :class:`~skequiv.NetworkTransform` with its defaults (diffusion-map
        coordinates of i's activations, then geometric harmonics).
    test_size : float, default=0.25
        Fraction of the samples held out for the score.
    random_state : int, default=0
        Seed of the train/test split. It must be an integer: every network is
        prepared on its own, possibly in another process, and all of them
        must draw the same split (the rows are paired).

    Notes
    -----
    Per-network work (the forward pass and the split) is done once per
    network; the transform itself depends on both networks and is fitted once
    per ordered pair, K² fits for K networks. A cheap transform, e.g.
    ``NetworkTransform(embedding="passthrough", regressor=Ridge())``, makes
    large populations affordable.
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

    def prepare(self, X):
        """The training and held-out rows of one network's activations."""
        X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        n_test = round(self.test_size * X.shape[0])
        if not 2 <= n_test <= X.shape[0] - 2:
            raise ValueError(
                f"test_size={self.test_size} leaves {n_test} of {X.shape[0]} "
                "samples for the score; use more samples or a test_size that "
                "keeps at least 2 on each side."
            )
        order = np.random.default_rng(self.random_state).permutation(X.shape[0])
        return X[order[n_test:]], X[order[:n_test]]

    def compare(self, state_x, state_y):
        """Held-out score of the transform from network x to network y."""
        (train_x, test_x), (train_y, test_y) = state_x, state_y
        return float(self._estimator().fit(train_x, train_y).score(test_x, test_y))

    def _estimator(self):
        if self.transform is None:
            from skequiv.equivalence import NetworkTransform

            return NetworkTransform()
        return clone(self.transform)


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
