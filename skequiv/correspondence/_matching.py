"""One-to-one correspondence: semi-matching and bipartite matching of units."""

from numbers import Integral
from typing import ClassVar

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_array, check_is_fitted

from skequiv._compat import Interval, StrOptions, _fit_context, validate_params
from skequiv.correspondence._statistics import paired_similarity, similarity
from skequiv.correspondence._units import (
    LAYOUT_CONSTRAINTS,
    validate_pair,
    validate_single,
)


@validate_params(
    {
        "similarity": ["array-like"],
        "assignment": [StrOptions({"bipartite", "semi"})],
        "exclude_diagonal": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def match_neurons(similarity, *, assignment="bipartite", exclude_diagonal=False):
    """Match the rows of a similarity matrix (units of A) to its columns (B).

    Parameters
    ----------
    similarity : array-like of shape (p_A, p_B)
        Larger is more similar, e.g. :func:`neuron_correlation` or
        :func:`neuron_mutual_information`.
    assignment : {"bipartite", "semi"}, default="bipartite"
        ``"semi"``: every unit of A takes its most similar unit of B, and
        several units of A may share one. ``"bipartite"``: a one-to-one
        assignment that maximises the summed similarity (the Hungarian
        algorithm, :func:`scipy.optimize.linear_sum_assignment`); when
        ``p_A > p_B``, ``p_A - p_B`` units of A stay unmatched.
    exclude_diagonal : bool, default=False
        Forbid matching unit i to unit i (square matrices only): the
        within-network baseline of Li et al., matching a network to itself
        to find each unit's most similar *other* unit. A single unit then
        has no match.

    Returns
    -------
    matching : ndarray of shape (p_A,), dtype int
        ``matching[i]`` is the column matched to row i, or -1 where none.
    matched_similarity : ndarray of shape (p_A,)
        ``similarity[i, matching[i]]``, NaN where row i is unmatched.

    See Also
    --------
    NeuronMatching : the estimator that computes the similarity and matches.

    Notes
    -----
    Raw similarities are maximised, not their absolute values, as in the
    authors' code: an anti-correlated pair is a poor match. Ties in
    semi-matching go to the lowest column index.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv import match_neurons
    >>> S = np.array([[0.9, 0.8], [0.85, 0.1]])
    >>> match_neurons(S, assignment="semi")[0]
    array([0, 0])
    >>> match_neurons(S, assignment="bipartite")[0]
    array([1, 0])
    """
    S = check_array(similarity, dtype=np.float64, input_name="similarity")
    p_a, p_b = S.shape
    if exclude_diagonal:
        if p_a != p_b:
            raise ValueError(
                "exclude_diagonal=True needs a square similarity matrix (a "
                f"network against itself); got shape {S.shape}."
            )
        S = S.copy()
        np.fill_diagonal(S, -np.inf)
    matching = np.full(p_a, -1, dtype=np.intp)
    if exclude_diagonal and p_a == 1:
        pass  # a lone unit has no other unit to match
    elif assignment == "semi":
        matching[:] = np.argmax(S, axis=1)
    else:
        rows, cols = linear_sum_assignment(S, maximize=True)
        matching[rows] = cols
    matched = np.full(p_a, np.nan)
    has = matching >= 0
    matched[has] = S[np.flatnonzero(has), matching[has]]
    return matching, matched


def inverse_matching(matching, similarity, n_b):
    """For each unit of B, the unit of A matched to it (the most similar one
    where several are), or -1."""
    partner = np.full(n_b, -1, dtype=np.intp)
    best = np.full(n_b, -np.inf)
    for i, j in enumerate(matching):
        if j >= 0 and similarity[i, j] > best[j]:
            partner[j], best[j] = i, similarity[i, j]
    return partner


class NeuronMatching(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """One-to-one correspondence between the units of two networks.

    ``fit(A, B)`` computes the similarity (correlation or mutual
    information) of every unit of network A with every unit of network B
    over the samples, and matches them: each unit of A with its most
    similar unit of B (semi-matching), or one-to-one maximising the summed
    similarity (bipartite matching), as in Li et al.'s *Convergent
    Learning* [1]_. :meth:`score` is the mean matched similarity on the data
    given, so held-out data give a held-out score.

    Parameters
    ----------
    similarity : {"correlation", "mutual_information"}, default="correlation"
        Pearson correlation (:func:`neuron_correlation`) or mutual
        information in nats (:func:`neuron_mutual_information`).
    assignment : {"bipartite", "semi"}, default="bipartite"
        See :func:`match_neurons`.
    baseline : bool, default=False
        Also match each network to itself with the diagonal excluded (each
        unit's most similar *other* unit in its own network; Li et al.'s
        baseline). Costs a second pass over the samples for mutual
        information, none for correlation, and ``(p_A + p_B)**2`` instead of
        ``p_A * p_B`` similarities.
    n_bins : int, default=10
        Bins per unit for mutual information.
    bias_correction : {"miller-madow", "li2016"} or None, default="miller-madow"
        Bias correction of the mutual information.
    quantile_samples : int or None, default=100_000
        Samples for the mutual information's bin edges.
    spatial_shape : tuple of int, default=None
        Spatial shape of conv activations flattened per input (e.g.
        ``NetworkActivations.layer_shapes_[layer][1:]``); ``None`` reads 2-D
        activations as dense units. N-D activations ``(n, channels,
        *spatial)`` need no setting.
    chunk_size : int, default=None
        Samples per chunk; ``None`` chooses it from the number of units.
    random_state : int, RandomState instance or None, default=None
        Draws the samples for the bin edges of the mutual information.

    Attributes
    ----------
    similarity_ : ndarray of shape (p_A, p_B)
        Similarity of every unit of A with every unit of B.
    matching_ : ndarray of shape (p_A,), dtype int
        ``matching_[i]`` is the unit of B matched to unit i of A, -1 where
        none (bipartite matching with ``p_A > p_B``).
    match_similarity_ : ndarray of shape (p_A,)
        ``similarity_[i, matching_[i]]``, NaN where unit i is unmatched.
    partner_ : ndarray of shape (p_B,), dtype int
        For each unit of B, the unit of A matched to it (the most similar
        one when semi-matching gives several), -1 where none; the columns
        :meth:`transform` returns.
    similarity_a_, similarity_b_ : ndarray of shape (p_A, p_A), (p_B, p_B)
        Within-network similarities (``baseline=True`` only).
    baseline_matching_a_, baseline_matching_b_ : ndarray of int
        Each unit's match within its own network, diagonal excluded
        (``baseline=True`` only).
    baseline_similarity_a_, baseline_similarity_b_ : ndarray
        The similarity of those within-network matches (``baseline=True``
        only).
    constant_a_, constant_b_ : ndarray of bool
        Constant (dead) units of A and B; their similarities are 0.
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
    match_neurons : the matching alone, on any similarity matrix.
    SparseNeuronPrediction : one-to-many correspondence.
    NeuronCoclustering : many-to-many correspondence.
    plot_similarity_matrix, plot_matched_similarity : the paper's figures.

    Notes
    -----
    A 2-D ``A`` has one unit per column; an N-D ``A`` of shape ``(n,
    channels, *spatial)`` (a conv layer) has one unit per channel, and every
    (input, position) pair is a sample, as in Li et al. B must have the same
    inputs and spatial shape. Statistics are streamed over samples in
    chunks (:func:`neuron_correlation`, :func:`neuron_mutual_information`).

    Semi-matching gives each unit of A its best partner, so its mean matched
    similarity is at least the bipartite one; the gap and the fraction of
    units whose partners agree show how one-to-one the correspondence is.
    The authors compare both with the within-network baseline: a unit whose
    best match in the other network is better than its best match in its
    own network has a counterpart there.

    References
    ----------
    .. [1] Y. Li, J. Yosinski, J. Clune, H. Lipson and J. Hopcroft,
       "Convergent learning: do different neural networks learn the same
       representations?", ICLR 2016, arXiv:1511.07543.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv import NeuronMatching
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(500, 4))
    >>> B = 3 * A[:, [2, 0, 3, 1]] - 1  # permuted, rescaled and shifted
    >>> matcher = NeuronMatching().fit(A, B)
    >>> matcher.matching_
    array([1, 3, 0, 2])
    >>> matcher.match_similarity_.round(6)
    array([1., 1., 1., 1.])
    >>> np.allclose(matcher.transform(A), (B + 1) / 3)
    True
    >>> round(matcher.score(A, B), 6)
    1.0
    """

    _parameter_constraints: ClassVar[dict] = {
        "similarity": [StrOptions({"correlation", "mutual_information"})],
        "assignment": [StrOptions({"bipartite", "semi"})],
        "baseline": ["boolean"],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "bias_correction": [StrOptions({"miller-madow", "li2016"}), None],
        "quantile_samples": [None, Interval(Integral, 2, None, closed="left")],
        **LAYOUT_CONSTRAINTS,
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        similarity="correlation",
        *,
        assignment="bipartite",
        baseline=False,
        n_bins=10,
        bias_correction="miller-madow",
        quantile_samples=100_000,
        spatial_shape=None,
        chunk_size=None,
        random_state=None,
    ):
        self.similarity = similarity
        self.assignment = assignment
        self.baseline = baseline
        self.n_bins = n_bins
        self.bias_correction = bias_correction
        self.quantile_samples = quantile_samples
        self.spatial_shape = spatial_shape
        self.chunk_size = chunk_size
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Compute the similarities and match A's units to B's.

        Parameters
        ----------
        X : array-like of shape (n_samples, p_A) or (n_inputs, p_A, ...)
            Activations of network A.
        y : array-like of shape (n_samples, p_B), (n_samples,) or \
                (n_inputs, p_B, ...)
            Activations of network B for the same inputs.

        Returns
        -------
        self : NeuronMatching
        """
        a, b, _ = validate_pair(self, X, y, reset=True)
        matrix, constant = similarity(
            a,
            b,
            self.similarity,
            joint=self.baseline,
            mi_params=self._mi_params(),
            bias_correction=self.bias_correction,
            chunk_size=self.chunk_size,
        )
        p_a = a.n_units
        self.constant_a_, self.constant_b_ = constant[:p_a], constant[p_a:]
        if self.baseline:
            self.similarity_a_ = matrix[:p_a, :p_a]
            self.similarity_b_ = matrix[p_a:, p_a:]
            matrix = matrix[:p_a, p_a:]
            for side, within in (("a", self.similarity_a_), ("b", self.similarity_b_)):
                m, s = match_neurons(
                    within, assignment=self.assignment, exclude_diagonal=True
                )
                setattr(self, f"baseline_matching_{side}_", m)
                setattr(self, f"baseline_similarity_{side}_", s)
        self.similarity_ = np.ascontiguousarray(matrix)
        self.matching_, self.match_similarity_ = match_neurons(
            self.similarity_, assignment=self.assignment
        )
        self.partner_ = inverse_matching(self.matching_, self.similarity_, b.n_units)
        self._n_features_out = b.n_units * a.n_positions
        return self

    def transform(self, X):
        """A's units in B's order: unit j of the result is A's partner of B's unit j.

        Units of B without a partner in A (``partner_ == -1``) are filled
        with zeros.

        Parameters
        ----------
        X : array-like of shape (n_samples, p_A) or (n_inputs, p_A, ...)
            Activations of network A.

        Returns
        -------
        X_matched : ndarray of shape (n_samples, p_B) or (n_inputs, p_B, ...)
            In the layout of ``X`` (flattened per input when ``X`` was).
        """
        check_is_fitted(self)
        a = validate_single(self, X)
        x = np.asarray(a.array)
        out = np.zeros((x.shape[0], self.n_units_b_, *x.shape[2:]), dtype=x.dtype)
        has = self.partner_ >= 0
        out[:, has] = x[:, self.partner_[has]]
        return out.reshape(x.shape[0], -1) if a.flattened else out

    def score(self, X, y):
        """Mean similarity of the matched pairs, on the data given.

        The similarity of each matched pair ``(i, matching_[i])`` is
        recomputed on ``X`` and ``y`` (held-out data give a held-out score);
        unmatched units are left out. Larger is better.

        Parameters
        ----------
        X : array-like of shape (n_samples, p_A) or (n_inputs, p_A, ...)
            Activations of network A.
        y : array-like of shape (n_samples, p_B), (n_samples,) or \
                (n_inputs, p_B, ...)
            Activations of network B for the same inputs.

        Returns
        -------
        score : float
            Mean matched correlation, or mutual information in nats.
        """
        check_is_fitted(self)
        a, b, _ = validate_pair(self, X, y, reset=False)
        rows = np.flatnonzero(self.matching_ >= 0)
        values = paired_similarity(
            a,
            b,
            rows,
            self.matching_[rows],
            self.similarity,
            mi_params=self._mi_params(),
            bias_correction=self.bias_correction,
            chunk_size=self.chunk_size,
        )
        return float(np.mean(values))

    def _mi_params(self):
        return {
            "n_bins": self.n_bins,
            "zero_bin": True,
            "quantile_samples": self.quantile_samples,
            "random_state": self.random_state,
        }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
