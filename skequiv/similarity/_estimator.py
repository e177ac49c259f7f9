"""A representation similarity as a scikit-learn estimator (fit / score)."""

from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from skequiv._compat import StrOptions, _fit_context, validate_data
from skequiv.similarity._measures import MEASURES, get_measure


class RepresentationSimilarity(BaseEstimator):
    """A similarity measure between paired representations, as an estimator.

    ``fit(X, Y)`` records the similarity of the training rows; ``score(X, Y)``
    is the similarity on the given (held-out) rows. The measures have no
    learned parameters, so ``cross_val_score`` gives the similarity on each
    test fold: its spread across folds says how much the number depends on the
    samples. The score is larger-is-better (1 = identical up to the measure's
    invariances), so ``GridSearchCV`` over ``measure_params`` and Pipelines
    work unchanged.

    Parameters
    ----------
    measure : str, default="linear_cka"
        A name of :data:`skequiv.similarity.MEASURES`: ``"linear_cka"``,
        ``"rbf_cka"``, ``"debiased_linear_cka"``, ``"debiased_rbf_cka"``,
        ``"cca"``, ``"svcca"``, ``"pwcca"``, ``"procrustes"``.
    measure_params : dict, default=None
        Parameters of the measure, e.g. ``{"threshold": 0.5}`` for
        ``"rbf_cka"`` or ``{"variance": 0.95}`` for ``"svcca"``.

    Attributes
    ----------
    measure_ : Measure
        The measure, from :func:`~skequiv.similarity.get_measure`.
    similarity_ : float
        The similarity of the training rows.
    n_features_in_ : int
        Units of the first representation (X).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of X's columns, when X is a data frame with string column names.

    See Also
    --------
    skequiv.similarity.get_measure : the measures with ``prepare``/``compare``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import cross_val_score
    >>> from skequiv.similarity import RepresentationSimilarity
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 6))
    >>> Y = X @ rng.normal(size=(6, 4))
    >>> est = RepresentationSimilarity("cca").fit(X, Y)
    >>> round(est.similarity_, 6)
    1.0
    >>> cross_val_score(RepresentationSimilarity("cca"), X, Y, cv=3).round(6)
    array([1., 1., 1.])
    """

    _parameter_constraints: ClassVar[dict] = {
        "measure": [StrOptions(set(MEASURES))],
        "measure_params": [dict, None],
    }

    def __init__(self, measure="linear_cka", *, measure_params=None):
        self.measure = measure
        self.measure_params = measure_params

    # False: measure_params are validated by get_measure, nested in fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Record the similarity of the training rows of X and y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_units_x)
            The first representation (e.g. network A's activations).
        y : array-like of shape (n_samples, n_units_y) or (n_samples,)
            The second representation on the same samples.

        Returns
        -------
        self : RepresentationSimilarity
        """
        self.measure_ = get_measure(self.measure, **(self.measure_params or {}))
        X, y = self._validate(X, y, reset=True)
        self.similarity_ = self.measure_.evaluate(X, y, names=("X", "y"))
        return self

    def score(self, X, y, sample_weight=None):
        """The similarity of X and y (larger is more similar).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_units_x)
            The first representation, with the units seen in ``fit``.
        y : array-like of shape (n_samples, n_units_y) or (n_samples,)
            The second representation on the same samples.
        sample_weight : None
            Not supported (every sample counts once); must be None.

        Returns
        -------
        similarity : float
        """
        check_is_fitted(self)
        if sample_weight is not None:
            raise ValueError(
                "RepresentationSimilarity.score does not support sample_weight; "
                "pass sample_weight=None (every sample counts once)."
            )
        X, y = self._validate(X, y, reset=False)
        return self.measure_.evaluate(X, y, names=("X", "y"))

    def _validate(self, X, y, reset):
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            multi_output=True,
            y_numeric=True,
            dtype=np.float64,
            ensure_min_samples=self.measure_.min_samples,
        )
        return X, y.reshape(len(y), -1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
