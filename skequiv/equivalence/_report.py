"""The equivalence report: held-out scores both ways, a permutation null, a verdict."""

import numbers
import sys
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

from skequiv._compat import Interval, StrOptions, validate_params
from skequiv.equivalence._network_transform import NetworkTransform, _check_metadata
from skequiv.equivalence._representation import centered_log_ratio, is_probability
from skequiv.equivalence._scores import (
    _CONSTANT_TOL,
    equivalence_r2,
    relative_rmse,
)
from skequiv.utils._validation import check_varying_target

VERDICTS = ("equivalent", "one-way", "not equivalent", "inconclusive")


@dataclass(repr=False, eq=False)
class EquivalenceReport:
    """Result of :func:`equivalence_report`: is B a function of A, and A of B?

    Each direction's status (``status_ab``, ``status_ba``) is decided from its
    bootstrap interval and permutation test: **holds** when the whole
    interval reaches ``tolerance`` and the permutation p-value is at most
    ``significance_level``; **fails** when the whole interval lies below
    ``tolerance``; else **undecided**. The verdict: **equivalent** when both
    hold; **one-way** when one holds and the other fails (``direction`` says
    which: ``"A->B"`` means B's activations are a function of A's, not the
    converse); **not equivalent** when both fail; **inconclusive** otherwise.

    Attributes
    ----------
    names : tuple of str
        Names of the two networks, ``("A", "B")`` by default.
    score_ab, score_ba : float
        Held-out R² of T_{A→B} (predicting B from A) and of T_{B→A}.
    interval_ab, interval_ba : tuple of float
        Bootstrap percentile confidence intervals of those scores (test
        samples resampled with replacement, the fitted transforms kept).
    confidence_level : float
        Level of the intervals.
    p_value_ab, p_value_ba : float
        Permutation p-values, ``(1 + #{null ≥ observed}) / (1 + n_permutations)``,
        where the null refits the transform after shuffling which B sample
        goes with which A sample among the training pairs, and scores it on
        the (unshuffled) held-out pairs.
    p_value : float
        ``max(p_value_ab, p_value_ba)``: the correspondence is significant
        only if it is significant both ways (a valid, conservative test).
    null_scores_ab, null_scores_ba : ndarray of shape (n_permutations,)
        Held-out R² of the refits on shuffled pairs.
    cycle_error_a, cycle_error_b : float
        Relative RMSE (0 perfect, about 1 uninformative) of the cycles
        T_{B→A} ∘ T_{A→B} on A's held-out activations and
        T_{A→B} ∘ T_{B→A} on B's.
    spectrum_a, spectrum_b : ndarray or None
        Eigenvalues of A's and B's embeddings (when the embedding has
        ``eigenvalues_``).
    coordinate_correlations : ndarray or None
        ``|corr(ψ_k^A, ψ_k^B)|`` of the embedding coordinates on the training
        samples: near 1 when both networks see the same intrinsic coordinates.
    tolerance : float
        The R² both directions must reach.
    significance_level : float
        The level the permutation p-values must reach.
    status_ab, status_ba : {"holds", "fails", "undecided"}
        Whether each direction is a function, from its interval and p-value.
    verdict : {"equivalent", "one-way", "not equivalent", "inconclusive"}
    direction : {"A->B", "B->A"} or None
        For a one-way verdict, the direction that works.
    n_train, n_test, n_permutations, n_bootstrap : int
    transform_ab, transform_ba : NetworkTransform
        The transforms fitted on the training pairs; their
        ``selected_transform_`` and ``candidate_scores_`` say which map each
        direction chose and why (also as :attr:`selected_ab` etc.).
    support_ab, support_ba : ndarray or None
        Neurons of A (resp. B) selected by the selector, or None.
    selector_scores_ab, selector_scores_ba : ndarray or None
        The selectors' ``scores_`` (score against the number of neurons).
    train_index, test_index : ndarray
        The split of the samples.
    test_a, test_b, predicted_b, predicted_a : ndarray
        Held-out activations and their predictions (for the plots).
    coords_a, coords_b : ndarray or None
        Embedding coordinates of the training samples of A and of B.
    color : ndarray or None
        Per-sample values (e.g. the true input) to colour plots with.
    """

    names: tuple
    score_ab: float
    score_ba: float
    interval_ab: tuple
    interval_ba: tuple
    confidence_level: float
    p_value_ab: float
    p_value_ba: float
    p_value: float
    null_scores_ab: np.ndarray
    null_scores_ba: np.ndarray
    cycle_error_a: float
    cycle_error_b: float
    spectrum_a: np.ndarray | None
    spectrum_b: np.ndarray | None
    coordinate_correlations: np.ndarray | None
    tolerance: float
    significance_level: float
    status_ab: str
    status_ba: str
    verdict: str
    direction: str | None
    n_train: int
    n_test: int
    n_permutations: int
    n_bootstrap: int
    transform_ab: NetworkTransform = field(default=None)
    transform_ba: NetworkTransform = field(default=None)
    support_ab: np.ndarray | None = None
    support_ba: np.ndarray | None = None
    selector_scores_ab: np.ndarray | None = None
    selector_scores_ba: np.ndarray | None = None
    train_index: np.ndarray | None = None
    test_index: np.ndarray | None = None
    test_a: np.ndarray | None = None
    test_b: np.ndarray | None = None
    predicted_b: np.ndarray | None = None
    predicted_a: np.ndarray | None = None
    coords_a: np.ndarray | None = None
    coords_b: np.ndarray | None = None
    color: np.ndarray | None = None

    @property
    def equivalent(self):
        """Whether the verdict is "equivalent"."""
        return self.verdict == "equivalent"

    @property
    def p_value_floor(self):
        """The smallest attainable p-value, ``1 / (n_permutations + 1)``."""
        return 1.0 / (self.n_permutations + 1)

    @property
    def selected_ab(self):
        """The candidate map T_{A→B} uses ("intrinsic", "kernel_ridge", ...)."""
        return getattr(self.transform_ab, "selected_transform_", None)

    @property
    def selected_ba(self):
        """The candidate map T_{B→A} uses."""
        return getattr(self.transform_ba, "selected_transform_", None)

    @property
    def candidate_scores_ab(self):
        """Inner-CV R² of each candidate for A→B (training pairs only)."""
        return dict(getattr(self.transform_ab, "candidate_scores_", {}))

    @property
    def candidate_scores_ba(self):
        """Inner-CV R² of each candidate for B→A."""
        return dict(getattr(self.transform_ba, "candidate_scores_", {}))

    def __repr__(self):
        a, b = self.names
        return (
            f"EquivalenceReport(verdict={self.verdict!r}, "
            f"direction={self.direction!r}, R²({a}→{b})={self.score_ab:.4f}, "
            f"R²({b}→{a})={self.score_ba:.4f}, "
            f"p={self.p_value:.3g})"
        )

    def verdict_sentence(self):
        """The verdict in one sentence, with its reason."""
        a, b = self.names
        tol = self.tolerance
        ab = f"{a}→{b} {self.score_ab:.3f} ({self.status_ab})"
        ba = f"{b}→{a} {self.score_ba:.3f} ({self.status_ba})"
        if self.verdict == "equivalent":
            return f"equivalent: held-out R² ≥ {tol:g} both ways ({ab}, {ba})"
        if self.verdict == "one-way":
            src, dst = (a, b) if self.direction == "A->B" else (b, a)
            return (
                f"one-way: {dst} is a function of {src}, not the converse "
                f"({ab}, {ba}; tolerance {tol:g})"
            )
        if self.verdict == "not equivalent":
            return f"not equivalent: held-out R² < {tol:g} both ways ({ab}, {ba})"
        return (
            f"inconclusive: the intervals or the permutation test cannot decide "
            f"at tolerance {tol:g} ({ab}, {ba}); more samples narrow the intervals"
        )

    def __str__(self):
        a, b = self.names
        pct = f"{100 * self.confidence_level:g}%"

        # say "not run" rather than print the p = 1 and NaN interval that
        # zero permutations and zero bootstrap samples formally give
        def interval(bounds):
            if np.isnan(bounds[0]):
                return f"{pct} CI not computed"
            return f"{pct} CI [{bounds[0]:.4f}, {bounds[1]:.4f}]"

        def p_text(p_value):
            if self.n_permutations == 0:
                return "permutation test not run"
            return f"permutation p = {p_value:.3g}"

        def chosen(transform_name, scores):
            if not scores or all(np.isnan(v) for v in scores.values()):
                return transform_name
            text = ", ".join(f"{k} {v:.4f}" for k, v in scores.items())
            return f"{transform_name}   (inner-CV R²: {text})"

        lines = [
            f"Equivalence report: {a} vs {b}",
            f"  samples            {self.n_train} train / {self.n_test} held out; "
            f"tolerance R² ≥ {self.tolerance:g}",
            "  held-out R²        "
            f"{a}→{b} {self.score_ab:8.4f}   {interval(self.interval_ab)}   "
            f"{p_text(self.p_value_ab)}",
            "                     "
            f"{b}→{a} {self.score_ba:8.4f}   {interval(self.interval_ba)}   "
            f"{p_text(self.p_value_ba)}",
        ]
        lines += [
            f"  transform chosen   {a}→{b} "
            f"{chosen(self.selected_ab, self.candidate_scores_ab)}",
            f"                     {b}→{a} "
            f"{chosen(self.selected_ba, self.candidate_scores_ba)}",
        ]
        if self.n_permutations:
            lines.append(
                f"  permutation null   {self.n_permutations} shuffles of the "
                f"training pairs (p-value floor 1/{self.n_permutations + 1} = "
                f"{self.p_value_floor:.3g}); null R² {a}→{b} max "
                f"{_fmax(self.null_scores_ab)}, {b}→{a} max "
                f"{_fmax(self.null_scores_ba)}"
            )
        lines += [
            "  cycle error        "
            f"{a}→{b}→{a} {self.cycle_error_a:.4f}   {b}→{a}→{b} "
            f"{self.cycle_error_b:.4f}   (relative RMSE)",
        ]
        if self.spectrum_a is not None or self.spectrum_b is not None:
            lines.append(f"  spectrum {a:<9} {_fvec(self.spectrum_a)}")
            lines.append(f"  spectrum {b:<9} {_fvec(self.spectrum_b)}")
        if self.coordinate_correlations is not None:
            lines.append(
                f"  |corr(ψ_k^{a}, ψ_k^{b})| {_fvec(self.coordinate_correlations)}"
            )
        if self.support_ab is not None:
            lines.append(
                f"  neurons used       {a}→{b}: {len(self.support_ab)} of {a}'s "
                f"{_list(self.support_ab)}"
            )
        if self.support_ba is not None:
            lines.append(
                f"                     {b}→{a}: {len(self.support_ba)} of {b}'s "
                f"{_list(self.support_ba)}"
            )
        lines.append(f"  verdict            {self.verdict_sentence()}")
        return "\n".join(lines)

    def plot(
        self, kind="summary", *, color=None, color_label=None, cmap=None, **kwargs
    ):
        """Draw the report's figures (needs matplotlib).

        Parameters
        ----------
        kind : {"summary", "scores", "null", "candidates", "spectra", \
"embeddings", "reconstruction", "selection"}
            ``"scores"``: held-out R² with intervals against the tolerance;
            ``"null"``: the permutation null against the observed R²;
            ``"candidates"``: each candidate map's inner-CV R²; ``"spectra"``,
            ``"embeddings"`` (the diffusion coordinates), ``"reconstruction"``
            (predicted against true held-out activations), ``"selection"``
            (score against the number of selected neurons). ``"summary"`` puts
            every panel the report has data for in one figure.
        color : array-like of shape (n_samples,), default=None
            Values (e.g. the true input) to colour the embeddings with;
            defaults to the report's ``color``.
        color_label : str, default=None
            What ``color`` is, for the colour bar (e.g. ``"angle (rad)"``).
        cmap : str, default=None
            Colour map of ``color``; a cyclic one (``"twilight"``) for angles.
        **kwargs
            Passed to :func:`matplotlib.pyplot.figure`.

        Returns
        -------
        fig : matplotlib.figure.Figure
        """
        from skequiv.equivalence._plotting import plot_report

        return plot_report(
            self, kind=kind, color=color, color_label=color_label, cmap=cmap, **kwargs
        )


