"""The one place where scikit-learn's private helpers are imported.

scikit-learn moves these between releases; keeping the imports here means a
future move is a one-line fix.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    validate_params,
)
from sklearn.utils.validation import _check_feature_names_in, validate_data

__all__ = [
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "Options",
    "StrOptions",
    "_check_feature_names_in",
    "_fit_context",
    "validate_data",
    "validate_params",
]
