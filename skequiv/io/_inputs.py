"""Network inputs from files, never unpickled."""

import os
from pathlib import Path

import numpy as np

from skequiv._compat import validate_params
from skequiv.io._errors import UnsafeFileError, check_file
from skequiv.utils._errors import first_line


@validate_params(
    {"path": [str, os.PathLike], "key": [None, str]},
    prefer_skip_nested_validation=True,
)
def load_inputs(path, *, key=None):
    """Read network inputs from a ``.npy``, ``.npz`` or ``.csv`` file.

    ``.npy`` and ``.npz`` files are read with ``allow_pickle=False``: an array
    of Python objects, which only unpickling could rebuild, is refused with
    :class:`UnsafeFileError`. A ``.csv`` file holds one sample per row,
    comma-separated numbers, with at most one header line.

    Parameters
    ----------
    path : str or path-like
        The file.
    key : str, default=None
        ``.npz`` only: the array to read. None takes the array named ``"X"``,
        or the only array in the file.

    Returns
    -------
    X : ndarray of shape (n_samples, ...)
        The inputs, float32 or float64 (integers and booleans become
        float64), one sample per row of the first axis; a 1-D array is
        read as one feature per sample.

    Raises
    ------
    UnsafeFileError
        The file holds Python objects.
    FileNotFoundError
        There is no such file.
    ValueError
        Not numeric, not finite, no samples, unknown suffix or ``.npz`` key.

    See Also
    --------
    load_model : Models from ``.pt2``, ``.pt`` or ``.safetensors`` files.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from skequiv.io import load_inputs
    >>> path = Path(tempfile.mkdtemp()) / "inputs.npy"
    >>> np.save(path, np.arange(6).reshape(3, 2))
    >>> load_inputs(path)
    array([[0., 1.],
           [2., 3.],
           [4., 5.]])
    """
    path = check_file(Path(path))
    suffix = path.suffix.lower()
    if key is not None and suffix != ".npz":
        raise ValueError(f"{path}: key={key!r} applies to .npz files only.")
    if suffix == ".npy":
        X = _load_numpy(path)
    elif suffix == ".npz":
        X = _load_npz(path, key)
    elif suffix == ".csv":
        X = _load_csv(path)
    else:
        raise ValueError(
            f"{path}: unknown input file type {path.suffix!r}; give .npy, .npz or .csv."
        )
    return _check_values(path, X)


def _refused(path, what):
    return UnsafeFileError(
        f"{path}: refused, {what} holds Python objects, which only unpickling "
        "(able to run code stored in the file) could read. Save a numeric array: "
        "np.save(path, np.asarray(X, dtype=np.float32))."
    )


def _load_numpy(path):
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise _refused(path, "it") from exc
        raise ValueError(
            f"{path}: not a .npy file numpy can read ({first_line(exc)})."
        ) from exc
    except Exception as exc:
        raise ValueError(
            f"{path}: not a .npy file numpy can read ({type(exc).__name__}: "
            f"{first_line(exc)})."
        ) from exc


def _load_npz(path, key):
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise ValueError(
            f"{path}: not a .npz file numpy can read ({type(exc).__name__}: "
            f"{first_line(exc)})."
        ) from exc
    with archive:
        names = list(archive.files)
        if key is None:
            if "X" in names:
                key = "X"
            elif len(names) == 1:
                key = names[0]
            else:
                raise ValueError(
                    f"{path}: holds the arrays {names}; name the one to use (the "
                    "--inputs-key option of `skequiv compare`), or call it 'X'."
                )
        if key not in names:
            raise ValueError(f"{path}: has no array {key!r}; it holds {names}.")
        try:
            return archive[key]
        except ValueError as exc:
            if "allow_pickle" in str(exc):
                raise _refused(path, f"its array {key!r}") from exc
            raise


def _load_csv(path):
    for skip in (0, 1):  # at most one header line
        try:
            return np.loadtxt(path, delimiter=",", ndmin=2, skiprows=skip)
        except ValueError as exc:
            error = exc
    raise ValueError(
        f"{path}: not a CSV file of numbers, one sample per row ({first_line(error)})."
    )


def _check_values(path, X):
    if X.dtype.kind in "biu":
        X = X.astype(np.float64)
    if X.dtype.kind != "f":
        raise ValueError(
            f"{path}: holds {X.dtype} values; network inputs must be numbers."
        )
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if X.ndim < 1 or X.shape[0] == 0:
        raise ValueError(f"{path}: holds no samples (shape {X.shape}).")
    if X.ndim == 1:
        X = X[:, None]
    bad = ~np.isfinite(X.reshape(X.shape[0], -1)).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{path}: {int(bad.sum())} sample(s) contain NaN or infinity (the "
            f"first is row {int(np.flatnonzero(bad)[0])}); remove or fill them."
        )
    return X