def _fmax(values):
    values = np.asarray(values)
    return f"{values.max():.3f}" if values.size else "n/a"


def _fvec(values, n=8):
    if values is None:
        return "n/a"
    values = np.asarray(values, dtype=float)
    text = " ".join(f"{v:.4f}" for v in values[:n])
    return text + (" ..." if values.size > n else "")


def _list(values, n=12):
    values = [int(v) for v in values]
    text = ", ".join(str(v) for v in values[:n])
    return "[" + text + (", ..." if len(values) > n else "") + "]"


# ----------------------------------------------------------------- verdict
def direction_status(score, interval, p_value, *, tolerance, significance_level):
    """Whether one direction is a function: "holds", "fails" or "undecided".

    "holds" when the whole confidence interval reaches ``tolerance`` and the
    permutation test rejects a random pairing at ``significance_level`` (a test
    with zero permutations is not asked); "fails" when the whole interval lies
    below ``tolerance``; otherwise "undecided". Without an interval (zero
    bootstrap resamples) the point estimate stands for it; ``p_value=None``
    means no permutation test was run.
    """
    low, high = interval
    if not (np.isfinite(low) and np.isfinite(high)):
        low = high = score
    if high < tolerance:
        return "fails"
    if low >= tolerance and (p_value is None or p_value <= significance_level):
        return "holds"
    return "undecided"


