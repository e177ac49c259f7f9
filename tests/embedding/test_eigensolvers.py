"""The diffusion-map eigensolvers against analytic spectra and LAPACK.

References: the spectrum of a weighted cycle graph in closed form, LAPACK on
the same kernel matrix, and per-row loops for the multigrid preconditioner.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import skequiv.embedding._diffusion_map as diffusion_map
from skequiv import MahalanobisDiffusionMap
from skequiv.embedding import _eigensolvers
from skequiv.embedding._eigensolvers import (
    _kth_largest_per_row,
    _strongest_edges_laplacian,
    top_eigenpairs,
)

from .test_diffusion_map import abs_corr, singer_coifman

SOLVERS = ["dense", "arpack", "shift-invert", "amg"]


def reflecting_path_kernel(n, self_weight=1.0, weight=0.6, shuffle_seed=0):
    """D^-1/2 W D^-1/2 of a path whose end vertices get the missing weight back.

    Every degree is ``a + 2b`` (a: self-weight, b: edge weight), so S = W / (a + 2b)
    is the Neumann second-difference stencil. The vertices come in random order.
    """
    i = np.arange(n - 1)
    self_weights = np.full(n, self_weight)
    self_weights[[0, -1]] += weight
    W = sp.coo_matrix(
        (
            np.r_[self_weights, np.full(2 * (n - 1), weight)],
            (np.r_[np.arange(n), i, i + 1], np.r_[np.arange(n), i + 1, i]),
        ),
        shape=(n, n),
    ).tocsr()
    perm = np.random.default_rng(shuffle_seed).permutation(n)
    W = W[perm][:, perm]
    deg = np.asarray(W.sum(axis=1)).ravel()
    inv_sqrt = sp.diags(1.0 / np.sqrt(deg))
    return (inv_sqrt @ W @ inv_sqrt).tocsr(), np.sqrt(deg), perm


@pytest.mark.parametrize("solver", SOLVERS)
def test_path_graph_spectrum_matches_the_closed_form(solver):
    # eigenvalues (a + 2b cos(pi j / n)) / (a + 2b), eigenvectors
    # cos(pi j (i + 1/2) / n): the discrete Neumann modes of the path
    n, a, b = 600, 1.0, 0.6
    S, trivial, perm = reflecting_path_kernel(n, a, b)
    evals, evecs = top_eigenpairs(
        S, 5, solver=solver, tol=1e-10, rng=np.random.RandomState(0), trivial=trivial
    )
    j = np.arange(5)
    expected = (a + 2 * b * np.cos(np.pi * j / n)) / (a + 2 * b)
    np.testing.assert_allclose(1 - evals[1:], 1 - expected[1:], rtol=1e-8)
    assert abs(evals[0] - 1) < 1e-12
    modes = np.cos(np.pi * np.outer(perm + 0.5, j) / n)
    for k in range(1, 5):  # mode 0 is constant: its correlation is undefined
        assert abs_corr(evecs[:, k], modes[:, k]) > 1 - 1e-8
    np.testing.assert_allclose(evecs.T @ evecs, np.eye(5), atol=1e-8)


# the solvers are compared on one given graph: that 24 neighbours truncate
# the kernel at this epsilon (as the fit warns) does not matter here
@pytest.mark.filterwarnings("ignore:The kNN graph .* cannot support:UserWarning")
@pytest.mark.parametrize("solver", ["arpack", "shift-invert", "amg"])
def test_sparse_solvers_match_lapack_on_a_mahalanobis_knn_graph(solver):
    _, y, J = singer_coifman(1500, seed=3)
    kw = dict(n_components=5, epsilon=2e-3, n_neighbors=24, random_state=0)
    fast = MahalanobisDiffusionMap(eigen_solver=solver, **kw).fit(y, jacobians=J)
    again = MahalanobisDiffusionMap(eigen_solver=solver, **kw).fit(y, jacobians=J)
    exact = MahalanobisDiffusionMap(eigen_solver="dense", **kw).fit(y, jacobians=J)
    np.testing.assert_allclose(1 - fast.eigenvalues_, 1 - exact.eigenvalues_, rtol=1e-8)
    for k in range(5):
        assert abs_corr(fast.eigenvectors_[:, k], exact.eigenvectors_[:, k]) > 1 - 1e-8
    np.testing.assert_array_equal(fast.embedding_, again.embedding_)


def naive_kth_largest(A, keep):
    out = np.full(A.shape[0], -np.inf)
    for i in range(A.shape[0]):
        row = np.sort(A.data[A.indptr[i] : A.indptr[i + 1]])[::-1]
        if row.size > keep:
            out[i] = row[keep - 1]
    return out


@pytest.mark.parametrize("chunk", [7, 10**6])
def test_kth_largest_per_row_matches_sorting_each_row(monkeypatch, chunk):
    monkeypatch.setattr(_eigensolvers, "_CHUNK_ENTRIES", chunk)
    A = sp.random(
        300, 300, density=0.05, format="csr", random_state=np.random.RandomState(0)
    )
    lengths = np.diff(A.indptr)
    assert lengths.min() < 10 < lengths.max()  # short and long rows both occur
    np.testing.assert_array_equal(
        _kth_largest_per_row(A, lengths, 10), naive_kth_largest(A, 10)
    )


def test_preconditioner_keeps_strongest_edges_and_the_trivial_null_vector():
    rng = np.random.default_rng(0)
    n = 400
    # a random symmetric positive matrix with a known positive vector v0
    W = sp.random(n, n, density=0.08, random_state=np.random.RandomState(2))
    W = (W + W.T + sp.identity(n)).tocsr()
    v0 = rng.uniform(0.5, 2.0, size=n)
    keep = 4
    Lt = _strongest_edges_laplacian(W, v0, keep)
    assert abs(Lt - Lt.T).max() == 0
    np.testing.assert_allclose(Lt @ v0, 1e-6 * Lt.diagonal() / (1 + 1e-6) * v0)
    # naive construction: for each row, its `keep` largest off-diagonal weights
    dense = W.toarray()
    np.fill_diagonal(dense, 0.0)
    kept = np.zeros_like(dense, dtype=bool)
    for i in range(n):
        row = dense[i]
        nonzero = np.flatnonzero(row)
        kept[i, nonzero[np.argsort(row[nonzero])[::-1][:keep]]] = True
    kept |= kept.T
    np.testing.assert_array_equal(-Lt.toarray()[kept], dense[kept])
    off = ~np.eye(n, dtype=bool)
    assert not Lt.toarray()[off & ~kept].any()


def test_amg_warns_when_lobpcg_stops_short(monkeypatch):
    monkeypatch.setattr(_eigensolvers, "_AMG_MAX_ITER", 1)
    S, trivial, _ = reflecting_path_kernel(600)
    with pytest.warns(UserWarning, match="Raise `eigen_tol`"):
        top_eigenpairs(
            S, 4, solver="amg", tol=1e-12, rng=np.random.RandomState(0), trivial=trivial
        )


def chosen_solver(monkeypatch, X, **fit_kw):
    seen = []

    def spy(S, k, **kw):
        seen.append(kw["solver"])
        return top_eigenpairs(S, k, **kw)

    monkeypatch.setattr(diffusion_map, "top_eigenpairs", spy)
    MahalanobisDiffusionMap(n_components=3, n_neighbors=20, random_state=0).fit(
        X, **fit_kw
    )
    return seen[0]


# which solver runs depends only on the graph's size and dimension; the
# 20-neighbour graph truncating the kernel (as the fit warns) is beside it
@pytest.mark.filterwarnings("ignore:The kNN graph .* cannot support:UserWarning")
def test_auto_picks_by_size_and_intrinsic_dimension(monkeypatch):
    _, y, J = singer_coifman(1000, seed=2)
    assert chosen_solver(monkeypatch, y, jacobians=J) == "shift-invert"
    monkeypatch.setattr(diffusion_map, "_AMG_MIN_SAMPLES", 1000)
    assert chosen_solver(monkeypatch, y, jacobians=J) == "amg"
    # a 4-D cube (estimated 2.3): the LU fill explodes, ARPACK it is
    cube = np.random.default_rng(0).uniform(size=(1000, 4))
    assert chosen_solver(monkeypatch, cube) == "arpack"


def test_amg_leaves_the_global_numpy_stream_alone():
    # pyamg draws from numpy's global generator; the solver seeds it from
    # random_state and restores the caller's state afterwards
    S, trivial, _ = reflecting_path_kernel(300)
    np.random.seed(7)  # noqa: NPY002
    expected = np.random.rand(3)  # noqa: NPY002
    np.random.seed(7)  # noqa: NPY002
    top_eigenpairs(
        S, 3, solver="amg", tol=1e-10, rng=np.random.RandomState(0), trivial=trivial
    )
    np.testing.assert_array_equal(np.random.rand(3), expected)  # noqa: NPY002
