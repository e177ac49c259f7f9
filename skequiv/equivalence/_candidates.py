"""The candidate maps NetworkTransform chooses between, and their null refits.

Three candidates map A's (selected) activations to B's:

- ``"intrinsic"``: the paper's construction, intrinsic coordinates (a
  Mahalanobis diffusion map) followed by geometric harmonics;
- ``"kernel_ridge"``: kernel ridge regression on the standardised
  activations (a Gaussian kernel, Nyström features, ridge chosen by
  leave-one-out);
- ``"ridge"``: a linear ridge map on the standardised activations.

A permutation null only re-pairs the samples: everything computed from A's
side alone (standardisation, Nyström features, the embedding and the
regressor's kernel eigendecomposition) is fixed, and every permutation's
targets are fitted at once as the columns of one multi-output problem.
"""

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin, clone
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

CANDIDATES = ("intrinsic", "kernel_ridge", "ridge")

# ridge strengths searched by leave-one-out (standardised features)
_RIDGE_ALPHAS = np.logspace(-6, 4, 21)
_KERNEL_RIDGE_ALPHAS = np.logspace(-8, 2, 21)
# Nyström landmarks: enough to resolve ten clusters of classifier outputs and
# smooth hidden layers; cost O(n · 400²)
_N_LANDMARKS = 400
# columns of one stacked null refit (permutations × outputs), to bound memory
_NULL_BLOCK_COLUMNS = 2048


class MedianGaussianFeatures(TransformerMixin, BaseEstimator):
    """Nyström features of a Gaussian kernel scaled by the median distance.

    ``k(x, x') = exp(-‖x - x'‖² / (scale · m))`` with ``m`` the median squared
    distance between training points (on a subsample of 1,000), so the
    kernel's width follows the data without a unit to choose.

    Parameters
    ----------
    scale : float, default=1.0
        Multiplies the median squared distance.
    n_components : int, default=400
        Landmarks of the Nyström approximation (capped at the sample count).
    random_state : int, RandomState instance or None, default=None
        Seeds the landmarks and the subsample.
    """

    def __init__(self, scale=1.0, n_components=_N_LANDMARKS, random_state=None):
        self.scale = scale
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        rng = check_random_state(self.random_state)
        sample = X[rng.choice(X.shape[0], min(1000, X.shape[0]), replace=False)]
        sq = np.sum(sample**2, axis=1)
        d2 = sq[:, None] + sq[None, :] - 2 * sample @ sample.T
        off_diagonal = d2[np.triu_indices(sample.shape[0], k=1)]
        positive = np.maximum(off_diagonal, 0.0)
        median = float(np.median(positive)) if positive.size else 1.0
        self.gamma_ = 1.0 / (self.scale * median) if median > 0 else 1.0
        self.nystroem_ = Nystroem(
            gamma=self.gamma_,
            n_components=min(self.n_components, X.shape[0]),
            random_state=rng.randint(2**31 - 1),
        ).fit(X)
        return self

    def transform(self, X):
        check_is_fitted(self, "nystroem_")
        return self.nystroem_.transform(np.asarray(X, dtype=np.float64))


