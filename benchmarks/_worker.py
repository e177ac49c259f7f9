"""One measurement in one fresh process: load data, fit one implementation, report.

Run as ``<python of the implementation's env> _worker.py TASK.json``. This file
must import nothing but numpy and the implementation under test, because it runs
in the anchors' own environments (datafold pins scikit-learn 1.2 and numpy 1.26).

The task names an implementation, a data file (.npz with ``y`` and, for the
Mahalanobis case, ``jacobians``), the kernel settings in skequiv's conventions
(``epsilon`` for exp(-d**2 / epsilon), ``k`` neighbours excluding the point
itself, ``alpha``, ``n_components`` non-trivial eigenpairs) and output paths.
Each adapter converts those settings to the implementation's own conventions and
returns Markov eigenvalues (descending, the trivial 1 dropped) and the matching
eigenvectors, evaluated at the training points.

Only the fit is timed. Peak memory is the process's ``ru_maxrss`` at exit, so it
includes the interpreter, the imports and the data (reported separately as
``rss_before_fit_mb``).
"""

import json
import resource
import sys
import time
import warnings

import numpy as np


def _clock():
    return time.perf_counter(), time.process_time()


def _since(t0):
    """(wall seconds, CPU seconds of this process, all threads) since ``t0``."""
    return time.perf_counter() - t0[0], time.process_time() - t0[1]


def _rss_now_mb():
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:  # pragma: no cover - non-Linux
        return float("nan")


def _peak_rss_mb():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024.0 if sys.platform != "darwin" else peak / 2**20


def search_transform(precisions):
    """T with ||dy T||^2 = dy^T mean_i(C_i^+) dy: the sample-averaged metric.

    The Mahalanobis neighbour candidates of every implementation are the k
    nearest neighbours in this metric (skequiv's documented rule).
    """
    G = precisions.mean(axis=0)
    G = 0.5 * (G + G.T)
    evals, U = np.linalg.eigh(G)
    keep = evals > G.shape[0] * np.finfo(float).eps * evals.max()
    return U[:, keep] * np.sqrt(evals[keep])


def _symmetric_knn_pattern(Y, k, *, squared, transform=None):
    """Union-symmetrised k-nearest-neighbour graph with explicit zero diagonal.

    Used to hand datafold exactly the neighbour graph the other implementations
    build (datafold's own sparse backends are radius-based or non-symmetric).
    Distances are Euclidean in ``Y`` (only the pattern matters when
    ``transform`` is given: the Mahalanobis kernel overwrites the values).
    """
    import scipy.sparse
    from sklearn.neighbors import NearestNeighbors

    n = Y.shape[0]
    if k is None:  # every pair, as datafold's default dense distance
        # (kept sparse with the diagonal stored: a dense matrix would lose the
        # zero self-distances, and with them the kernel's self-weights)
        indptr = np.arange(n + 1) * n
        indices = np.tile(np.arange(n), n)
        if transform is None:
            sq = (Y * Y).sum(1)
            data = np.maximum(sq[:, None] + sq[None, :] - 2 * Y @ Y.T, 0.0)
            np.fill_diagonal(data, 0.0)
            data = data.ravel() if squared else np.sqrt(data.ravel())
        else:
            data = np.ones(n * n)
            data[:: n + 1] = 0.0
        return scipy.sparse.csr_matrix((data, indices, indptr), shape=(n, n))
    Z = Y if transform is None else Y @ transform
    dist, ind = NearestNeighbors(n_neighbors=k).fit(Z).kneighbors()
    if squared:
        dist = dist**2
    rows = np.repeat(np.arange(n), k)
    D = scipy.sparse.csr_matrix((dist.ravel(), (rows, ind.ravel())), shape=(n, n))
    D = D.maximum(D.T).tocoo()
    # datafold requires "real distance zeros" on the diagonal to be stored.
    r = np.concatenate([D.row, np.arange(n)])
    c = np.concatenate([D.col, np.arange(n)])
    v = np.concatenate([D.data, np.zeros(n)])
    return scipy.sparse.csr_matrix((v, (r, c)), shape=(n, n))


# --------------------------------------------------------------------------
# adapters: each returns (eigenvalues (K,), eigenvectors (n, K), info dict)
# --------------------------------------------------------------------------


