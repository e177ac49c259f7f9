"""one_thread: threadpool_limits(1) with one cached controller per process."""

import scipy.linalg  # noqa: F401  (its own OpenBLAS, to be limited too)
from threadpoolctl import threadpool_info

from skequiv.utils._threads import blas_controller, one_thread


def _threads(user_api=None):
    return [
        (info["filepath"], info["num_threads"])
        for info in threadpool_info()
        if user_api is None or info["user_api"] == user_api
    ]


def test_every_blas_library_runs_one_thread_inside():
    before = _threads()
    assert _threads("blas")  # numpy's (and scipy's) OpenBLAS are loaded
    with one_thread("blas"):
        assert all(n == 1 for _, n in _threads("blas"))
    with one_thread():
        assert all(n == 1 for _, n in _threads())
    assert _threads() == before  # restored on exit


def test_scipy_own_blas_is_limited():
    with one_thread("blas"):
        scipy_libs = [n for path, n in _threads("blas") if "scipy" in path]
    assert all(n == 1 for n in scipy_libs)


def test_the_controller_is_built_once():
    assert blas_controller() is blas_controller()
