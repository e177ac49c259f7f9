"""Reference diffusion maps, written independently of skequiv, to score agreement.

A plain scipy transcription of Coifman & Lafon (2006) on a union-symmetrised
k-nearest-neighbour graph (k neighbours, the point itself excluded, plus the
self-loop W_ii = 1):

    W_ij = exp(-d_ij**2 / eps),  q = W 1,  W_a = Q^-alpha W Q^-alpha,
    D = diag(W_a 1),  S = D^-1/2 W_a D^-1/2 = V diag(lambda) V^T,  psi = D^-1/2 V.

For the Mahalanobis case d_ij**2 = 0.5 dy^T (C_i^+ + C_j^+) dy with C_i = J_i J_i^T,
evaluated with numpy's pinv of each Jacobian (no rank-r factor machinery).
Eigenpairs come from ARPACK with a tight tolerance; the trivial pair is dropped.
"""

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
from sklearn.neighbors import NearestNeighbors

K_EPSILON = 8  # epsilon = median squared distance to the 8th neighbour


def knn(Y, k):
    dist, ind = NearestNeighbors(n_neighbors=k).fit(Y).kneighbors()
    return dist, ind


def mahalanobis_sq(Y, jacobians, rows, cols, chunk=1_000_000):
    """0.5 dy^T (C_i^+ + C_j^+) dy for the edges (rows, cols)."""
    Jp = np.linalg.pinv(jacobians)  # (n, d, m); C^+ = Jp^T Jp
    out = np.empty(len(rows))
    for s in range(0, len(rows), chunk):
        r, c = rows[s : s + chunk], cols[s : s + chunk]
        dy = Y[r] - Y[c]
        a = np.einsum("edm,em->ed", Jp[r], dy)
        b = np.einsum("edm,em->ed", Jp[c], dy)
        out[s : s + chunk] = 0.5 * ((a * a).sum(1) + (b * b).sum(1))
    return out


def search_space(Y, jacobians):
    """Y mapped so that Euclidean distance is the sample-averaged Mahalanobis one.

    Candidate neighbours in the Mahalanobis case are the kNN in the metric
    G = mean_i C_i^+ (skequiv's documented rule, re-derived here from pinv).
    """
    if jacobians is None:
        return Y
    Jp = np.linalg.pinv(jacobians)
    G = np.einsum("ndm,ndl->ml", Jp, Jp) / len(Y)
    evals, U = np.linalg.eigh(0.5 * (G + G.T))
    keep = evals > G.shape[0] * np.finfo(float).eps * evals.max()
    return Y @ (U[:, keep] * np.sqrt(evals[keep]))


def graph(Y, k, jacobians=None):
    """Edges of the union-symmetrised kNN graph and their squared distances."""
    n = Y.shape[0]
    if k is None:  # every pair i != j
        rows = np.repeat(np.arange(n), n - 1)
        j = np.arange(n - 1)[None, :]
        cols = (j + (j >= np.arange(n)[:, None])).ravel()
        if jacobians is None:
            d2 = ((Y[rows] - Y[cols]) ** 2).sum(1)
        else:
            d2 = mahalanobis_sq(Y, jacobians, rows, cols)
        return rows, cols, d2
    _, ind = knn(search_space(Y, jacobians), k)
    rows = np.repeat(np.arange(n), k)
    cols = ind.ravel()
    A = scipy.sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    A = A.maximum(A.T).tocoo()
    rows, cols = A.row, A.col
    if jacobians is None:
        d2 = ((Y[rows] - Y[cols]) ** 2).sum(1)
    else:
        d2 = mahalanobis_sq(Y, jacobians, rows, cols)
    return rows, cols, d2


def choose_epsilon(n, rows, d2, k_eps=K_EPSILON):
    """Median over points of the squared distance to their k_eps-th neighbour."""
    order = np.lexsort((d2, rows))
    r, v = rows[order], d2[order]
    starts = np.searchsorted(r, np.arange(n))
    counts = np.diff(np.append(starts, len(r)))
    pos = starts + np.minimum(k_eps, counts) - 1
    return float(np.median(v[pos]))


def diffusion_operator(n, rows, cols, d2, epsilon, alpha=1.0):
    W = scipy.sparse.csr_matrix((np.exp(-d2 / epsilon), (rows, cols)), shape=(n, n))
    W = W + scipy.sparse.identity(n, format="csr")
    q = np.asarray(W.sum(axis=1)).ravel()
    Qa = scipy.sparse.diags(q**-alpha)
    Wa = (Qa @ W @ Qa).tocsr()
    deg = np.asarray(Wa.sum(axis=1)).ravel()
    return Wa, deg


def eigenpairs(Wa, deg, n_components, tol=1e-12):
    Dm = scipy.sparse.diags(deg**-0.5)
    S = (Dm @ Wa @ Dm).tocsr()
    S = 0.5 * (S + S.T)
    n = S.shape[0]
    v0 = np.sqrt(deg / deg.sum())  # the trivial eigenvector: a good start
    vals, vecs = scipy.sparse.linalg.eigsh(
        S,
        k=n_components + 1,
        which="LA",
        tol=tol,
        v0=v0 + 1e-3 * np.cos(np.arange(n)),
        ncv=max(2 * n_components + 12, 40),
    )
    order = np.argsort(-vals)
    vals, vecs = vals[order], vecs[:, order]
    psi = vecs / np.sqrt(deg)[:, None]
    return vals[1:], psi[:, 1:]


def rayleigh_eigenvalues(Wa, deg, vectors):
    """Markov eigenvalue implied by each vector: psi^T W_a psi / psi^T D psi."""
    num = np.einsum("ij,ij->j", vectors, Wa @ vectors)
    den = np.einsum("ij,ij->j", vectors, deg[:, None] * vectors)
    return num / den


def own_problem_residual(Wa, deg, vectors, drop_self_loops=False):
    """Relative residual of each vector on the eigenproblem W_a psi = lambda D psi.

    ``max_i |W_a psi - lambda D psi|_i / (|D psi|_inf (1 - lambda))`` with lambda the
    Rayleigh quotient. With ``drop_self_loops`` the operator is the one
    scikit-learn's normalised Laplacian uses (diagonal of the affinity ignored).
    """
    if drop_self_loops:
        diag = Wa.diagonal()
        Wa = Wa - scipy.sparse.diags(diag)
        deg = deg - diag
    lam = rayleigh_eigenvalues(Wa, deg, vectors)
    R = Wa @ vectors - deg[:, None] * vectors * lam
    scale = np.abs(deg[:, None] * vectors).max(axis=0) * np.abs(1.0 - lam)
    return np.abs(R).max(axis=0) / scale


def agreement(ref_vals, ref_vecs, vals, vecs):
    """Relative error of 1 - lambda and |corr| of eigenvectors, per component."""
    K = min(ref_vecs.shape[1], vecs.shape[1])
    corr = []
    for j in range(K):
        a, b = ref_vecs[:, j], vecs[:, j]
        a, b = a - a.mean(), b - b.mean()
        corr.append(float(abs(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b))))
    out = {"abs_corr": corr, "min_abs_corr": min(corr) if corr else float("nan")}
    if vals is not None:
        vals = np.asarray(vals)[:K]
        rel = np.abs(vals - ref_vals[:K]) / np.abs(1.0 - ref_vals[:K])
        out["eig_rel_err"] = [float(v) for v in rel]
        out["max_eig_rel_err"] = float(rel.max())
    return out