class LeaveOneOutRidge(RegressorMixin, BaseEstimator):
    """Ridge regression with its strength chosen by exact leave-one-out error.

    What ``RidgeCV(alphas, gcv_mode="svd")`` computes (intercept fitted, no
    sample weights, the strength shared by all outputs), with the SVD of the
    centred ``X`` exposed: :meth:`decompose` depends on ``X`` alone, so one
    decomposition serves many targets (:meth:`fit_decomposed`). One SVD, then
    O(n·p) per strength.

    Parameters
    ----------
    alphas : array-like of shape (n_alphas,)
        Ridge strengths to choose from.

    Attributes
    ----------
    alpha_ : float
        The chosen strength (the first of the smallest mean squared
        leave-one-out error).
    best_score_ : float
        Minus that mean squared leave-one-out error.
    coef_ : ndarray of shape (n_features,) or (n_outputs, n_features)
    intercept_ : float or ndarray of shape (n_outputs,)
    """

    def __init__(self, alphas=_RIDGE_ALPHAS):
        self.alphas = alphas

    def fit(self, X, y):
        X = check_array(X, dtype=np.float64, input_name="X")
        return self.fit_decomposed(self.decompose(X), y)

    def decompose(self, X):
        """The SVD of the centred ``X``, for :meth:`fit_decomposed`."""
        X = check_array(X, dtype=np.float64, input_name="X")
        offset = X.mean(axis=0)
        U, s, Vt = np.linalg.svd(X - offset, full_matrices=False)
        return {"offset": offset, "U": U, "s": s, "V": Vt.T, "UT_1": U.sum(axis=0)}

    def fit_decomposed(self, decomposition, y):
        """Fit on the decomposition of ``X`` and target ``y`` (equals ``fit``)."""
        d = decomposition
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        Y = y.reshape(y.shape[0], -1)
        y_offset = Y.mean(axis=0)
        Yc = Y - y_offset
        UT_y = d["U"].T @ Yc
        best = None
        for alpha in map(float, np.atleast_1d(self.alphas)):
            score = -np.mean(self._loo_residuals(d, Yc, UT_y, alpha) ** 2)
            if best is None or score > best[0]:
                best = (score, alpha)
        self.best_score_, self.alpha_ = float(best[0]), best[1]
        shrink = d["s"] / (d["s"] ** 2 + self.alpha_)
        coef = d["V"] @ (shrink[:, None] * UT_y)  # (n_features, n_outputs)
        intercept = y_offset - d["offset"] @ coef
        self._y_1d = y.ndim == 1
        self.coef_ = coef[:, 0] if self._y_1d else coef.T
        self.intercept_ = float(intercept[0]) if self._y_1d else intercept
        self.n_features_in_ = d["offset"].size
        return self

    @staticmethod
    def _loo_residuals(d, Yc, UT_y, alpha):
        """Leave-one-out residuals, intercept refitted (RidgeCV's formulas)."""
        U, s = d["U"], d["s"]
        n = U.shape[0]
        if n <= d["V"].shape[0]:  # wide: U spans all samples
            D = alpha / (s**2 + alpha)
            c = U @ (D[:, None] * UT_y)
            diag = (U**2) @ D - (U @ (D * d["UT_1"])) / n
        else:
            M = alpha / (s**2 + alpha) - 1
            c = U @ (M[:, None] * UT_y) + Yc
            diag = (U**2) @ M + 1 - (U @ (M * d["UT_1"]) + 1) / n
        return c / diag[:, None]

    def predict(self, X):
        check_is_fitted(self, "coef_")
        X = check_array(X, dtype=np.float64, input_name="X")
        coef = self.coef_.reshape(-1, X.shape[1])
        pred = X @ coef.T + self.intercept_
        return pred.ravel() if self._y_1d else pred


def ridge_regressor():
    """Linear ridge on standardised activations, strength by leave-one-out."""
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("ridge", LeaveOneOutRidge(alphas=_RIDGE_ALPHAS)),
        ]
    )


def kernel_ridge_regressor(random_state=None):
    """Gaussian-kernel ridge (Nyström) on standardised activations."""
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("kernel", MedianGaussianFeatures(random_state=random_state)),
            ("ridge", LeaveOneOutRidge(alphas=_KERNEL_RIDGE_ALPHAS)),
        ]
    )