def decide_verdict(status_ab, status_ba):
    """``(verdict, direction)`` from the two directions' statuses."""
    if status_ab == status_ba == "holds":
        return "equivalent", None
    if status_ab == status_ba == "fails":
        return "not equivalent", None
    if {status_ab, status_ba} == {"holds", "fails"}:
        return "one-way", "A->B" if status_ab == "holds" else "B->A"
    return "inconclusive", None


def _permutation_p_value(observed, null):
    null = np.asarray(null, dtype=float)
    return float((1 + np.sum(null >= observed)) / (1 + null.size))


def _bootstrap_interval(y_true, y_pred, n_bootstrap, level, rng):
    """Percentile interval of :func:`equivalence_r2` over resampled test pairs."""
    n = y_true.shape[0]
    if n_bootstrap == 0:
        return (np.nan, np.nan)
    y_true = y_true.reshape(n, -1)
    y_pred = y_pred.reshape(n, -1)
    indices = [rng.randint(0, n, size=n) for _ in range(n_bootstrap)]
    scores = np.concatenate(
        [
            _resampled_r2(y_true, y_pred, np.array(indices[i : i + _BOOTSTRAP_BLOCK]))
            for i in range(0, n_bootstrap, _BOOTSTRAP_BLOCK)
        ]
    )
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(scores, [tail, 100 - tail])
    return (float(lo), float(hi))


