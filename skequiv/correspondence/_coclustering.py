"""Many-to-many correspondence: spectral co-clustering of both networks' units."""

from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.cluster import SpectralClustering
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from skequiv._compat import Interval, StrOptions, _fit_context
from skequiv.correspondence._statistics import (
    Moments,
    correlation_from_moments,
    streamed_moments,
    warn_constant_units,
)
from skequiv.correspondence._units import (
    LAYOUT_CONSTRAINTS,
    input_chunks,
    validate_pair,
    validate_single,
)

_CONSTANT = "it is left out of the clustering (label -1)."


def _cluster_signs(correlation, labels, n_clusters):
    """+1/-1 per unit: its orientation along its cluster's leading eigenvector.

    The affinity |r| groups anti-correlated units together; averaging them
    needs a common orientation, which the leading eigenvector of the
    cluster's correlation matrix gives (its largest entry made positive).
    """
    signs = np.ones(labels.size)
    for k in range(n_clusters):
        members = np.flatnonzero(labels == k)
        if members.size < 2:
            continue
        _, vectors = np.linalg.eigh(correlation[np.ix_(members, members)])
        v = vectors[:, -1]
        v = v * np.sign(v[np.argmax(np.abs(v))])
        signs[members] = np.where(v < 0, -1.0, 1.0)
    return signs