def run_skequiv(data, p):
    from skequiv import MahalanobisDiffusionMap

    kwargs = dict(
        n_components=p["n_components"],
        epsilon=p["epsilon"],
        alpha=p["alpha"],
        n_neighbors=p["k"],
        random_state=0,
    )
    fit_kwargs = {}
    if p.get("mahalanobis"):
        kwargs["rank"] = p.get("rank", 2)
        # the reference's distance is the paper's plain 0.5 dy^T (C_i^+ + C_j^+) dy:
        # no ridge and no penalty on directions outside span(C_i)
        kwargs["regularization"] = 0.0
        kwargs["normal_penalty"] = 0.0
        fit_kwargs["jacobians"] = data["jacobians"]
    est = MahalanobisDiffusionMap(**kwargs)
    t0 = _clock()
    est.fit(data["y"], **fit_kwargs)
    elapsed = _since(t0)
    info = {}
    for name in ("epsilon_", "n_neighbors_", "dimension_"):
        if hasattr(est, name):
            try:
                info[name] = float(getattr(est, name))
            except (TypeError, ValueError):
                pass
    return elapsed, est.eigenvalues_, np.asarray(est.eigenvectors_), info


def run_datafold(data, p):
    import scipy.sparse
    from datafold.dynfold import DiffusionMaps
    from datafold.pcfold import GaussianKernel
    from datafold.pcfold.distance import DistanceAlgorithm
    from datafold.pcfold.kernels import MahalanobisKernel

    k = p["k"]
    mahalanobis = bool(p.get("mahalanobis"))

    class SymmetricKNN(DistanceAlgorithm):
        name = "bench.symmetric_knn"
        transform = None

        def __init__(self, metric):
            super().__init__(metric=metric, is_symmetric=True, k=k)

        @classmethod
        def is_symmetric(cls):  # datafold asks the class, too
            return True

        def __call__(self, X, Y=None):
            assert Y is None, "the benchmark only fits"
            return _symmetric_knn_pattern(
                np.asarray(X),
                k,
                squared=self.metric == "sqeuclidean",
                transform=self.transform,
            )

    # datafold's Gaussian and Mahalanobis kernels are exp(-d**2 / (2 eps)).
    eps_df = p["epsilon"] / 2.0
    Y = data["y"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = _clock()
        if mahalanobis:
            # MahalanobisKernel's `cov_matrices` must hold the INVERSE covariances
            # (precisions); it evaluates 0.5 dy^T (V_i + V_j) dy. A datafold user
            # computes them from the Jacobians, so this counts as datafold's time.
            Jp = np.linalg.pinv(data["jacobians"])  # (n, 2, m)
            prec = np.matmul(Jp.transpose(0, 2, 1), Jp)  # (J J^T)^+ = J+^T J+
            distance = SymmetricKNN("euclidean")
            distance.transform = search_transform(prec)
            kernel = MahalanobisKernel(epsilon=eps_df, distance=distance)
            kernel_kwargs = {"cov_matrices": prec}
        else:
            kernel = GaussianKernel(
                epsilon=eps_df, distance=SymmetricKNN("sqeuclidean")
            )
            kernel_kwargs = {}
        dmap = DiffusionMaps(
            kernel=kernel,
            n_eigenpairs=p["n_components"] + 1,
            alpha=p["alpha"],
            symmetrize_kernel=True,
        )
        dmap.fit(Y, kernel_kwargs=kernel_kwargs)
        elapsed = _since(t0)
    evals = np.asarray(dmap.eigenvalues_).real
    evecs = np.asarray(dmap.eigenvectors_).real
    if scipy.sparse.issparse(evecs):  # pragma: no cover
        evecs = evecs.toarray()
    order = np.argsort(-evals)
    evals, evecs = evals[order], evecs[:, order]
    return elapsed, evals[1:], evecs[:, 1:], {"trivial_eigenvalue": float(evals[0])}


def run_pydiffmap(data, p):
    from pydiffmap import diffusion_map

    # pyDiffMap: exp(-d**2 / (4 eps)); k counts the point itself; eigenvalues
    # are those of the generator L = (P - I) / eps, so lambda = 1 + eps * l.
    eps_p = p["epsilon"] / 4.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dmap = diffusion_map.DiffusionMap.from_sklearn(
            alpha=p["alpha"],
            k=p["k"] + 1,
            epsilon=eps_p,
            n_evecs=p["n_components"],
        )
        t0 = _clock()
        dmap.fit(data["y"])
        elapsed = _since(t0)
    evals = 1.0 + eps_p * np.asarray(dmap.evals).real
    evecs = np.asarray(dmap.evecs).real
    return elapsed, evals, evecs, {}


def run_sklearn(data, p):
    """scikit-learn has no diffusion map; its nearest route is SpectralEmbedding.

    Timed: the kNN graph, the Gaussian weights and the alpha-normalisation (the
    steps a user must write), then ``SpectralEmbedding(affinity="precomputed")``
    whose normalised Laplacian of W^alpha is the diffusion operator. Its
    eigenvalues are not exposed; the harness scores its vectors instead.
    """
    import scipy.sparse
    from sklearn.manifold import SpectralEmbedding
    from sklearn.neighbors import NearestNeighbors

    Y = data["y"]
    n, k = Y.shape[0], p["k"]
    t0 = _clock()
    W = NearestNeighbors(n_neighbors=k).fit(Y).kneighbors_graph(mode="distance")
    W.data = np.exp(-(W.data**2) / p["epsilon"])
    W = W.maximum(W.T) + scipy.sparse.identity(n, format="csr")
    if p["alpha"]:
        q = np.asarray(W.sum(axis=1)).ravel() ** -p["alpha"]
        Dq = scipy.sparse.diags(q)
        W = (Dq @ W @ Dq).tocsr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        emb = SpectralEmbedding(
            n_components=p["n_components"], affinity="precomputed", random_state=0
        ).fit(W)
    elapsed = _since(t0)
    evecs = np.asarray(emb.embedding_)
    return elapsed, None, evecs, {}


def run_skequiv_sparse(data, p):
    """skequiv's sparse mode with a generous k, scored against all pairs."""
    return run_skequiv(data, dict(p, k=p["k_sparse"]))


ADAPTERS = {
    "skequiv": run_skequiv,
    "skequiv_sparse": run_skequiv_sparse,
    "datafold": run_datafold,
    "pydiffmap": run_pydiffmap,
    "sklearn": run_sklearn,
}


def _skequiv_fingerprint():
    """Hash of the skequiv sources this process imported (the tree is shared and
    may change between runs; the harness records which code produced each run)."""
    import hashlib
    from pathlib import Path

    import skequiv

    pkg = Path(skequiv.__file__).parent
    h = hashlib.sha256()
    for sub in ("embedding", "metric"):
        for f in sorted((pkg / sub).glob("*.py")):
            h.update(f.read_bytes())
    return h.hexdigest()[:10]


def main(task_path):
    with open(task_path) as f:
        task = json.load(f)
    if task.get("memory_limit_gb"):
        lim = int(task["memory_limit_gb"] * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
    with np.load(task["data"]) as z:
        data = {name: np.array(z[name]) for name in z.files}
    adapter = ADAPTERS[task["impl"]]
    rss_before = _rss_now_mb()
    elapsed, evals, evecs, info = adapter(data, task["params"])
    K = task["params"]["n_components"]
    evecs = np.asarray(evecs, dtype=np.float64)[:, :K]
    out = {
        "status": "ok",
        "time_s": elapsed[0],
        "cpu_s": elapsed[1],
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_fit_mb": rss_before,
        "eigenvalues": None if evals is None else [float(v) for v in evals[:K]],
        "info": info,
        "versions": _versions(task["impl"]),
    }
    if task["impl"].startswith("skequiv"):
        out["skequiv_code"] = _skequiv_fingerprint()
    np.save(task["eigenvectors_out"], evecs)
    with open(task["result_out"], "w") as f:
        json.dump(out, f)


def _versions(impl):
    from importlib.metadata import PackageNotFoundError, version

    names = {
        "skequiv": "skequiv",
        "skequiv_sparse": "skequiv",
        "datafold": "datafold",
        "pydiffmap": "pydiffmap",
        "sklearn": "scikit-learn",
    }
    out = {"python": sys.version.split()[0]}
    for pkg in (names[impl], "numpy", "scipy", "scikit-learn"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


if __name__ == "__main__":
    main(sys.argv[1])
