"""One BLAS (and OpenMP) thread around small-matrix work, with a cached controller.

``threadpoolctl.threadpool_limits`` scans the loaded libraries on every call
(about 15 ms on a loaded machine), and a network preparation enters dozens of
limits. One :class:`~threadpoolctl.ThreadpoolController` per process is built
lazily instead and reused; limiting with it costs well under a millisecond.
"""

import functools
import importlib
import sys

from threadpoolctl import ThreadpoolController


@functools.cache
def _controller(torch_loaded):
    # scipy.linalg brings its own OpenBLAS, loaded on first import: import it
    # before scanning, or a process whose first limit came before any scipy
    # call would leave scipy's factorisations multithreaded. torch brings its
    # own OpenMP runtime: the controller is rebuilt once after it is imported
    importlib.import_module("scipy.linalg")
    return ThreadpoolController()


def blas_controller():
    """The process's cached controller of the loaded BLAS and OpenMP libraries."""
    return _controller("torch" in sys.modules)


def one_thread(user_api=None):
    """Context manager running its body on one thread of each thread pool.

    The same as ``threadpoolctl.threadpool_limits(limits=1, user_api=user_api)``
    with a controller built once per process (scipy's own OpenBLAS included).

    Parameters
    ----------
    user_api : {"blas", "openmp"} or None, default=None
        The thread pools to limit; ``None`` limits all of them.

    Returns
    -------
    limiter : context manager
        Restores the previous thread counts on exit.
    """
    return blas_controller().limit(limits=1, user_api=user_api)