# resamples scored together (memory: block × n_test × n_outputs floats)
_BOOTSTRAP_BLOCK = 50


def _resampled_r2(y_true, y_pred, index):
    """:func:`equivalence_r2` of each row of ``index`` (resamples), vectorised."""
    truth, pred = y_true[index], y_pred[index]  # (block, n, m)
    residual = np.sum((truth - pred) ** 2, axis=1)
    total = np.sum((truth - truth.mean(axis=1, keepdims=True)) ** 2, axis=1)
    var = total / truth.shape[1]
    varying = var > _CONSTANT_TOL * var.max(axis=1, keepdims=True)
    r2 = 1 - residual / np.where(varying, total, 1.0)
    counts = varying.sum(axis=1)
    scores = np.where(varying, r2, 0.0).sum(axis=1) / np.maximum(counts, 1)
    # every output constant in a resample: the scalar definition decides
    for i in np.flatnonzero(counts == 0):
        scores[i] = equivalence_r2(truth[i], pred[i])
    return scores


# ------------------------------------------------------------------- inputs
def _is_source(obj):
    # a network source is an estimator over inputs; a DataFrame has a
    # ``transform`` method too, but no ``fit``
    return callable(getattr(obj, "fit", None)) and callable(
        getattr(obj, "transform", None)
    )


def _reject_bare_modules(a, b):
    for name, obj in (("a", a), ("b", b)):
        if callable(getattr(obj, "forward", None)) and callable(
            getattr(obj, "parameters", None)
        ):
            raise TypeError(
                f"{name} is a bare torch module ({type(obj).__name__}); wrap it in a "
                "network source that says which layer to compare, e.g. "
                f"NetworkActivations({name}, layers=('output',)), and pass the "
                "inputs as X."
            )


@dataclass
class _Pair:
    """The paired data: two sources and inputs, or two activation arrays."""

    a: object
    b: object
    X: np.ndarray | None = None
    meta_a: dict = field(default_factory=dict)
    meta_b: dict = field(default_factory=dict)

    @property
    def network(self):
        return self.X is not None

    @property
    def n_samples(self):
        return (self.X if self.network else self.a).shape[0]


