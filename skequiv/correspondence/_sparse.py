"""One-to-many correspondence: each unit of B from a few units of A (LASSO).

Everything is computed from streamed first and second moments: the LASSO
on standardised units needs only the correlation matrix of ``[A | B]``, so
after one pass over the samples its cost does not depend on their number,
and held-out errors follow from the held-out fold's moments in closed form.
"""

import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, lasso_path
from sklearn.model_selection import check_cv
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from skequiv._compat import Interval, _fit_context, validate_params
from skequiv.correspondence._statistics import (
    Moments,
    correlation_from_moments,
    streamed_moments,
    warn_constant_units,
)
from skequiv.correspondence._units import (
    LAYOUT_CONSTRAINTS,
    input_chunks,
    paired_units,
    validate_pair,
    validate_single,
    warn_constant,
)
from skequiv.utils._threads import one_thread

_CONSTANT = "it is left out of the prediction (coefficient 0)."


def _standardised_problem(moments):
    """Pseudo-data ``(X~, Y~)`` with the moments of the standardised units.

    With R the correlation matrix of ``[A | B]`` (p units) and ``Z`` a square
    root with ``ZᵀZ = p R``, scikit-learn's LASSO objective on ``Z``'s p rows,
    ``‖ỹ − X̃w‖² / 2p + α‖w‖₁``, equals the one on the n standardised
    samples, ``‖y − Xw‖² / 2n + α‖w‖₁``: the samples enter only through R.
    Returns ``(X~, Y~, gram)`` with ``gram = X~ᵀX~``.
    """
    R = correlation_from_moments(moments)
    p_a, p = moments.p_a, R.shape[0]
    eigenvalues, eigenvectors = np.linalg.eigh(R)
    Z = (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None) * p)).T
    X, Y = np.asfortranarray(Z[:, :p_a]), np.asfortranarray(Z[:, p_a:])
    return X, Y, X.T @ X


def _scales(moments):
    """Means and standard deviations of the units; 1 for constant units."""
    scale = moments.std.copy()
    scale[moments.constant] = 1.0
    return moments.mean.copy(), scale


def _heldout_r2(coef, mean, scale, test):
    """R² of each unit of B on the samples summarised by ``test`` (joint moments).

    The residual of unit j is linear in a sample's centred units,
    ``r = vⱼᵀ u`` with ``u = [a − μ_a; b − μ_b]`` (training means), so its
    sum of squares is ``vⱼᵀ Q vⱼ`` with ``Q = Σ u uᵀ``, which the test
    moments give without the samples. Returns (r2, test-constant mask of B).
    """
    p_a = coef.shape[1]
    offset = test.mean - mean
    Q = test.comoment + test.n * np.outer(offset, offset)
    V = np.vstack([-(coef / scale[:p_a]).T * scale[p_a:], np.eye(coef.shape[0])])
    sse = np.einsum("ij,ij->j", Q @ V, V)
    sst = test.m2[p_a:]
    constant = test.constant[p_a:]
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - sse / sst
    return r2, constant


def _mean_r2(r2, constant, sse_zero):
    """Mean R² over B's non-constant units (r2_score's convention if none)."""
    if constant.all():
        return 1.0 if sse_zero else 0.0
    return float(np.mean(r2[~constant]))


