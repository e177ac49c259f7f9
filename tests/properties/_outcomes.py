"""What a clean failure is, and corruptions of good input that must cause one."""

import re
import warnings
from pathlib import Path

import numpy as np

# Errors may come from skequiv itself or from scikit-learn's input validation
# (check_array, validate_params, check_is_fitted): messages users know. Anything
# raised deeper, in numpy, scipy or torch, is a bare traceback.
_CLEAN_ORIGINS = (
    f"{Path('skequiv')}",
    f"{Path('sklearn') / 'utils'}",
    f"{Path('sklearn') / 'base.py'}",
)
_SKLEARN_VALIDATION = (f"{Path('sklearn') / 'utils'}", f"{Path('sklearn') / 'base.py'}")


def origin(exc):
    """File name of the frame that raised ``exc``."""
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename


def names(message, param):
    """Whether ``message`` names the parameter ``param`` (or one of a tuple)."""
    params = (param,) if isinstance(param, str) else param
    return any(
        re.search(rf"(?<![\w.]){re.escape(p)}(?![\w(])", message) is not None
        for p in params
    )


def assert_clean(run, data, param, *, sample_count=False):
    """``run(data)`` returns finite arrays or raises a clean error.

    A clean error is a ValueError or TypeError raised by skequiv or by
    scikit-learn's input validation; skequiv's own messages must name
    ``param`` (or, for too few samples, say so).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = run(data)
    except (ValueError, TypeError) as exc:
        where = origin(exc)
        message = str(exc)
        assert any(part in where for part in _CLEAN_ORIGINS), (
            f"bare {type(exc).__name__} from {where}: {message[:300]}"
        )
        if any(part in where for part in _SKLEARN_VALIDATION):
            return exc
        assert names(message, param) or (sample_count and "sample" in message), (
            f"the message does not name `{param}`: {message[:300]}"
        )
        return exc
    except Exception as exc:  # anything else is what is being tested for
        raise AssertionError(
            f"{type(exc).__name__} from {origin(exc)}: {str(exc)[:300]}"
        ) from exc
    for array in out:
        array = np.asarray(array)
        assert array.dtype.kind in "fiub", f"a result of dtype {array.dtype}"
        assert np.all(np.isfinite(array)), "a result holds NaN or inf"
    return out


def _nan(a):
    a = np.array(a, dtype=np.float64)
    a.flat[0] = np.nan
    return a


def _inf(a):
    a = np.array(a, dtype=np.float64)
    a.flat[1] = np.inf
    return a


def _complex(a):
    return np.asarray(a) + 1e-3j


def _strings(a):
    a = np.asarray(a).astype(str)  # numeric strings convert, as in scikit-learn
    a.flat[0] = "x"
    return a


def _flat(a):
    return np.asarray(a).reshape(len(a), -1)[:, 0]


def _extra_axis(a):
    return np.asarray(a)[..., None]


def _huge(a):
    return np.asarray(a) * 1e200


def _tiny(a):
    return np.asarray(a) * 1e-200


def _constant(a):
    return np.zeros_like(np.asarray(a, dtype=np.float64))


def _wrong_length(a):
    return np.asarray(a)[:-1]


# corruption name -> function of one input array
CORRUPTIONS = {
    "nan": _nan,
    "inf": _inf,
    "complex": _complex,
    "strings": _strings,
    "1-d": _flat,
    "extra-axis": _extra_axis,
    "huge": _huge,
    "tiny": _tiny,
    "zero": _constant,
    "one-row-short": _wrong_length,
}

# numbers of samples below any sensible minimum (all inputs cut together)
SAMPLE_COUNTS = (0, 1, 3)