def _network_pair(a, b, X, metric_data):
    if not (_is_source(a) and _is_source(b)):
        raise ValueError(
            "Pass either two activation arrays or two network sources as a and b; "
            f"got {type(a).__name__} and {type(b).__name__}."
        )
    if X is None:
        raise ValueError("The network path (sources a and b) needs inputs X.")
    if any(m is not None for m in metric_data):
        raise ValueError(
            "jacobians/covariances are computed from the sources on the network "
            "path; do not pass them."
        )
    X = check_array(X, allow_nd=True, dtype="numeric", input_name="X")
    return _Pair(a, b, X)


def _array_pair(a, b, metric_data, representation):
    Xa = check_array(a, dtype=np.float64, ensure_2d=False, input_name="a")
    Xb = check_array(b, dtype=np.float64, ensure_2d=False, input_name="b")
    Xa, Xb = Xa.reshape(Xa.shape[0], -1), Xb.reshape(Xb.shape[0], -1)
    if Xa.shape[0] != Xb.shape[0]:
        raise ValueError(
            f"a and b must be paired samples; got {Xa.shape[0]} and {Xb.shape[0]} rows."
        )
    # named here: inside NetworkTransform the sides are called X and y
    Xa = check_varying_target(Xa, name="a", what="A's activations")
    Xb = check_varying_target(Xb, name="b", what="B's activations")
    if representation == "auto":
        Xa, Xb = (centered_log_ratio(v) if is_probability(v) else v for v in (Xa, Xb))
    jac_a, jac_b, cov_a, cov_b = metric_data
    meta_a = _check_metadata(jac_a, cov_a, *Xa.shape, where="equivalence_report(a)")
    meta_b = _check_metadata(jac_b, cov_b, *Xb.shape, where="equivalence_report(b)")
    if representation == "auto" and (
        (meta_a and is_probability(a)) or (meta_b and is_probability(b))
    ):
        raise ValueError(
            "Probabilities come with metric data: their centred log-ratio "
            "representation changes the Jacobians; pass the logits (and their "
            "Jacobians) instead, or representation='identity'."
        )
    return _Pair(Xa, Xb, None, meta_a, meta_b)


# ---------------------------------------------------------------- directions
@dataclass
class _Direction:
    """One fitted direction: its transform and held-out activations."""

    transform: NetworkTransform
    source_test: np.ndarray  # the mapped side's held-out activations
    target_test: np.ndarray  # the predicted side's held-out activations
    predicted: np.ndarray
    score: float
    # the mapped side's metric data at the held-out samples, for cycles
    source_metric: dict = field(default_factory=dict)
    null: np.ndarray | None = None


def _fit_direction(pair, template, train, test, reverse):
    """Fit T on the training pairs (A→B, or B→A when ``reverse``), score it."""
    src, dst = (pair.b, pair.a) if reverse else (pair.a, pair.b)
    if pair.network:
        t = clone(template).set_params(source_a=src, source_b=dst)
        t.fit(pair.X[train])
        X_test = pair.X[test]
        source_test = np.asarray(t.source_a_.transform(X_test), dtype=np.float64)
        target_test = np.asarray(t.source_b_.transform(X_test), dtype=np.float64)
        predicted = t.transform(X_test)
        source_metric = _metric_at(t.metric_source_, X_test)
    else:
        meta = pair.meta_b if reverse else pair.meta_a
        t = clone(template).fit(src[train], dst[train], **_take(meta, train))
        source_test, target_test = src[test], dst[test]
        source_metric = _take(meta, test)
        predicted = t.transform(source_test, **source_metric)
    score = equivalence_r2(target_test, predicted)
    return _Direction(t, source_test, target_test, predicted, score, source_metric)


def _metric_at(metric_source, X):
    """Metric data of ``metric_source`` at inputs ``X`` (empty without one)."""
    if metric_source is None:
        return {}
    md = metric_source.metric_data(X)
    if md.jacobians is not None:
        return {"jacobians": md.jacobians}
    return {"covariances": md.covariances}


def _permutation_null(direction, pair, test, perms, reverse):
    """Held-out R² of the direction's transform refitted on shuffled pairs."""
    t = direction.transform
    if not perms:
        return np.empty(0)
    if pair.network:
        return t.permutation_scores(pair.X[test], permutations=perms)
    meta = _take(pair.meta_b if reverse else pair.meta_a, test)
    return t.permutation_scores(
        direction.source_test, direction.target_test, permutations=perms, **meta
    )


