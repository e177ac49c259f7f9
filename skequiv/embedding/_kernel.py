"""Squared Mahalanobis distances from precision factors, dense or on graph edges.

With factors ``P_i`` (r x m) such that ``P_i^T P_i = C_i^+``, the one-sided
squared distance from ``a`` to ``b`` is ``||P_a (y_a - y_b)||^2`` and the
symmetric one of Singer & Coifman is the mean of the two one-sided ones. No
m x m matrix is formed per pair: the cost is O(r m) per pair, vectorised in
chunks whose temporaries stay below ``_CHUNK_BYTES``.
"""

from typing import NamedTuple

import numpy as np

from skequiv.utils._threads import one_thread

_CHUNK_BYTES = 64 * 2**20
# factors larger than this (a wide layer: 64 x 1,024 floats is 512 KB) are
# not gathered per edge, which would copy each one once per neighbour
_LARGE_FACTOR_BYTES = 2**15
# samples averaged into the neighbour-search metric
_SEARCH_SAMPLES = 512


class LocalMetric(NamedTuple):
    """Per-sample metric ``dy^T (sum_k w_k p_k p_k^T + normal I) dy``.

    ``factors`` (n, r, m) are the rows ``p_k``, ``weights`` (n, r) their
    coefficients and ``normal`` an isotropic term. With the coefficients
    ``1 - normal (l_k + lam)`` this is the regularised pseudo-inverse on the
    span of ``C_i`` plus ``normal`` times the squared length of the part of
    ``dy`` outside it (see ``MahalanobisDiffusionMap(normal_penalty=...)``).
    """

    factors: np.ndarray
    weights: np.ndarray
    normal: float


def take_rows(P, rows):
    """Rows (a slice or indices) of plain factors or of a LocalMetric."""
    if isinstance(P, LocalMetric):
        return LocalMetric(P.factors[rows], P.weights[rows], P.normal)
    return P[rows]


def _parts(Pa):
    """``(factors, weights or None, normal)`` of plain factors or a LocalMetric."""
    if isinstance(Pa, LocalMetric):
        return Pa.factors, Pa.weights, Pa.normal
    return Pa, None, 0.0


