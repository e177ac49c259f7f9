"""Warnings that point at the user's line, however deep skequiv raised them."""

import os
import sys

import sklearn

# frames in these directories are skipped: skequiv itself, and scikit-learn,
# whose wrappers (validate_params, _fit_context, set_output) sit between a
# user's call and skequiv's code
_INTERNAL = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
    os.path.dirname(os.path.abspath(sklearn.__file__)) + os.sep,
)


def user_stacklevel():
    """The ``stacklevel`` of the first frame outside skequiv and scikit-learn.

    For the function that calls :func:`warnings.warn`; a hand-counted level
    is right for one call path only (a public function, a method behind
    scikit-learn's wrappers, a nested call). Python 3.12's
    ``skip_file_prefixes`` does the same.
    """
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL):
        frame, level = frame.f_back, level + 1
    return level