def fixed_regressor(regressor):
    """``(features, head)``: a fitted regressor split for stacked null refits.

    ``features`` maps the regressor's input to what its last step is fitted
    on, computed from A's side alone and kept fitted; ``head`` is an unfitted
    estimator with every data-chosen hyperparameter fixed at its fitted value,
    to be fitted on many permuted targets at once.
    """
    from skequiv.regression import GeometricHarmonicsRegressor

    if isinstance(regressor, Pipeline):
        features = regressor[:-1]
        last = regressor[-1]
    else:
        features, last = None, regressor
    if isinstance(last, LeaveOneOutRidge):
        head = Ridge(alpha=last.alpha_)
    elif isinstance(last, RidgeCV):
        head = Ridge(
            alpha=float(np.mean(last.alpha_)), fit_intercept=last.fit_intercept
        )
    elif isinstance(last, GeometricHarmonicsRegressor):
        # kernel scale and bandwidth fixed; alpha stays "auto" when it was:
        # chosen per output by exact leave-one-out on the fixed eigenpairs,
        # which favours the null (a conservative test)
        head = clone(last).set_params(epsilon=last.epsilon_, bandwidth=last.bandwidth_)
    else:
        head = clone(last)
    return features, head


def stacked_null_predictions(features, head, Z_train, y_train, Z_test, permutations):
    """Predictions at ``Z_test`` of ``head`` refitted on each permuted target.

    Yields ``(index, predictions)`` with predictions of shape
    (n_permutations_in_block, n_test, n_outputs), a block of permutations at a
    time (their targets stacked as the columns of one multi-output fit).
    """
    if features is not None:
        Z_train, Z_test = features.transform(Z_train), features.transform(Z_test)
    y_train = y_train.reshape(y_train.shape[0], -1)
    m = y_train.shape[1]
    block = max(1, _NULL_BLOCK_COLUMNS // m)
    for start in range(0, len(permutations), block):
        chunk = permutations[start : start + block]
        stacked = np.hstack([y_train[p] for p in chunk])
        predicted = np.asarray(clone(head).fit(Z_train, stacked).predict(Z_test))
        predicted = predicted.reshape(Z_test.shape[0], len(chunk), m)
        yield start, np.moveaxis(predicted, 1, 0)


class PreparedCandidate:
    """A candidate's regressor with the work that depends on A alone done.

    On one set of training rows (and, for an inner fold, its held-out rows):
    the kernel and ridge candidates' standardisation, Nyström features and
    SVD, and geometric harmonics' kernel eigendecomposition of the intrinsic
    coordinates. :meth:`fit` then does only what depends on the target, and
    leaves this object unchanged, so one serves every target of A.

    Parameters
    ----------
    name : str
        The candidate, one of ``CANDIDATES``.
    regressor : estimator
        Its unfitted regressor (from ``NetworkTransform._make_candidate``).
    coords : ndarray of shape (n_train, n_features)
        The regressor's training input.
    held_out : ndarray of shape (n_test, n_features), default=None
        The regressor's input at held-out rows, to score a fold.
    """

    def __init__(self, name, regressor, coords, held_out=None):
        from skequiv.regression import GeometricHarmonicsRegressor

        self.inputs = coords  # what the fitted regressor is fitted on
        self.front = self.factors = None
        if name != "intrinsic":
            # our own Pipelines, whose feature steps ignore the target
            self.head_name = regressor.steps[-1][0]
            self.front, regressor = regressor[:-1], regressor[-1]
            coords = self.front.fit_transform(coords)
            if held_out is not None:
                held_out = self.front.transform(held_out)
            self.factors = regressor.decompose(coords)
            self._fit_factors = LeaveOneOutRidge.fit_decomposed
        elif type(regressor) is GeometricHarmonicsRegressor:
            self.factors = regressor.eigendecompose(coords)
            self._fit_factors = GeometricHarmonicsRegressor.fit_eigendecomposed
        self.head, self.coords, self.held_out = regressor, coords, held_out

    def fit(self, y):
        """The candidate's regressor fitted on target ``y`` (a new estimator)."""
        head = clone(self.head)
        if self.factors is not None:
            self._fit_factors(head, self.factors, y)
        else:
            head.fit(self.coords, y)
        if self.front is None:
            return head
        # the fitted feature steps are shared, never refitted
        return Pipeline([*self.front.steps, (self.head_name, head)])

    def fold_score(self, y_train, y_test, score):
        """``score(y_test, prediction at the held-out rows)`` after fitting."""
        head = self.fit(y_train)
        if self.front is not None:
            head = head[-1]
        return score(y_test, head.predict(self.held_out))
