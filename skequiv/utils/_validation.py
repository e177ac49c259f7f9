"""Input checks shared by estimators of several subpackages."""

import numpy as np
from sklearn.utils.validation import check_array

from skequiv.metric import check_finite_scale


def check_numeric_target(y, *, name="y"):
    """``y`` as float64, refusing strings with a message that names ``name``.

    scikit-learn's ``y_numeric`` lets string arrays through to numpy's float
    conversion, whose error names no parameter.
    """
    try:
        return np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"`{name}` must be numeric targets; got dtype {np.asarray(y).dtype} "
            f"({exc}). Encode categorical targets as numbers first (e.g. with "
            "sklearn.preprocessing.OneHotEncoder)."
        ) from exc


def check_varying_target(y, *, name="y", what="the target"):
    """Refuse a target that over- or underflows, or is constant over samples."""
    y = check_array(y, ensure_2d=False, dtype=np.float64, input_name=name)
    y2 = y.reshape(y.shape[0], -1)
    check_finite_scale(y2, name=name)
    if y2.shape[0] > 1 and not np.any(np.ptp(y2, axis=0) > 0):
        raise ValueError(
            f"`{name}` ({what}) is constant on the training samples: there is "
            "nothing to predict and R² is undefined. Compare a layer that varies "
            "with the input (a network whose output is constant has learnt "
            "nothing)."
        )
    return y