class NeuronCoclustering(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Many-to-many correspondence: clusters of units shared by two networks.

    Spectral clustering of the units of networks A and B together, with the
    absolute correlation between units as affinity, as in the many-to-many
    analysis of Li et al.'s *Convergent Learning* [1]_: units of both
    networks that carry the same signal, up to sign, fall into one cluster,
    so a cluster that holds units of A and of B is a subspace the two
    networks share. :meth:`transform` gives each sample's cluster means
    (A's units only), and :meth:`score` measures how well A's and B's
    cluster means agree on the data given.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters of the ``p_A + p_B`` units.
    assign_labels : {"kmeans", "discretize", "cluster_qr"}, default="kmeans"
        How :class:`~sklearn.cluster.SpectralClustering` turns the spectral
        embedding into labels.
    n_init : int, default=10
        Restarts of k-means (``assign_labels="kmeans"``).
    spatial_shape : tuple of int, default=None
        Spatial shape of conv activations flattened per input; see
        :class:`NeuronMatching`.
    chunk_size : int, default=None
        Samples per chunk; ``None`` chooses it from the number of units.
    random_state : int, RandomState instance or None, default=None
        Seeds the eigensolver's start vector and k-means.

    Attributes
    ----------
    labels_a_ : ndarray of shape (p_A,), dtype int
        Cluster of each unit of A; -1 for constant units.
    labels_b_ : ndarray of shape (p_B,), dtype int
        Cluster of each unit of B; -1 for constant units.
    correlation_ : ndarray of shape (p_A + p_B, p_A + p_B)
        Correlations between all units, A's first.
    affinity_matrix_ : ndarray of shape (p_A + p_B, p_A + p_B)
        ``|correlation_|``, with ones on the diagonal of non-constant units.
    signs_a_, signs_b_ : ndarray of shape (p_A,), (p_B,)
        Orientation (+1 or -1) of each unit within its cluster, used to
        average anti-correlated members.
    cluster_sizes_ : ndarray of shape (n_clusters, 2), dtype int
        Units of A and of B in each cluster.
    mean_, scale_ : ndarray of shape (p_A + p_B,)
        Means and standard deviations of the units (1 for constant units).
    constant_a_, constant_b_ : ndarray of bool
        Constant (dead) units.
    n_units_a_, n_units_b_ : int
        Units of A and B (channels for conv activations).
    spatial_shape_ : tuple of int
        Spatial shape of the activations, ``()`` for dense units.
    n_features_in_ : int
        ``X.shape[1]`` seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X``, when it is a DataFrame with string columns.

    See Also
    --------
    NeuronMatching : one-to-one correspondence.
    SparseNeuronPrediction : one-to-many correspondence.
    plot_coclusters : the clustered affinity matrix.

    Notes
    -----
    The affinity is ``|r_uv|`` over all pairs of units of the joint
    ``(p_A + p_B)`` square correlation matrix, within and between networks.
    The absolute value because the sign of a unit is arbitrary (the next
    layer can flip it), and spectral clustering needs non-negative
    affinities; :math:`(1 + r) / 2` would separate a unit from its negated
    copy, and ``max(r, 0)`` would cut anti-correlated units apart. Within-
    network correlations are kept: without them the graph would be
    bipartite and a cluster could not hold two units of the same network.
    The paper names the method but not the affinity, so this is a choice,
    not a reproduction.

    Units are standardised, oriented by :attr:`signs_a_` and averaged per
    cluster; a cluster without units of A gives a column of zeros in
    :meth:`transform`. :meth:`score` is the mean over clusters of the
    correlation between A's and B's cluster means on the data given, a
    cluster that lacks either network counting as 0, so that clusterings
    into network-specific groups score low.

    References
    ----------
    .. [1] Y. Li, J. Yosinski, J. Clune, H. Lipson and J. Hopcroft,
       "Convergent learning: do different neural networks learn the same
       representations?", ICLR 2016, arXiv:1511.07543.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.metrics import adjusted_rand_score
    >>> from skequiv import NeuronCoclustering
    >>> rng = np.random.default_rng(0)
    >>> factors = rng.normal(size=(2000, 3))
    >>> A = factors[:, [0, 0, 1, 1, 2, 2]] + 0.3 * rng.normal(size=(2000, 6))
    >>> B = -factors[:, [2, 1, 0, 2]] + 0.3 * rng.normal(size=(2000, 4))
    >>> model = NeuronCoclustering(n_clusters=3, random_state=0).fit(A, B)
    >>> adjusted_rand_score(
    ...     np.r_[model.labels_a_, model.labels_b_], [0, 0, 1, 1, 2, 2, 2, 1, 0, 2]
    ... )
    1.0
    >>> round(model.score(A, B), 2)
    0.93
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "assign_labels": [StrOptions({"kmeans", "discretize", "cluster_qr"})],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        **LAYOUT_CONSTRAINTS,
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        assign_labels="kmeans",
        n_init=10,
        spatial_shape=None,
        chunk_size=None,
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.assign_labels = assign_labels
        self.n_init = n_init
        self.spatial_shape = spatial_shape
        self.chunk_size = chunk_size
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Cluster the units of A and B together.

        Parameters
        ----------
        X : array-like of shape (n_samples, p_A) or (n_inputs, p_A, ...)
            Activations of network A.
        y : array-like of shape (n_samples, p_B), (n_samples,) or \
                (n_inputs, p_B, ...)
            Activations of network B for the same inputs.

        Returns
        -------
        self : NeuronCoclustering
        """
        a, b, _ = validate_pair(self, X, y, reset=True)
        moments = streamed_moments(a, b, "joint", self.chunk_size)
        constant = moments.constant
        warn_constant_units(constant, a, b, _CONSTANT)
        live = np.flatnonzero(~constant)
        needed = max(2, self.n_clusters)
        if live.size < needed:
            raise ValueError(
                f"n_clusters={self.n_clusters} needs at least {needed} non-constant "
                f"units in A and B together; there are {live.size}. Lower "
                "n_clusters."
            )
        self.correlation_ = correlation_from_moments(moments)
        self.affinity_matrix_ = np.abs(self.correlation_)
        labels = np.full(constant.size, -1)
        clustering = SpectralClustering(
            n_clusters=self.n_clusters,
            affinity="precomputed",
            assign_labels=self.assign_labels,
            n_init=self.n_init,
            random_state=check_random_state(self.random_state),
        )
        labels[live] = clustering.fit_predict(self.affinity_matrix_[np.ix_(live, live)])
        signs = _cluster_signs(self.correlation_, labels, self.n_clusters)
        p_a = a.n_units
        self.labels_a_, self.labels_b_ = labels[:p_a], labels[p_a:]
        self.signs_a_, self.signs_b_ = signs[:p_a], signs[p_a:]
        self.constant_a_, self.constant_b_ = constant[:p_a], constant[p_a:]
        self.cluster_sizes_ = np.stack(
            [
                np.bincount(side[side >= 0], minlength=self.n_clusters)
                for side in (self.labels_a_, self.labels_b_)
            ],
            axis=1,
        )
        self.mean_ = moments.mean
        self.scale_ = np.where(constant, 1.0, moments.std)
        self._n_features_out = self.n_clusters * a.n_positions
        return self

    def transform(self, X):
        """Cluster means of A's standardised, sign-aligned units.

        Parameters
        ----------
        X : array-like of shape (n_samples, p_A) or (n_inputs, p_A, ...)
            Activations of network A.

        Returns
        -------
        X_clusters : ndarray of shape (n_samples, n_clusters) or \
                (n_inputs, n_clusters, ...)
            Column k is the mean of A's units in cluster k (zeros where the
            cluster has none of A's units), in the layout of ``X``.
        """
        check_is_fitted(self)
        a = validate_single(self, X)
        out = np.empty((a.n_samples, self.n_clusters))
        for start, stop in input_chunks(a, self.chunk_size, a.n_units):
            rows = slice(start * a.n_positions, stop * a.n_positions)
            out[rows] = self._cluster_means(a.block(start, stop), "a")
        return a.restore(out, a.n_inputs)

    def score(self, X, y):
        """Agreement of A's and B's cluster means on the data given.

        Parameters
        ----------
        X : array-like of shape (n_samples, p_A) or (n_inputs, p_A, ...)
            Activations of network A.
        y : array-like of shape (n_samples, p_B), (n_samples,) or \
                (n_inputs, p_B, ...)
            Activations of network B.

        Returns
        -------
        score : float
            Mean over clusters of the correlation between the cluster means
            of A and of B, 0 for a cluster that lacks either network; in
            [-1, 1], larger is better.
        """
        check_is_fitted(self)
        a, b, _ = validate_pair(self, X, y, reset=False)
        k = self.n_clusters
        moments = Moments(k, k, "paired")
        for start, stop in input_chunks(a, self.chunk_size, a.n_units + b.n_units):
            moments.update(
                self._cluster_means(a.block(start, stop), "a"),
                self._cluster_means(b.block(start, stop), "b"),
            )
        agreement = correlation_from_moments(moments)
        agreement[(self.cluster_sizes_ == 0).any(axis=1)] = 0.0
        return float(agreement.mean())

    def _cluster_means(self, x, side):
        p_a = self.n_units_a_
        units = slice(None, p_a) if side == "a" else slice(p_a, None)
        labels = getattr(self, f"labels_{side}_")
        z = (
            (x - self.mean_[units])
            / self.scale_[units]
            * getattr(self, f"signs_{side}_")
        )
        counts = np.bincount(labels[labels >= 0], minlength=self.n_clusters)
        onehot = np.zeros((labels.size, self.n_clusters))
        onehot[np.flatnonzero(labels >= 0), labels[labels >= 0]] = 1.0
        return (z @ onehot) / np.maximum(counts, 1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
