"""The equivalence report: held-out scores both ways, a permutation null, a verdict."""

import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.validation import check_array

from skequiv._compat import Interval, validate_params
from skequiv.equivalence._network_transform import (
    NetworkTransform,
    _check_metadata,
    _metadata_from,
    default_regressor,
)
from skequiv.equivalence._scores import equivalence_r2, relative_rmse

VERDICTS = ("equivalent", "one-way", "not equivalent")


@dataclass(repr=False, eq=False)
class EquivalenceReport:
    """Result of :func:`equivalence_report`: is B a function of A, and A of B?

    The verdict compares the held-out R² of the transform in each direction
    with ``tolerance``: **equivalent** when both directions reach it;
    **one-way** when only one does (``direction`` says which: ``"A->B"`` means
    B's activations are a function of A's, not the converse); **not
    equivalent** when neither does.

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
    verdict : {"equivalent", "one-way", "not equivalent"}
    direction : {"A->B", "B->A"} or None
        For a one-way verdict, the direction that works.
    n_train, n_test, n_permutations, n_bootstrap : int
    transform_ab, transform_ba : NetworkTransform
        The transforms fitted on the training pairs.
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
        if self.verdict == "equivalent":
            return (
                f"equivalent: held-out R² ≥ {tol:g} both ways ({a}→{b} "
                f"{self.score_ab:.3f}, {b}→{a} {self.score_ba:.3f})"
            )
        if self.verdict == "one-way":
            if self.direction == "A->B":
                src, dst, good, bad = a, b, self.score_ab, self.score_ba
            else:
                src, dst, good, bad = b, a, self.score_ba, self.score_ab
            return (
                f"one-way: {dst} is a function of {src} ({src}→{dst} R² "
                f"{good:.3f} ≥ {tol:g}) but not the converse ({dst}→{src} R² "
                f"{bad:.3f} < {tol:g})"
            )
        return (
            f"not equivalent: held-out R² < {tol:g} both ways ({a}→{b} "
            f"{self.score_ab:.3f}, {b}→{a} {self.score_ba:.3f})"
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
        if self.n_permutations:
            lines.append(
                f"  permutation null   {self.n_permutations} shuffles of the "
                f"training pairs; null R² {a}→{b} max "
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

    def plot(self, kind="summary", *, color=None, **kwargs):
        """Draw the report's figures (needs matplotlib).

        Parameters
        ----------
        kind : {"summary", "spectra", "embeddings", "reconstruction", "selection"}
            ``"summary"`` puts every available panel in one figure.
        color : array-like of shape (n_samples,), default=None
            Values (e.g. the true input) to colour the embeddings with;
            defaults to the report's ``color``.
        **kwargs
            Passed to :func:`matplotlib.pyplot.figure`.

        Returns
        -------
        fig : matplotlib.figure.Figure
        """
        from skequiv.equivalence import _plotting

        return _plotting.plot_report(self, kind=kind, color=color, **kwargs)


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


def _verdict(score_ab, score_ba, tolerance):
    ok_ab, ok_ba = score_ab >= tolerance, score_ba >= tolerance
    if ok_ab and ok_ba:
        return "equivalent", None
    if ok_ab:
        return "one-way", "A->B"
    if ok_ba:
        return "one-way", "B->A"
    return "not equivalent", None


def _permutation_p_value(observed, null):
    null = np.asarray(null, dtype=float)
    return float((1 + np.sum(null >= observed)) / (1 + null.size))


def _bootstrap_interval(y_true, y_pred, n_bootstrap, level, rng):
    n = y_true.shape[0]
    if n_bootstrap == 0:
        return (np.nan, np.nan)
    scores = np.empty(n_bootstrap)
    for i in range(n_bootstrap):
        idx = rng.randint(0, n, size=n)
        scores[i] = equivalence_r2(y_true[idx], y_pred[idx])
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(scores, [tail, 100 - tail])
    return (float(lo), float(hi))


def _unsupervised_embedding(transform):
    """Whether the fitted embedding ignores y, so permutations may reuse it."""
    if transform.selector_ is not None:
        return False
    emb = transform.embedding_
    if emb is None:
        return True
    try:
        return not get_tags(emb).target_tags.required
    except (AttributeError, TypeError):  # pragma: no cover
        return False


def _null_refit_regressor(regressor, Z_train, y_train, Z_test, y_test, perm):
    est = clone(regressor).fit(Z_train, y_train[perm])
    return equivalence_r2(y_test, est.predict(Z_test))


def _null_refit_all(
    template, X_train, y_train, meta_train, X_test, y_test, meta_test, perm
):
    est = clone(template).fit(X_train, y_train[perm], **meta_train)
    return equivalence_r2(y_test, est.predict(X_test, **meta_test))


def _permutation_null(
    transform,
    template,
    X_tr,
    y_tr,
    m_tr,
    X_te,
    y_te,
    m_te,
    perms,
    n_jobs,
    verbose,
    desc,
):
    if _unsupervised_embedding(transform):
        # y enters only the regressor: refit that alone on the fixed coordinates
        Z_tr = transform._coordinates(X_tr, m_tr)
        Z_te = transform._coordinates(X_te, m_te)
        regressor = (
            transform.regressor
            if transform.regressor is not None
            else (default_regressor())
        )
        tasks = (
            delayed(_null_refit_regressor)(regressor, Z_tr, y_tr, Z_te, y_te, p)
            for p in perms
        )
    else:
        tasks = (
            delayed(_null_refit_all)(template, X_tr, y_tr, m_tr, X_te, y_te, m_te, p)
            for p in perms
        )
    results = Parallel(n_jobs=n_jobs, return_as="generator")(tasks)
    if verbose:
        from tqdm.auto import tqdm

        results = tqdm(results, total=len(perms), desc=desc, leave=False)
    return np.fromiter(results, dtype=float, count=len(perms))


def _take(metadata, index):
    return {key: value[index] for key, value in metadata.items()}


def _training_coordinates(transform, X, metadata):
    if transform.embedding_ is None:
        return None
    emb = transform.embedding_
    coords = getattr(emb, "embedding_", None)
    if isinstance(coords, np.ndarray) and coords.shape[0] == X.shape[0]:
        return coords
    return transform._coordinates(X, metadata)


def _is_source(obj):
    return not isinstance(obj, np.ndarray | list | tuple) and callable(
        getattr(obj, "transform", None)
    )


@validate_params(
    {
        "tolerance": [Interval(numbers.Real, None, 1, closed="right")],
        "n_permutations": [Interval(numbers.Integral, 0, None, closed="left")],
        "n_bootstrap": [Interval(numbers.Integral, 0, None, closed="left")],
        "confidence_level": [Interval(numbers.Real, 0, 1, closed="neither")],
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
    tolerance=0.95,
    n_permutations=199,
    n_bootstrap=1000,
    confidence_level=0.95,
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
    transform both ways (:class:`NetworkTransform`, A → B and B → A) on the
    training pairs, and reports on the held-out pairs: R² each way with a
    bootstrap interval, a permutation null (the training pairs' sample
    correspondence shuffled, the transform refitted, scored on the held-out
    pairs) with its p-value, the cycle errors, the embeddings' spectra side by
    side and a verdict at the stated ``tolerance``.

    Parameters
    ----------
    a, b : array-like of shape (n_samples, n_a) and (n_samples, n_b), or network sources
        Array path: the two networks' activations on the same inputs (row i
        of ``a`` and of ``b`` come from one input). Network path: two network
        sources (e.g. :class:`~skequiv.NetworkActivations`); their
        activations, and the Jacobians for the Mahalanobis metric, are
        computed at ``X``.
    X : array-like, default=None
        Network inputs; required on the network path, unused otherwise.
    selector, embedding, regressor : estimator, "passthrough" or None
        As in :class:`NetworkTransform`; cloned for each direction.
    tolerance : float, default=0.95
        Held-out R² a direction must reach to count as a function.
    n_permutations : int, default=199
        Shuffles for the permutation null; the smallest attainable p-value is
        ``1 / (1 + n_permutations)``. 0 skips the null (p-values 1).
    n_bootstrap : int, default=1000
        Bootstrap resamples of the held-out pairs; 0 skips the intervals.
    confidence_level : float, default=0.95
        Level of the bootstrap intervals.
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
        Parallel jobs for the permutation refits (joblib).
    verbose : bool or int, default=False
        Show progress bars (tqdm) for the permutation refits.
    random_state : int, RandomState instance or None, default=None
        Seeds the split, the permutations, the bootstrap and the default
        embedding.

    Returns
    -------
    report : EquivalenceReport

    See Also
    --------
    NetworkTransform : The transform fitted in each direction.

    Notes
    -----
    On the network path the activations of each source, and their metric data
    (Jacobians of all its neurons) when the embedding takes it, are computed
    once at ``X``; the transforms are then fitted on those arrays, so the
    permutation refits never rerun the networks. For wide layers of image
    networks that metric data is large (n × neurons × pixels); restrict the
    source with its ``neurons`` parameter.

    When no selector is used and the embedding is unsupervised, the embedding
    does not depend on the sample correspondence, so each permutation refits
    only the regressor on the fixed coordinates (exactly what a full refit
    would compute, much faster); otherwise the whole transform is refitted.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neighbors import KNeighborsRegressor
    >>> from skequiv import equivalence_report
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, size=(400, 1))
    >>> report = equivalence_report(
    ...     np.tanh(2 * x), x**3 + x, embedding="passthrough",
    ...     regressor=KNeighborsRegressor(5), n_permutations=49, random_state=0)
    >>> report.verdict
    'equivalent'
    >>> report = equivalence_report(
    ...     x, x**2, embedding="passthrough",
    ...     regressor=KNeighborsRegressor(5), n_permutations=49, random_state=0)
    >>> report.verdict, report.direction
    ('one-way', 'A->B')
    """
    rng = check_random_state(random_state)
    if len(names) != 2:
        raise ValueError(f"names must be two strings, got {names!r}.")
    names = (str(names[0]), str(names[1]))

    if _is_source(a) or _is_source(b):
        if not (_is_source(a) and _is_source(b)):
            raise ValueError(
                "Pass either two activation arrays or two network sources as a "
                f"and b; got {type(a).__name__} and {type(b).__name__}."
            )
        if X is None:
            raise ValueError("The network path (sources a and b) needs inputs X.")
        if any(
            m is not None
            for m in (jacobians_a, jacobians_b, covariances_a, covariances_b)
        ):
            raise ValueError(
                "jacobians/covariances are computed from the sources on the network "
                "path; do not pass them."
            )
        X_in = check_array(X, allow_nd=True, dtype="numeric", input_name="X")
        takes_metadata = embedding is None or (
            not isinstance(embedding, str)
            and NetworkTransform._embedding_takes_metadata(embedding)
        )
        acts, metas = [], []
        for source in (a, b):
            fitted = clone(source).fit(X_in)
            if takes_metadata and callable(getattr(fitted, "metric_data", None)):
                md = fitted.metric_data(X_in)
                acts.append(np.asarray(md.observations, dtype=np.float64))
                metas.append(_metadata_from(md))
            else:
                acts.append(np.asarray(fitted.transform(X_in), dtype=np.float64))
                metas.append({})
        Xa, Xb = (v.reshape(v.shape[0], -1) for v in acts)
        meta_a, meta_b = metas
        if color is None and X_in.ndim == 2 and X_in.shape[1] == 1:
            color = X_in[:, 0]
    else:
        Xa = check_array(a, dtype=np.float64, ensure_2d=False, input_name="a")
        Xb = check_array(b, dtype=np.float64, ensure_2d=False, input_name="b")
        Xa, Xb = Xa.reshape(Xa.shape[0], -1), Xb.reshape(Xb.shape[0], -1)
        if Xa.shape[0] != Xb.shape[0]:
            raise ValueError(
                f"a and b must be paired samples; got {Xa.shape[0]} and "
                f"{Xb.shape[0]} rows."
            )
        meta_a = _check_metadata(
            jacobians_a, covariances_a, *Xa.shape, where="equivalence_report(a)"
        )
        meta_b = _check_metadata(
            jacobians_b, covariances_b, *Xb.shape, where="equivalence_report(b)"
        )
    n = Xa.shape[0]
    if color is not None:
        color = np.asarray(color, dtype=float).ravel()
        if color.shape[0] != n:
            raise ValueError(f"color must have {n} values, got {color.shape[0]}.")

    train, test = train_test_split(
        np.arange(n), test_size=test_size, random_state=rng.randint(2**31 - 1)
    )
    template = NetworkTransform(
        selector=selector,
        embedding=embedding,
        regressor=regressor,
        random_state=rng.randint(2**31 - 1),
    )
    A_tr, A_te, B_tr, B_te = Xa[train], Xa[test], Xb[train], Xb[test]
    ma_tr, ma_te, mb_tr, mb_te = (
        _take(meta_a, train),
        _take(meta_a, test),
        _take(meta_b, train),
        _take(meta_b, test),
    )
    t_ab = clone(template).fit(A_tr, B_tr, **ma_tr)
    t_ba = clone(template).fit(B_tr, A_tr, **mb_tr)
    pred_b = t_ab.predict(A_te, **ma_te)
    pred_a = t_ba.predict(B_te, **mb_te)
    score_ab = equivalence_r2(B_te, pred_b)
    score_ba = equivalence_r2(A_te, pred_a)
    # predicted activations have no Jacobians: the Nyström extension uses the
    # one-sided distance for them
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*per-sample metric data.*")
        cycle_a = relative_rmse(A_te, t_ba.predict(pred_b))
        cycle_b = relative_rmse(B_te, t_ab.predict(pred_a))

    perms = [rng.permutation(len(train)) for _ in range(n_permutations)]
    null_ab = _permutation_null(
        t_ab,
        template,
        A_tr,
        B_tr,
        ma_tr,
        A_te,
        B_te,
        ma_te,
        perms,
        n_jobs,
        verbose,
        f"null {names[0]}→{names[1]}",
    )
    null_ba = _permutation_null(
        t_ba,
        template,
        B_tr,
        A_tr,
        mb_tr,
        B_te,
        A_te,
        mb_te,
        perms,
        n_jobs,
        verbose,
        f"null {names[1]}→{names[0]}",
    )
    p_ab = _permutation_p_value(score_ab, null_ab)
    p_ba = _permutation_p_value(score_ba, null_ba)

    interval_ab = _bootstrap_interval(B_te, pred_b, n_bootstrap, confidence_level, rng)
    interval_ba = _bootstrap_interval(A_te, pred_a, n_bootstrap, confidence_level, rng)

    spectrum_a = getattr(t_ab.embedding_, "eigenvalues_", None)
    spectrum_b = getattr(t_ba.embedding_, "eigenvalues_", None)
    coords_a = _training_coordinates(t_ab, A_tr, ma_tr)
    coords_b = _training_coordinates(t_ba, B_tr, mb_tr)
    correlations = None
    if coords_a is not None and coords_b is not None:
        k = min(coords_a.shape[1], coords_b.shape[1])
        correlations = np.array(
            [abs(np.corrcoef(coords_a[:, i], coords_b[:, i])[0, 1]) for i in range(k)]
        )
    verdict, direction = _verdict(score_ab, score_ba, tolerance)
    return EquivalenceReport(
        names=names,
        score_ab=score_ab,
        score_ba=score_ba,
        interval_ab=interval_ab,
        interval_ba=interval_ba,
        confidence_level=float(confidence_level),
        p_value_ab=p_ab,
        p_value_ba=p_ba,
        p_value=max(p_ab, p_ba),
        null_scores_ab=null_ab,
        null_scores_ba=null_ba,
        cycle_error_a=cycle_a,
        cycle_error_b=cycle_b,
        spectrum_a=None if spectrum_a is None else np.asarray(spectrum_a),
        spectrum_b=None if spectrum_b is None else np.asarray(spectrum_b),
        coordinate_correlations=correlations,
        tolerance=float(tolerance),
        verdict=verdict,
        direction=direction,
        n_train=len(train),
        n_test=len(test),
        n_permutations=int(n_permutations),
        n_bootstrap=int(n_bootstrap),
        transform_ab=t_ab,
        transform_ba=t_ba,
        support_ab=None if t_ab.selector_ is None else t_ab.support_,
        support_ba=None if t_ba.selector_ is None else t_ba.support_,
        selector_scores_ab=getattr(t_ab.selector_, "scores_", None),
        selector_scores_ba=getattr(t_ba.selector_, "scores_", None),
        train_index=train,
        test_index=test,
        test_a=A_te,
        test_b=B_te,
        predicted_b=pred_b,
        predicted_a=pred_a,
        coords_a=coords_a,
        coords_b=coords_b,
        color=color,
    )
