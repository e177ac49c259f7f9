"""Top eigenpairs of the symmetric diffusion matrix ``S = D^-1/2 W^a D^-1/2``.

``S`` has spectrum in [-1, 1] with its top eigenvalue 1 and eigenvector
``sqrt(deg)`` known in closed form. The wanted eigenvalues crowd just below 1
(gaps of order epsilon), which is what every solver here is built around.
"""

import contextlib
import warnings

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee
from scipy.sparse.linalg import ArpackError, LinearOperator, eigsh, lobpcg, splu

from skequiv.utils._threads import one_thread
from skequiv.utils._warnings import user_stacklevel

__all__ = ["amg_available", "top_eigenpairs"]

# the AMG preconditioner is built on each sample's strongest edges only: a
# sparser graph coarsens into better aggregates and smooths ~3x cheaper, while
# LOBPCG still iterates with the full matrix (18 of ~35 per row at k = 32:
# 25% faster than 10 or 24 at 300,000 samples)
_AMG_NEIGHBOURS = 18
# extra LOBPCG block vectors: the gap to the first unwanted eigenvalue sets the
# convergence rate
_AMG_EXTRA_VECTORS = 2
_AMG_MAX_ITER = 500
# coarsest level solved directly (pseudo-inverse): fewer, more accurate levels
_AMG_MAX_COARSE = 1000
# bound on the padded (rows x row length) block used to rank each row's edges
_CHUNK_ENTRIES = 4_000_000
# when an iterative solver fails, LAPACK on the dense matrix is the last resort
# up to this many samples (1.6 GB of float64 at 14,000)
_DENSE_FALLBACK_MAX = 14_000
# dense LAPACK runs on one BLAS thread up to this size
_SMALL_DENSE = 2000


def _blas_threads(n):
    """One BLAS thread for small dense problems, where threads only stall.

    On 2 loaded cores a 300 x 300 ``eigh`` took 2.8 s with OpenBLAS's default
    threads; on one thread it takes a few milliseconds.
    """
    if n <= _SMALL_DENSE:
        return one_thread(user_api="blas")
    return contextlib.nullcontext()


def amg_available():
    """Whether pyamg (the ``amg`` extra) is installed."""
    try:
        import pyamg  # noqa: F401
    except ImportError:
        return False
    return True


def _import_pyamg():
    try:
        import pyamg
    except ImportError as exc:
        raise ImportError(
            "eigen_solver='amg' needs pyamg, which is an optional dependency: "
            "install it with `pip install skequiv[amg]` (or `pip install pyamg`), "
            "or use eigen_solver='shift-invert'."
        ) from exc
    return pyamg