def _cycle_errors(ab, ba):
    """Relative RMSE of T_BA ∘ T_AB on A's held-out activations, and conversely.

    The second map gets the metric data of the samples it is given, as the
    held-out score had it: without, a Mahalanobis embedding cannot tell apart
    inputs on the two sides of a fold, and the cycle measures another map.
    """
    return (
        relative_rmse(
            ab.source_test,
            ba.transform.predict_from_activations(ab.predicted, **ba.source_metric),
        ),
        relative_rmse(
            ba.source_test,
            ab.transform.predict_from_activations(ba.predicted, **ab.source_metric),
        ),
    )


def _training_coordinates(transform):
    """The embedding's coordinates of the training samples, if it has them."""
    coords = getattr(transform.embedding_, "embedding_", None)
    return coords if isinstance(coords, np.ndarray) else None


def _coordinate_correlations(coords_a, coords_b):
    if coords_a is None or coords_b is None:
        return None
    k = min(coords_a.shape[1], coords_b.shape[1])
    return np.array(
        [abs(np.corrcoef(coords_a[:, i], coords_b[:, i])[0, 1]) for i in range(k)]
    )


def _default_color(pair, color):
    if color is None and pair.network and pair.X.ndim == 2 and pair.X.shape[1] == 1:
        return pair.X[:, 0]
    if color is None:
        return None
    color = np.asarray(color, dtype=float).ravel()
    if color.shape[0] != pair.n_samples:
        raise ValueError(
            f"color must have {pair.n_samples} values, got {color.shape[0]}."
        )
    return color


def _take(metadata, index):
    return {key: value[index] for key, value in metadata.items()}