class SparseNeuronPrediction(RegressorMixin, BaseEstimator):
    """One-to-many correspondence: each unit of B from a few units of A (LASSO).

    Every unit of network B is predicted from all units of network A by a
    linear map with an L1 penalty, so that each unit of B connects to only a
    few units of A, as in the sparse prediction of Li et al.'s *Convergent
    Learning* [1]_. Units are standardised first (zero mean, unit variance),
    so ``alpha`` is in units of correlation and the coefficients compare
    across units. ``n_connections_`` counts the units of A each unit of B
    uses; :meth:`score` is the held-out R².

    Parameters
    ----------
    alpha : float, default=0.01
        L1 penalty of the LASSO on standardised units,
        ``‖y − Xw‖² / 2n + α‖w‖₁`` per unit of B. Larger means fewer
        connections; at ``alpha >= max |corr(A_i, B_j)|`` there are none.
        :func:`sparse_prediction_path` sweeps it.
    max_iter : int, default=1000
        Maximum coordinate-descent sweeps per unit of B.
    tol : float, default=1e-4
        Tolerance of the coordinate descent (scikit-learn's ``Lasso``).
    spatial_shape : tuple of int, default=None
        Spatial shape of conv activations flattened per input; see
        :class:`NeuronMatching`.
    chunk_size : int, default=None
        Samples per chunk; ``None`` chooses it from the number of units.

    Attributes
    ----------
    coef_ : ndarray of shape (p_B, p_A)
        Coefficients between standardised units: ``coef_[j, i]`` is the
        weight of unit i of A in the prediction of unit j of B.
    n_connections_ : ndarray of shape (p_B,), dtype int
        Non-zero coefficients of each unit of B (exact zeros of coordinate
        descent, no threshold).
    mean_a_, scale_a_ : ndarray of shape (p_A,)
        Means and standard deviations of A's units (1 for constant units).
    mean_b_, scale_b_ : ndarray of shape (p_B,)
        The same for B's units.
    constant_a_, constant_b_ : ndarray of bool
        Constant (dead) units: a constant unit of A gets no connection, a
        constant unit of B is predicted by its mean.
    n_iter_ : list of int
        Coordinate-descent sweeps for each unit of B.
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
    sparse_prediction_path : held-out error against connections along alpha.
    NeuronMatching : one-to-one correspondence.
    sklearn.linear_model.Lasso : the solver.

    Notes
    -----
    One streamed pass gives the means and the correlation matrix R of
    ``[A | B]``; the LASSO of standardised data depends on the samples only
    through R, so it is solved on ``p_A + p_B`` pseudo-samples ``Z`` with
    ``ZᵀZ = (p_A + p_B) R`` by scikit-learn's coordinate descent with the
    precomputed Gram matrix, all units of B in one call. The cost after the
    pass does not depend on the number of samples.

    Li et al. trained a 1×1 convolution with Caffe's L1 weight decay by
    stochastic gradient descent, whose weights hover around zero instead of
    reaching it, and whose normalisation was not released; their penalty
    ``λ`` therefore does not translate into this ``alpha``.

    References
    ----------
    .. [1] Y. Li, J. Yosinski, J. Clune, H. Lipson and J. Hopcroft,
       "Convergent learning: do different neural networks learn the same
       representations?", ICLR 2016, arXiv:1511.07543.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv import SparseNeuronPrediction
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(2000, 8))
    >>> B = np.column_stack([A[:, 0] + A[:, 3] + A[:, 5], 2 * A[:, 1] - 1])
    >>> model = SparseNeuronPrediction(alpha=1e-3).fit(A, B)
    >>> model.n_connections_
    array([3, 1])
    >>> [np.flatnonzero(row).tolist() for row in model.coef_]
    [[0, 3, 5], [1]]
    >>> round(model.score(A, B), 4)
    1.0
    """

    _parameter_constraints: ClassVar[dict] = {
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        **LAYOUT_CONSTRAINTS,
    }

    def __init__(
        self,
        alpha=0.01,
        *,
        max_iter=1000,
        tol=1e-4,
        spatial_shape=None,
        chunk_size=None,
    ):
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.spatial_shape = spatial_shape
        self.chunk_size = chunk_size

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the LASSO of every unit of B on all units of A.

        Parameters
        ----------
        X : array-like of shape (n_samples, p_A) or (n_inputs, p_A, ...)
            Activations of network A.
        y : array-like of shape (n_samples, p_B), (n_samples,) or \
                (n_inputs, p_B, ...)
            Activations of network B for the same inputs.

        Returns
        -------
        self : SparseNeuronPrediction
        """
        a, b, self._y_1d = validate_pair(self, X, y, reset=True)
        moments = streamed_moments(a, b, "joint", self.chunk_size)
        warn_constant_units(moments.constant, a, b, _CONSTANT)
        mean, scale = _scales(moments)
        p_a = a.n_units
        self.mean_a_, self.mean_b_ = mean[:p_a], mean[p_a:]
        self.scale_a_, self.scale_b_ = scale[:p_a], scale[p_a:]
        self.constant_a_ = moments.constant[:p_a]
        self.constant_b_ = moments.constant[p_a:]
        # small matrices (units, not samples): threads only add waiting
        with one_thread("blas"):
            Xp, Yp, gram = _standardised_problem(moments)
            lasso = Lasso(
                alpha=self.alpha,
                fit_intercept=False,
                precompute=gram,
                max_iter=self.max_iter,
                tol=self.tol,
            ).fit(Xp, Yp)
        self.coef_ = np.atleast_2d(lasso.coef_).astype(np.float64)
        self.n_iter_ = np.atleast_1d(lasso.n_iter_).tolist()
        self.n_connections_ = np.count_nonzero(self.coef_, axis=1)
        return self

    def predict(self, X):
        """B's activations predicted from A's.

        Parameters
        ----------
        X : array-like of shape (n_samples, p_A) or (n_inputs, p_A, ...)
            Activations of network A.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, p_B), (n_samples,) or \
                (n_inputs, p_B, ...)
            In the layout of the ``y`` given to :meth:`fit`.
        """
        check_is_fitted(self)
        a = validate_single(self, X)
        out = np.empty((a.n_samples, self.n_units_b_))
        for start, stop in input_chunks(a, self.chunk_size, a.n_units):
            rows = slice(start * a.n_positions, stop * a.n_positions)
            out[rows] = self._predict_block(a.block(start, stop))
        out = a.restore(out, a.n_inputs)
        return out.ravel() if self._y_1d else out

    def score(self, X, y):
        """Held-out R² of the prediction, averaged over B's units.

        Units of B that are constant on the data given are left out of the
        average (their R² is undefined); if all are, the score is 1 for an
        exact prediction and 0 otherwise, as in
        :func:`sklearn.metrics.r2_score`.

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
            Mean R² over B's units; larger is better, 1 is perfect.
        """
        check_is_fitted(self)
        a, b, _ = validate_pair(self, X, y, reset=False)
        sse = np.zeros(b.n_units)
        spread = Moments(b.n_units, 0, "cross")
        for start, stop in input_chunks(a, self.chunk_size, a.n_units + b.n_units):
            target = b.block(start, stop)
            sse += ((target - self._predict_block(a.block(start, stop))) ** 2).sum(0)
            spread.update(target)
        constant = spread.constant
        warn_constant(
            b.name, constant, "it is left out of the R² (its R² is undefined)."
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = 1.0 - sse / spread.m2
        return _mean_r2(r2, constant, not sse.any())

    def _predict_block(self, x):
        z = (x - self.mean_a_) / self.scale_a_
        return (z @ self.coef_.T) * self.scale_b_ + self.mean_b_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


@validate_params(
    {
        "A": ["array-like"],
        "B": ["array-like"],
        "alphas": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "eps": [Interval(Real, 0, 1, closed="neither")],
        "cv": ["cv_object"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        **LAYOUT_CONSTRAINTS,
    },
    prefer_skip_nested_validation=True,
)
def sparse_prediction_path(
    A,
    B,
    *,
    alphas=20,
    eps=1e-3,
    cv=5,
    max_iter=1000,
    tol=1e-4,
    spatial_shape=None,
    chunk_size=None,
):
    """Held-out prediction error against the number of connections, along alpha.

    Cross-validates :class:`SparseNeuronPrediction` over a grid of penalties
    and reports, for each, the held-out error (1 − R², the fraction of B's
    variance left unexplained) and the mean number of units of A that each
    unit of B uses: the paper's table of prediction error against L1
    penalty.

    Parameters
    ----------
    A : array-like of shape (n_samples, p_A) or (n_inputs, p_A, ...)
        Activations of network A.
    B : array-like of shape (n_samples, p_B) or (n_inputs, p_B, ...)
        Activations of network B for the same inputs.
    alphas : int or array-like, default=20
        The penalties, or how many, log-spaced from ``alpha_max`` (no
        connection) down to ``eps * alpha_max``.
    eps : float, default=1e-3
        Ratio of the smallest to the largest penalty of the default grid.
    cv : int, cross-validation splitter or iterable, default=5
        Folds over the *inputs* (all positions of a conv input stay in one
        fold). An int gives that many contiguous blocks
        (:class:`~sklearn.model_selection.KFold` without shuffling; shuffle
        the inputs first if their order is structured). The test folds of a
        splitter must partition the inputs, as KFold's and GroupKFold's do.
    max_iter : int, default=1000
        Maximum coordinate-descent sweeps per unit and penalty.
    tol : float, default=1e-4
        Tolerance of the coordinate descent.
    spatial_shape : tuple of int, default=None
        Spatial shape of conv activations flattened per input.
    chunk_size : int, default=None
        Samples per chunk.

    Returns
    -------
    path : :class:`~sklearn.utils.Bunch`
        ``alphas`` (n_alphas,), decreasing; ``error`` (n_alphas,), the held-out
        1 − R² averaged over B's non-constant units and the folds;
        ``n_connections`` (n_alphas,), the mean number of non-zero
        coefficients per unit of B, averaged over the folds;
        ``error_folds`` and ``n_connections_folds`` (n_folds, n_alphas), per
        fold.

    See Also
    --------
    SparseNeuronPrediction : the model at one penalty.
    plot_sparse_prediction_path : the curve of error against connections.

    Notes
    -----
    One streamed pass computes the moments of ``[A | B]`` on every fold. The
    training moments of a split are the folds' moments merged; the held-out
    residuals of every unit are quadratic forms of the test fold's moments.
    So after the pass nothing depends on the number of samples: each
    penalty costs one warm-started coordinate descent per unit of B on the
    ``p_A x p_A`` Gram matrix (:func:`~sklearn.linear_model.lasso_path`
    for each unit of B).

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv import sparse_prediction_path
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(1000, 10))
    >>> B = A[:, :3] @ rng.normal(size=(3, 4)) + 0.1 * rng.normal(size=(1000, 4))
    >>> path = sparse_prediction_path(A, B, alphas=5, cv=3)
    >>> path.alphas.shape, path.error.shape, path.n_connections.shape
    ((5,), (5,), (5,))
    >>> bool(path.error[-1] < 0.05 and path.n_connections[-1] <= 10)
    True
    """
    a, b = paired_units(A, B, spatial_shape)
    folds = _fold_ids(cv, a.n_inputs)
    parts = _fold_moments(a, b, folds, chunk_size)
    trains = [Moments.combine(parts[:f] + parts[f + 1 :]) for f in range(len(parts))]
    warn_constant_units(Moments.combine(parts).constant, a, b, _CONSTANT)

    with one_thread("blas"):
        return _path(a, b, parts, trains, alphas, eps, max_iter, tol)


def _path(a, b, parts, trains, alphas, eps, max_iter, tol):
    """The grid and the held-out errors from the folds' moments.

    Runs under a single BLAS thread: the matrices are small (units, not
    samples), and on few busy cores threads only add waiting.
    """
    n_folds = len(parts)
    problems = [_standardised_problem(train) for train in trains]
    if isinstance(alphas, Integral):
        alpha_max = max(
            np.abs(correlation_from_moments(t)[: a.n_units, a.n_units :]).max()
            for t in trains
        )
        alpha_max = max(alpha_max, np.finfo(float).tiny)
        alphas = np.geomspace(alpha_max, alpha_max * eps, alphas)
    alphas = np.sort(np.asarray(alphas, dtype=np.float64).ravel())[::-1]
    if alphas.size == 0 or not np.all(alphas > 0) or not np.isfinite(alphas).all():
        raise ValueError(f"alphas must be positive and finite; got {alphas!r}.")

    error = np.empty((n_folds, alphas.size))
    connections = np.empty((n_folds, alphas.size))
    for f, (train, (Xp, Yp, gram)) in enumerate(zip(trains, problems, strict=True)):
        mean, scale = _scales(train)
        # one warm-started path per unit of B: scikit-learn's multi-output
        # path is the group (multi-task) LASSO, not independent units
        coefs = np.empty((alphas.size, b.n_units, a.n_units))
        xy = Xp.T @ Yp
        with warnings.catch_warnings():
            # small penalties on collinear units converge slowly; the error
            # curve flattens there and says so by itself
            warnings.simplefilter("ignore", ConvergenceWarning)
            for j in range(b.n_units):
                _, coef, _ = lasso_path(
                    Xp,
                    np.asfortranarray(Yp[:, j]),
                    alphas=alphas,
                    precompute=gram,
                    Xy=np.ascontiguousarray(xy[:, j]),
                    max_iter=max_iter,
                    tol=tol,
                    check_input=False,  # built F-ordered float64 above
                )
                coefs[:, j] = coef.T
        for k in range(alphas.size):
            r2, constant = _heldout_r2(coefs[k], mean, scale, parts[f])
            error[f, k] = 1.0 - _mean_r2(r2, constant, False)
            connections[f, k] = np.count_nonzero(coefs[k], axis=1).mean()
    return Bunch(
        alphas=alphas,
        error=error.mean(axis=0),
        n_connections=connections.mean(axis=0),
        error_folds=error,
        n_connections_folds=connections,
    )


def _fold_ids(cv, n_inputs):
    """The test fold of every input, from ``cv``."""
    splitter = check_cv(cv)
    fold = np.full(n_inputs, -1)
    try:
        splits = list(splitter.split(np.zeros((n_inputs, 1))))
    except ValueError as exc:
        raise ValueError(f"cv={cv!r} cannot split {n_inputs} inputs ({exc}).") from exc
    for f, (_, test) in enumerate(splits):
        if (fold[test] >= 0).any():
            raise ValueError(
                f"cv={cv!r} has overlapping test folds; use a splitter whose "
                "test folds partition the inputs (KFold, GroupKFold)."
            )
        fold[test] = f
    if (fold < 0).any() or len(splits) < 2:
        raise ValueError(
            f"cv={cv!r} must give at least 2 test folds that cover every input "
            "(KFold, GroupKFold)."
        )
    return fold


def _fold_moments(a, b, folds, chunk_size):
    """Joint moments of ``[A | B]`` over each fold's inputs, in one pass."""
    n_folds = folds.max() + 1
    names = (a.name, b.name)
    parts = [Moments(a.n_units, b.n_units, "joint", names) for _ in range(n_folds)]
    for start, stop in input_chunks(a, chunk_size, a.n_units + b.n_units):
        xa, xb = a.block(start, stop), b.block(start, stop)
        sample_fold = np.repeat(folds[start:stop], a.n_positions)
        for f in np.unique(sample_fold):
            rows = sample_fold == f
            parts[f].update(xa[rows], xb[rows])
    return parts