def top_eigenpairs(S, k, *, solver, tol, rng, trivial=None):
    """Top-``k`` eigenpairs of the symmetric ``S``, eigenvalues descending.

    Parameters
    ----------
    S : ndarray or sparse matrix of shape (n, n)
    k : int
        Eigenpairs wanted, the trivial one included.
    solver : {"dense", "arpack", "shift-invert", "amg"}
    tol : float
        Tolerance of the iterative solvers (see ``MahalanobisDiffusionMap``).
    rng : numpy.random.RandomState
        Draws the start vectors.
    trivial : ndarray of shape (n,), optional
        The known top eigenvector ``sqrt(deg)``; required by ``"amg"``.
    """
    try:
        return _top_eigenpairs(S, k, solver=solver, tol=tol, rng=rng, trivial=trivial)
    except (ArpackError, RuntimeError) as exc:
        # ARPACK without convergence (clustered spectra near 1), or a singular
        # LU in shift-invert: try the next solver rather than fail the fit
        fallback = _FALLBACK.get(solver)
        if S.shape[0] <= _DENSE_FALLBACK_MAX:
            fallback = "dense"
        if fallback is None:
            raise
        warnings.warn(
            f"eigen_solver={solver!r} failed ({type(exc).__name__}: {exc}); "
            f"falling back to {fallback!r}.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        return _top_eigenpairs(S, k, solver=fallback, tol=tol, rng=rng, trivial=trivial)


_FALLBACK = {"arpack": "shift-invert", "amg": "shift-invert"}


def _top_eigenpairs(S, k, *, solver, tol, rng, trivial):
    n = S.shape[0]
    if solver == "dense":
        S = S.toarray() if sp.issparse(S) else S
        with _blas_threads(n):
            evals, evecs = scipy.linalg.eigh(S, subset_by_index=[n - k, n - 1])
        return _descending(evals, evecs)
    if sp.issparse(S):
        # Samples arrive in random order, so every product with a sparse S
        # gathers from all over memory: at 300,000 samples a product costs 12x
        # more per nonzero than in a bandwidth-reducing order (0.2 s to find).
        # A dense S is read in order anyway.
        S = sp.csr_matrix(S)
        perm = reverse_cuthill_mckee(S, symmetric_mode=True)
        S = S[perm][:, perm]
    else:
        perm = np.arange(n)
        if solver != "arpack":  # these factorise or sparsify S
            S = sp.csr_matrix(S)
    if solver == "arpack":
        evals, evecs = eigsh(
            S,
            k=k,
            which="LA",
            v0=rng.uniform(-1.0, 1.0, size=n),
            tol=tol,
            ncv=min(n, max(2 * k + 1, 40)),
        )
    elif solver == "shift-invert":
        evals, evecs = _shift_invert(S, k, tol, rng)
    else:
        if trivial is None:
            raise ValueError("eigen_solver='amg' needs the trivial eigenvector.")
        evals, evecs = _amg_lobpcg(S, k, tol, rng, trivial[perm])
    unpermuted = np.empty_like(evecs)
    unpermuted[perm] = evecs
    return _descending(evals, unpermuted)


def _descending(evals, evecs):
    order = np.argsort(evals)[::-1]
    return evals[order], evecs[:, order]


def _shift_invert(S, k, tol, rng):
    # A = (1 + delta) I - S is symmetric positive definite and A^-1 maps the
    # eigenvalues near 1 to the largest, well separated ones: Lanczos converges
    # in a few dozen steps whatever the spectral gap. The LU costs O(n^1.5) on
    # the graph of a 2-D manifold (nested-dissection bound).
    n = S.shape[0]
    A = sp.identity(n, format="csc") * (1.0 + 1e-6) - sp.csc_matrix(S)
    lu = splu(
        A,
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )
    op = LinearOperator((n, n), matvec=lu.solve, dtype=np.float64)
    _, evecs = eigsh(
        op,
        k=k,
        which="LA",
        v0=rng.uniform(-1.0, 1.0, size=n),
        tol=tol,
        ncv=min(n, max(2 * k + 1, 20)),
    )
    # Rayleigh quotients on S itself: accurate to the vectors' residual
    return np.einsum("ij,ij->j", evecs, S @ evecs), evecs


def _amg_lobpcg(S, k, tol, rng, trivial):
    # LOBPCG for the smallest eigenvalues of L = I - S, orthogonal to the known
    # trivial eigenvector, preconditioned by smoothed-aggregation multigrid:
    # O(n) work per iteration, and the iteration count grows only slowly with n.
    pyamg = _import_pyamg()
    n = S.shape[0]
    v0 = trivial / np.linalg.norm(trivial)
    L = sp.identity(n, format="csr") - S
    with _seeded_global_numpy(rng):
        hierarchy = pyamg.smoothed_aggregation_solver(
            _strongest_edges_laplacian(S, v0, _AMG_NEIGHBOURS),
            B=v0[:, None],  # the near-null space is sqrt(deg), not the constants
            symmetry="symmetric",
            max_coarse=_AMG_MAX_COARSE,
            presmoother=("gauss_seidel", {"sweep": "forward"}),
            postsmoother=("gauss_seidel", {"sweep": "backward"}),
        )
    n_block = min(k - 1 + _AMG_EXTRA_VECTORS, n - 2)
    X = rng.uniform(-1.0, 1.0, size=(n, n_block))
    with warnings.catch_warnings():
        # scipy warns when its unwanted extra vectors lag; the wanted ones are
        # checked below
        warnings.simplefilter("ignore", UserWarning)
        mu, V = lobpcg(
            L,
            X,
            Y=v0[:, None],
            M=hierarchy.aspreconditioner(),
            tol=tol,
            largest=False,
            maxiter=_AMG_MAX_ITER,
        )
    evecs = np.column_stack([v0, V])
    S_evecs = S @ evecs  # serves the residuals and the Rayleigh quotients
    wanted = 1 + np.argsort(mu)[: k - 1]
    # (I - S) psi - mu psi, with mu = 1 - lambda
    residual = np.linalg.norm(
        evecs[:, wanted] * (1.0 - mu[wanted - 1]) - S_evecs[:, wanted], axis=0
    )
    if residual.max() > tol:
        warnings.warn(
            f"eigen_solver='amg' stopped after at most {_AMG_MAX_ITER} LOBPCG "
            f"iterations with residual {residual.max():.2g} > eigen_tol={tol:g}. "
            "Raise `eigen_tol` or use eigen_solver='shift-invert'.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    evals = np.einsum("ij,ij->j", evecs, S_evecs)
    evals, evecs = _descending(evals, evecs)
    return evals[:k], evecs[:, :k]


@contextlib.contextmanager
def _seeded_global_numpy(rng):
    """Seed numpy's global generator from ``rng`` inside; restore it after.

    pyamg draws the start vectors of its spectral-radius estimates from the
    global generator, so without this two identical fits would differ (in the
    last digits) and the caller's own global stream would be advanced.
    """
    state = np.random.get_state()  # noqa: NPY002 (the global pyamg reads)
    np.random.seed(rng.randint(np.iinfo(np.int32).max))  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _strongest_edges_laplacian(S, v0, keep):
    """Laplacian of each row's ``keep`` strongest off-diagonal entries of ``S``.

    Symmetrised by the larger weight, with the diagonal chosen so that ``v0``
    spans its null space (as for ``I - S``); a 1e-6 relative shift makes it
    positive definite, as a LOBPCG preconditioner must be.
    """
    A = S.tocoo()
    off = A.row != A.col
    A = sp.csr_matrix((A.data[off], (A.row[off], A.col[off])), shape=S.shape)
    lengths = np.diff(A.indptr)
    row_of = np.repeat(np.arange(A.shape[0]), lengths)
    kept = A.data >= _kth_largest_per_row(A, lengths, keep)[row_of]
    W = sp.csr_matrix((A.data[kept], (row_of[kept], A.indices[kept])), shape=S.shape)
    W = W.maximum(W.T).tocsr()
    diag = (W @ v0) / v0
    return (sp.diags(diag * (1.0 + 1e-6)) - W).tocsr()


def _kth_largest_per_row(A, lengths, keep):
    """``keep``-th largest stored value of each CSR row; -inf for shorter rows."""
    thresholds = np.full(A.shape[0], -np.inf)
    rows = np.flatnonzero(lengths > keep)
    if rows.size == 0:
        return thresholds
    width = int(lengths.max())
    step = max(1, _CHUNK_ENTRIES // width)
    for start in range(0, rows.size, step):  # chunks of rows, not pairs
        block = rows[start : start + step]
        counts = lengths[block]
        local = np.repeat(np.arange(block.size), counts)
        offsets = np.arange(counts.sum()) - np.repeat(
            np.cumsum(counts) - counts, counts
        )
        padded = np.full((block.size, width), -np.inf)
        padded[local, offsets] = A.data[np.repeat(A.indptr[block], counts) + offsets]
        padded = np.partition(padded, width - keep, axis=1)
        thresholds[block] = padded[:, width - keep]
    return thresholds
