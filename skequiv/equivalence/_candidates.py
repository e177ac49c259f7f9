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
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

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


def ridge_regressor():
    """Linear ridge on standardised activations, strength by leave-one-out."""
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("ridge", RidgeCV(alphas=_RIDGE_ALPHAS, gcv_mode="svd")),
        ]
    )


def kernel_ridge_regressor(random_state=None):
    """Gaussian-kernel ridge (Nyström) on standardised activations."""
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("kernel", MedianGaussianFeatures(random_state=random_state)),
            # one SVD, then O(n·p) per ridge strength (the default
            # eigen-covariance mode costs O(n·p²) per strength)
            ("ridge", RidgeCV(alphas=_KERNEL_RIDGE_ALPHAS, gcv_mode="svd")),
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
    if isinstance(last, RidgeCV):
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
    the kernel and ridge candidates' standardisation and Nyström features,
    and geometric harmonics' kernel eigendecomposition of the intrinsic
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
        self.front = self.eigenpairs = None
        if name != "intrinsic":
            # our own Pipelines, whose feature steps ignore the target
            self.head_name = regressor.steps[-1][0]
            self.front, regressor = regressor[:-1], regressor[-1]
            coords = self.front.fit_transform(coords)
            if held_out is not None:
                held_out = self.front.transform(held_out)
        elif type(regressor) is GeometricHarmonicsRegressor:
            self.eigenpairs = regressor.eigendecompose(coords)
        self.head, self.coords, self.held_out = regressor, coords, held_out

    def fit(self, y):
        """The candidate's regressor fitted on target ``y`` (a new estimator)."""
        head = clone(self.head)
        if self.eigenpairs is not None:
            head.fit_eigendecomposed(self.eigenpairs, y)
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