def _rows_per_chunk(bytes_per_row):
    return max(1, int(_CHUNK_BYTES // max(1, bytes_per_row)))


def one_sided_dense(Ya, Pa, Yb):
    """``A[a, b] = ||P_a (y_a - y_b)||^2``; Euclidean ``||y_a - y_b||^2`` if Pa is None.

    Returns an ndarray of shape (len(Ya), len(Yb)).
    """
    na, nb = Ya.shape[0], Yb.shape[0]
    out = np.empty((na, nb), dtype=np.float64)
    if Pa is None:
        sq_b = np.einsum("ij,ij->i", Yb, Yb)
        step = _rows_per_chunk(8 * nb)
        for s in range(0, na, step):
            ya = Ya[s : s + step]
            block = np.einsum("ij,ij->i", ya, ya)[:, None] - 2.0 * ya @ Yb.T + sq_b
            # exact zero for coincident points, no negative round-off
            out[s : s + step] = np.maximum(block, 0.0)
        return out
    Pa, weights, normal = _parts(Pa)
    r = Pa.shape[1]
    Za = np.matmul(Pa, Ya[:, :, None])[:, :, 0]  # (na, r): P_a y_a
    step = _rows_per_chunk(8 * r * nb * 2)
    for s in range(0, na, step):
        Pab = np.matmul(Pa[s : s + step], Yb.T)  # (c, r, nb): P_a y_b
        Pab -= Za[s : s + step, :, None]
        if weights is None:
            out[s : s + step] = np.einsum("crb,crb->cb", Pab, Pab)
        else:
            out[s : s + step] = np.einsum(
                "crb,cr,crb->cb", Pab, weights[s : s + step], Pab
            )
    if normal:
        out += normal * one_sided_dense(Ya, None, Yb)
    return out


def symmetric_dense(Y, P):
    """``D2[a, b] = (||P_a (y_a - y_b)||^2 + ||P_b (y_a - y_b)||^2) / 2``.

    The mean of the one-sided matrix and its transpose, taken in place block by
    block, so that no second n x n array is allocated.
    """
    D2 = one_sided_dense(Y, P, Y)
    n = D2.shape[0]
    step = max(1, int(np.sqrt(_CHUNK_BYTES / 8)))
    for i in range(0, n, step):  # blocks of the upper triangle, not pairs
        for j in range(i, n, step):
            upper = D2[i : i + step, j : j + step]
            lower = D2[j : j + step, i : i + step]
            mean = 0.5 * (upper + lower.T)
            upper[...] = mean
            lower[...] = mean.T
    return D2


def one_sided_edges(Ya, Pa, Yb, ia, ib):
    """``A_e = ||P_{ia[e]} (y_{ia[e]} - y_{ib[e]})||^2`` for each edge ``e``.

    ``Pa`` None gives the Euclidean ``||y_a - y_b||^2``. Returns shape (n_edges,).
    Runs on one BLAS thread: its products are many small ones (per edge or per
    sample), on which multithreaded OpenBLAS stalls.
    """
    with one_thread(user_api="blas"):
        return _one_sided_edges(Ya, Pa, Yb, ia, ib)


def _one_sided_edges(Ya, Pa, Yb, ia, ib):
    n_edges = ia.shape[0]
    out = np.empty(n_edges, dtype=np.float64)
    m = Ya.shape[1]
    Pa, weights, normal = _parts(Pa)
    r = 1 if Pa is None else Pa.shape[1]
    if Pa is not None and 8 * r * m > _LARGE_FACTOR_BYTES:
        return _edges_by_source(Ya, Pa, weights, normal, Yb, ia, ib, out)
    step = _rows_per_chunk(8 * (m * (r + 2) + r))
    for s in range(0, n_edges, step):
        a, b = ia[s : s + step], ib[s : s + step]
        dy = Ya[a] - Yb[b]
        if Pa is None:
            out[s : s + step] = np.einsum("ij,ij->i", dy, dy)
            continue
        v = np.matmul(Pa[a], dy[:, :, None])[:, :, 0]
        if weights is None:
            out[s : s + step] = np.einsum("ij,ij->i", v, v)
        else:
            out[s : s + step] = np.einsum("ij,ij,ij->i", v, weights[a], v)
        if normal:
            out[s : s + step] += normal * np.einsum("ij,ij->i", dy, dy)
    return out


def _edges_by_source(Ya, Pa, weights, normal, Yb, ia, ib, out):
    """``one_sided_edges`` for large factors: one product per source sample.

    A loop over samples (not pairs): each factor is read once, against all of
    its sample's edges, instead of being copied once per edge.
    """
    order = np.argsort(ia, kind="stable")
    sources, starts = np.unique(ia[order], return_index=True)
    stops = np.append(starts[1:], order.size)
    for a, start, stop in zip(sources, starts, stops, strict=True):
        edges = order[start:stop]
        dy = Ya[a] - Yb[ib[edges]]
        v = dy @ Pa[a].T
        if weights is None:
            out[edges] = np.einsum("ij,ij->i", v, v)
        else:
            out[edges] = np.einsum("ij,j,ij->i", v, weights[a], v)
        if normal:
            out[edges] += normal * np.einsum("ij,ij->i", dy, dy)
    return out


def search_transform(factors, m):
    """Linear map for the neighbour search: the mean precision ``mean_i P_i^T P_i``.

    Returns ``T`` of shape (m, k) such that ``||dy @ T||^2`` is the squared
    distance in the sample-averaged Mahalanobis metric (``k`` its numerical
    rank), or None for the Euclidean case (no metric data).
    """
    if factors is None:
        return None
    factors = _parts(factors)[0]
    n, r, _ = factors.shape
    # the mean over evenly spaced samples: O(r m^2) per sample is seconds for
    # a wide layer, and the search needs the rough metric only
    factors = factors[:: max(1, n // _SEARCH_SAMPLES)]
    n = factors.shape[0]
    G = np.zeros((m, m))
    step = _rows_per_chunk(8 * r * m)
    for s in range(0, n, step):  # chunks: the factors may be a strided view
        flat = factors[s : s + step].reshape(-1, m)
        G += flat.T @ flat
    G = 0.5 * (G + G.T) / n
    evals, U = np.linalg.eigh(G)
    keep = evals > max(m, 1) * np.finfo(np.float64).eps * max(evals.max(), 0.0)
    if not keep.any():
        return None
    return U[:, keep] * np.sqrt(evals[keep])