@validate_params(
    {
        "representation": [StrOptions({"auto", "identity"})],
        "tolerance": [Interval(numbers.Real, None, 1, closed="right")],
        "n_permutations": [Interval(numbers.Integral, 0, None, closed="left")],
        "n_bootstrap": [Interval(numbers.Integral, 0, None, closed="left")],
        "confidence_level": [Interval(numbers.Real, 0, 1, closed="neither")],
        "significance_level": [Interval(numbers.Real, 0, 1, closed="neither")],
        "test_size": [
            Interval(numbers.Real, 0, 1, closed="neither"),
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "n_jobs": [numbers.Integral, None],
    },
    prefer_skip_nested_validation=False,
)
def equivalence_report(
    a,
    b,
    X=None,
    *,
    selector=None,
    embedding=None,
    regressor=None,
    candidates="auto",
    representation="auto",
    tolerance=0.95,
    n_permutations=199,
    n_bootstrap=1000,
    confidence_level=0.95,
    significance_level=0.05,
    test_size=0.25,
    jacobians_a=None,
    jacobians_b=None,
    covariances_a=None,
    covariances_b=None,
    color=None,
    names=("A", "B"),
    n_jobs=None,
    verbose=False,
    random_state=None,
):
    """Test whether two networks are equivalent, with a verdict and a p-value.

    Splits the paired samples into training and held-out parts, fits the
    transform both ways (:class:`NetworkTransform`, A → B and B → A, each
    choosing its candidate map by cross-validation on the training pairs
    only), and reports on the held-out pairs: R² each way with a bootstrap
    interval, a permutation null with its p-value, the cycle errors, the
    embeddings' spectra side by side, and a verdict.

    The verdict weighs the uncertainty: a direction *holds* when its whole
    confidence interval reaches ``tolerance`` and the permutation test rejects
    a random pairing at ``significance_level``; it *fails* when its whole
    interval lies below ``tolerance``. Both hold: **equivalent**; one holds
    and the other fails: **one-way**; both fail: **not equivalent**; anything
    else: **inconclusive** (the data cannot tell; more samples narrow the
    intervals).

    Parameters
    ----------
    a, b : array-like of shape (n_samples, n_a) and (n_samples, n_b), or network sources
        Array path: the two networks' activations on the same inputs (row i
        of ``a`` and of ``b`` come from one input). Network path: two network
        sources (e.g. :class:`~skequiv.NetworkActivations`); each direction's
        :class:`NetworkTransform` computes their activations, and the
        Jacobians for the Mahalanobis metric, at ``X`` itself.
    X : array-like, default=None
        Network inputs; required on the network path, unused otherwise.
    selector, embedding, regressor : estimator, "passthrough" or None
        As in :class:`NetworkTransform`; cloned for each direction.
    candidates : "auto", str or list of str, default="auto"
        As in :class:`NetworkTransform`: the maps each direction chooses
        between (``"intrinsic"`` for the paper's construction alone).
    representation : {"auto", "identity"}, default="auto"
        Array path: ``"auto"`` compares class probabilities (rows on the
        probability simplex) through their centred log-ratios
        (:func:`centered_log_ratio`), in which the simplex's corners do not
        break kernels; ``"identity"`` uses the arrays as given. Compare
        logits or hidden layers where you can: probabilities saturate.
    tolerance : float, default=0.95
        Held-out R² a direction must reach to count as a function.
    n_permutations : int, default=199
        Shuffles for the permutation null; the smallest attainable p-value is
        ``1 / (1 + n_permutations)``. 0 skips the null (and the verdict rests
        on the intervals alone).
    n_bootstrap : int, default=1000
        Bootstrap resamples of the held-out pairs; 0 skips the intervals (and
        the verdict rests on the point estimates).
    confidence_level : float, default=0.95
        Level of the bootstrap intervals.
    significance_level : float, default=0.05
        Level at which the permutation test must reject a random pairing for
        a direction to hold.
    test_size : float or int, default=0.25
        Held-out fraction (or count) of the samples.
    jacobians_a, jacobians_b : array-like of shape (n_samples, n_a, d), default=None
        Array path: per-sample Jacobians of ``a`` (``b``) with respect to the
        intrinsic variables, for the Mahalanobis metric.
    covariances_a, covariances_b : array-like, default=None
        Array path: per-sample covariances instead.
    color : array-like of shape (n_samples,), default=None
        Values to colour the plots with (e.g. the true input). On the network
        path with a single input feature it defaults to that feature.
    names : tuple of two str, default=("A", "B")
        Names used when printing.
    n_jobs : int or None, default=None
        Ignored, and kept so that existing calls keep working: the permutation
        null is one stacked multi-output refit per direction, in this process.
    verbose : bool or int, default=False
        Say on stderr what is being fitted (each direction, the null).
    random_state : int, RandomState instance or None, default=None
        Seeds the split, the permutations, the bootstrap, the inner folds and
        the default embedding.

    Returns
    -------
    report : EquivalenceReport

    See Also
    --------
    NetworkTransform : The transform fitted in each direction.

    Notes
    -----
    The permutation null shuffles which B sample goes with which A sample
    among the training pairs, refits the transform and scores it on the
    (unshuffled) held-out pairs. It keeps the candidate each direction
    selected, its selected neurons and its data-chosen hyperparameters, and
    reuses everything computed from one side alone (the embedding and its
    eigendecomposition, the kernel features): only the final regression is
    refitted, all permutations at once as one multi-output problem
    (:meth:`NetworkTransform.permutation_scores`). The null thus conditions
    on the selected transform.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv import equivalence_report
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, size=(400, 1))
    >>> report = equivalence_report(
    ...     np.tanh(2 * x), x**3 + x, embedding="passthrough",
    ...     n_permutations=49, random_state=0)
    >>> report.verdict
    'equivalent'
    >>> report = equivalence_report(
    ...     x, x**2, embedding="passthrough", n_permutations=49, random_state=0)
    >>> report.verdict, report.direction
    ('one-way', 'A->B')
    """
    rng = check_random_state(random_state)
    names = _check_names(names)
    pair = _paired_data(
        a,
        b,
        X,
        (jacobians_a, jacobians_b, covariances_a, covariances_b),
        representation,
    )
    color = _default_color(pair, color)
    train, test = train_test_split(
        np.arange(pair.n_samples),
        test_size=test_size,
        random_state=rng.randint(2**31 - 1),
    )
    template = NetworkTransform(
        selector=selector,
        embedding=embedding,
        regressor=regressor,
        candidates=candidates,
        random_state=rng.randint(2**31 - 1),
    )
    say = _progress(verbose)
    say(f"fitting {names[0]}→{names[1]} and {names[1]}→{names[0]}")
    ab = _fit_direction(pair, template, train, test, reverse=False)
    ba = _fit_direction(pair, template, train, test, reverse=True)
    say(f"permutation null: {n_permutations} shuffles, one stacked refit each way")
    perms = [rng.permutation(len(train)) for _ in range(n_permutations)]
    ab.null = _permutation_null(ab, pair, test, perms, reverse=False)
    ba.null = _permutation_null(ba, pair, test, perms, reverse=True)
    intervals = [
        _bootstrap_interval(
            d.target_test, d.predicted, n_bootstrap, confidence_level, rng
        )
        for d in (ab, ba)
    ]
    return _assemble_report(
        ab,
        ba,
        intervals,
        names=names,
        tolerance=tolerance,
        confidence_level=confidence_level,
        significance_level=significance_level,
        n_bootstrap=n_bootstrap,
        train=train,
        test=test,
        color=color,
    )


def _progress(verbose):
    def say(text):
        if verbose:
            print(f"equivalence_report: {text}", file=sys.stderr, flush=True)

    return say


def _check_names(names):
    if len(names) != 2:
        raise ValueError(f"names must be two strings, got {names!r}.")
    return (str(names[0]), str(names[1]))


def _paired_data(a, b, X, metric_data, representation):
    _reject_bare_modules(a, b)
    if _is_source(a) or _is_source(b):
        pair = _network_pair(a, b, X, metric_data)
    else:
        pair = _array_pair(a, b, metric_data, representation)
    if pair.n_samples < _MIN_SAMPLES:
        raise ValueError(
            f"equivalence_report needs at least {_MIN_SAMPLES} paired samples (a "
            f"held-out part to score on, a training part to fit on); got "
            f"{pair.n_samples}."
        )
    return pair


# fewer paired samples leave no held-out part worth scoring
_MIN_SAMPLES = 8


def _assemble_report(ab, ba, intervals, **context):
    """The report of two fitted directions: p-values, statuses, the verdict."""
    p_ab = _permutation_p_value(ab.score, ab.null)
    p_ba = _permutation_p_value(ba.score, ba.null)
    rule = {
        "tolerance": context["tolerance"],
        "significance_level": context["significance_level"],
    }
    tested = len(ab.null) > 0
    status_ab = direction_status(
        ab.score, intervals[0], p_ab if tested else None, **rule
    )
    status_ba = direction_status(
        ba.score, intervals[1], p_ba if tested else None, **rule
    )
    verdict, direction = decide_verdict(status_ab, status_ba)
    t_ab, t_ba = ab.transform, ba.transform
    coords_a, coords_b = _training_coordinates(t_ab), _training_coordinates(t_ba)
    cycle_a, cycle_b = _cycle_errors(ab, ba)
    return EquivalenceReport(
        names=context["names"],
        score_ab=ab.score,
        score_ba=ba.score,
        interval_ab=intervals[0],
        interval_ba=intervals[1],
        confidence_level=float(context["confidence_level"]),
        p_value_ab=p_ab,
        p_value_ba=p_ba,
        p_value=max(p_ab, p_ba),
        null_scores_ab=ab.null,
        null_scores_ba=ba.null,
        cycle_error_a=cycle_a,
        cycle_error_b=cycle_b,
        spectrum_a=_spectrum(t_ab),
        spectrum_b=_spectrum(t_ba),
        coordinate_correlations=_coordinate_correlations(coords_a, coords_b),
        tolerance=float(context["tolerance"]),
        significance_level=float(context["significance_level"]),
        status_ab=status_ab,
        status_ba=status_ba,
        verdict=verdict,
        direction=direction,
        n_train=len(context["train"]),
        n_test=len(context["test"]),
        n_permutations=len(ab.null),
        n_bootstrap=int(context["n_bootstrap"]),
        transform_ab=t_ab,
        transform_ba=t_ba,
        support_ab=None if t_ab.selector_ is None else t_ab.support_,
        support_ba=None if t_ba.selector_ is None else t_ba.support_,
        selector_scores_ab=getattr(t_ab.selector_, "scores_", None),
        selector_scores_ba=getattr(t_ba.selector_, "scores_", None),
        train_index=context["train"],
        test_index=context["test"],
        test_a=ab.source_test,
        test_b=ab.target_test,
        predicted_b=ab.predicted,
        predicted_a=ba.predicted,
        coords_a=coords_a,
        coords_b=coords_b,
        color=context["color"],
    )


def _spectrum(transform):
    values = getattr(transform.embedding_, "eigenvalues_", None)
    return None if values is None else np.asarray(values)
