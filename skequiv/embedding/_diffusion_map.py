"""Mahalanobis diffusion maps (Singer & Coifman 2008) with Nystrom out-of-sample."""

import numbers
import warnings
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    clone,
)
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from skequiv._compat import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
    validate_data,
)
from skequiv.embedding._bandwidth import bgh_epsilon
from skequiv.embedding._eigensolvers import top_eigenpairs
from skequiv.embedding._harmonics import local_linear_residuals
from skequiv.embedding._kernel import (
    one_sided_dense,
    one_sided_edges,
    search_transform,
    symmetric_dense,
)
from skequiv.embedding._neighbours import local_kneighbors, training_neighbours
from skequiv.metric._factors import (
    check_metric_data,
    precision_factors,
    warn_if_ranks_vary,
)

__all__ = ["MahalanobisDiffusionMap"]

# below this many samples the eigenproblem is solved densely (exact, deterministic)
_DENSE_EIGEN_MAX = 500
# a kernel row whose off-diagonal weights sum below this has no neighbours
_VANISHING_ROW = 1e-12
# dense kernels: weights below exp(-36.84) = 1e-16 are dropped before a sparse
# eigensolver, used when at most this fraction of the weights remain
_NEGLIGIBLE_EXPONENT = -np.log(1e-16)
_SPARSE_ENOUGH = 0.1
# up to this estimated intrinsic dimension the kernel graph is 2-D-like: sparse
# LU fill stays modest (the estimate reads 2.2 on a uniform 3-D cube)
_LOW_DIMENSION = 2.0
# edges whose distances estimate that dimension when epsilon is given: enough
# to +-0.02 (standard deviation 0.006 on a 2-D rectangle and a 3-D cube), 4x
# faster than the 2**18 that choosing epsilon uses
_DIMENSION_SAMPLE = 2**16
# from here on multigrid LOBPCG (O(n)) beats shift-invert (O(n^1.5)) on such
# graphs (they tie at 100,000); benchmarks/results/eigensolvers.md has the
# measurements
_AMG_MIN_SAMPLES = 100_000


def _n_components_dense(adjacency):
    """Connected components of a dense symmetric boolean adjacency matrix.

    Breadth-first search one frontier at a time: every row is read once, so the
    cost is O(n^2) boolean operations, with no n^2 sparse copy of the kernel
    (which costs more than the rest of a dense fit).
    """
    unvisited = np.ones(adjacency.shape[0], dtype=bool)
    n_comp = 0
    while unvisited.any():
        n_comp += 1
        frontier = np.zeros_like(unvisited)
        frontier[np.argmax(unvisited)] = True
        unvisited &= ~frontier
        while frontier.any():
            frontier = adjacency[frontier].any(axis=0) & unvisited
            unvisited &= ~frontier
    return n_comp


def _scaled(W, s):
    """``diag(s) W diag(s)`` for CSR ``W``, entry by entry.

    Sparse products would sort and copy the indices twice; on 10^7 entries in
    random order that costs seconds.
    """
    rows = np.repeat(np.arange(W.shape[0]), np.diff(W.indptr))
    data = W.data * s[rows] * s[W.indices]
    return sp.csr_matrix((data, W.indices, W.indptr), shape=W.shape)


class MahalanobisDiffusionMap(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Diffusion map with a per-sample Mahalanobis metric (Singer & Coifman 2008).

    Embeds observations ``y_i`` (the rows of ``X``) of intrinsic points ``x_i``
    so that the coordinates are, up to sign and scale, the Neumann
    eigenfunctions of the intrinsic space -- independent of the (nonlinear)
    observation map, provided each sample carries its local metric: Jacobians
    ``J_i = dy/dx`` or covariances ``C_i = J_i J_i^T``. Without metric data it is
    an ordinary (Euclidean) diffusion map (Coifman & Lafon 2006).

    Conventions:

    - distance ``d^2(i, j) = 1/2 (y_i - y_j)^T (C_i^+ + C_j^+) (y_i - y_j)``,
      computed as ``1/2 (||P_i dy||^2 + ||P_j dy||^2)`` from rank-r factors
      ``P_i^T P_i = C_i^+`` (never an m x m inverse per pair);
    - kernel ``W_ij = exp(-d^2(i, j) / epsilon)`` (no factor 4), self-weight 1;
    - alpha-normalisation ``W^a_ij = W_ij / (q_i^a q_j^a)``, ``q = W 1``;
    - ``eigenvalues_`` are those of the Markov matrix ``D^-1 W^a``
      (``D = diag(W^a 1)``), in descending order, without the trivial
      ``lambda_0 = 1``; computed from the symmetric conjugate
      ``D^-1/2 W^a D^-1/2``;
    - eigenvectors ``psi_k`` are right eigenvectors of the Markov matrix,
      scaled so that ``sum_i pi_i psi_k(i)^2 = 1`` with ``pi`` its stationary
      distribution (so ``psi_0 = 1``); the sign makes each vector's entry of
      largest magnitude positive;
    - ``transform`` returns ``lambda_k^t psi_k`` with ``t = diffusion_time``;
      the default ``t = 0`` returns the plain ``psi_k``.

    Parameters
    ----------
    n_components : int, default=2
        Number of coordinates returned.
    epsilon : "bgh" or float, default="bgh"
        Kernel scale. ``"bgh"`` chooses it from the data: the maximum slope of
        ``log sum_ij W_ij(eps)`` against ``log eps`` (Berry & Harlim 2016), whose
        value also estimates the intrinsic dimension (``dimension_``).
    alpha : float in [0, 1], default=1.0
        Density normalisation; 1 gives the Laplace-Beltrami operator whatever
        the sampling density, 0 the graph Laplacian.
    n_neighbors : int or None, default=64
        ``None``: dense kernel over all pairs (exact; memory O(n^2)). An int
        ``k``: sparse graph of each sample's ``k`` nearest neighbours (made
        symmetric by union), searched in the sample-averaged Mahalanobis metric
        (plain Euclidean without metric data); the weights on these edges use
        the per-pair Mahalanobis distance. ``k`` is capped at ``n_samples - 1``.
    rank : int, float or None, default=None
        Components of each ``C_i`` kept in its pseudo-inverse: ``None`` the
        numerical rank, an int the ``rank`` largest, a float in (0, 1) those
        with eigenvalue above ``rank`` times the largest.
    regularization : float, default=0.0
        ``lam``: invert kept eigenvalues as ``1 / (l + lam)``; with ``rank=None``
        and ``lam > 0`` the precision is ``(C_i + lam I)^-1``.
    metric : metric source or None, default=None
        An estimator with ``fit(X)`` and ``metric_data(X)`` (e.g.
        :class:`~skequiv.FunctionMetric`, :class:`~skequiv.BurstCovarianceMetric`,
        :class:`~skequiv.NetworkActivations`). It is cloned and fitted on ``X``,
        which then holds the *inputs*; the diffusion map embeds the
        observations it returns. Clone-safe alternative to passing
        ``jacobians``/``covariances`` as metadata.
    diffusion_time : float, default=0
        ``t`` in ``lambda_k^t psi_k``.
    drop_harmonics : bool, default=False
        Keep only non-harmonic eigenvectors, scored by leave-one-out local
        linear regression on the earlier ones (Dsilva et al. 2018).
    n_eigenpairs : int or None, default=None
        Non-trivial eigenpairs computed; default ``n_components``, or
        ``2 * n_components + 4`` with ``drop_harmonics``.
    harmonic_threshold : float, default=0.1
        With ``drop_harmonics``, eigenvectors with residual above this are new
        directions.
    eigen_solver : {"auto", "dense", "arpack", "shift-invert", "amg"}, \
            default="auto"
        How the top eigenpairs of ``D^-1/2 W^a D^-1/2`` are found. ``"dense"``:
        LAPACK on the full matrix (exact; O(n^3)). ``"arpack"``: Lanczos on the
        matrix itself (memory O(nk), but the iterations grow like
        ``1 / sqrt(1 - lambda_1)``, i.e. with ``sqrt(n / k)``). ``"shift-invert"``:
        Lanczos on ``((1 + delta) I - S)^-1`` through a sparse LU factorisation,
        which converges in a few dozen steps; on the graph of a 2-D manifold
        the LU costs O(n^1.5), and its fill-in explodes in higher dimension.
        ``"amg"``: LOBPCG on ``I - S`` orthogonal to the known trivial
        eigenvector, preconditioned by smoothed-aggregation multigrid (pyamg)
        built on each sample's 18 strongest edges: O(n) work per iteration
        and an iteration count that grows only slowly with n (28 at 20,000
        samples, 43 at 300,000). ``"auto"``: dense
        below 500 samples; else, on a graph whose estimated intrinsic
        dimension (``dimension_``, or the same estimate made internally) is
        at most 2, shift-invert below 100,000 samples and amg from there (the
        measured crossover); above dimension 2, ARPACK. A dense kernel
        (``n_neighbors=None``) counts as a sparse graph when at least 90% of
        its weights fall below 1e-16 (invisible beside the unit self-weight
        in float64): those are dropped, and the eigenvalues agree with LAPACK
        on all pairs to rounding. Sparse solvers first reorder the samples
        (reverse Cuthill-McKee) so that products with the kernel read memory
        in order.
    eigen_tol : float, default=1e-10
        Tolerance of the iterative eigensolvers: ARPACK's relative accuracy
        of the Ritz values, and for ``"amg"`` the residual norm
        ``||(I - S) psi - mu psi||`` of each unit eigenvector.
    n_jobs : int or None, default=None
        Parallel jobs for the neighbour search.
    random_state : int, RandomState instance or None, default=None
        Seeds the eigensolver's start vector and the subsamples used to choose
        ``epsilon`` and to score harmonics.

    Attributes
    ----------
    eigenvalues_ : ndarray of shape (n_eigenpairs,)
        Non-trivial Markov eigenvalues, descending.
    eigenvectors_ : ndarray of shape (n_samples, n_eigenpairs)
        ``psi_k`` at the training samples (without ``lambda_k^t``).
    embedding_ : ndarray of shape (n_samples, n_components)
        Training coordinates, as ``fit_transform`` returns them.
    selected_ : ndarray of shape (n_components,)
        Columns of ``eigenvectors_`` used as coordinates.
    residuals_ : ndarray of shape (n_eigenpairs,) or None
        Local-linear-regression residual of each eigenvector (with
        ``drop_harmonics``), else None.
    epsilon_ : float
        Kernel scale used.
    dimension_ : float or None
        Intrinsic dimension estimate (twice the maximal slope) when
        ``epsilon="bgh"``, else None.
    ranks_ : ndarray of shape (n_samples,) or None
        Rank of the precision kept for each training sample; None without
        metric data.
    metric_ : estimator or None
        The fitted clone of ``metric``.
    n_neighbors_ : int or None
        Neighbours used (after capping); None in dense mode.
    n_features_in_ : int
        Number of features of ``X`` seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features of ``X``, when they are all strings.

    See Also
    --------
    sklearn.manifold.SpectralEmbedding : Laplacian eigenmaps, without
        out-of-sample extension or per-sample metric.

    Notes
    -----
    With Jacobians of an immersion, ``d^2 = ||x_i - x_j||^2 + O(||dy||^4)``:
    the metric is only locally right, so a sparse neighbour graph (the
    default) is the natural kernel. Out-of-sample points are embedded by the
    Nystrom extension ``psi_k(y) = lambda_k^-1 sum_j M(y, y_j) psi_k(y_j)``
    with the same alpha-normalisation; their distance to the training points
    is the symmetric one when their own metric data is given, else the
    one-sided ``dy^T C_j^+ dy``. ``fit_transform`` returns the eigenvectors
    themselves; in sparse mode ``transform`` of the training data agrees with
    them up to the symmetrisation of the neighbour graph.

    References
    ----------
    A. Singer and R. R. Coifman, "Non-linear independent component analysis
    with diffusion maps", Appl. Comput. Harmon. Anal. 25 (2008).
    R. R. Coifman and S. Lafon, "Diffusion maps", ACHA 21 (2006).
    T. Berry and J. Harlim, "Variable bandwidth diffusion kernels", ACHA 40
    (2016).
    C. J. Dsilva, R. Talmon, R. R. Coifman and I. G. Kevrekidis, "Parsimonious
    representation of nonlinear dynamical systems through manifold learning",
    ACHA 44 (2018).

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv import MahalanobisDiffusionMap
    >>> rng = np.random.default_rng(0)
    >>> t = np.sort(rng.uniform(0, 1, 300))
    >>> X = np.c_[t, t**3]                      # a curve observed nonlinearly
    >>> J = np.stack([np.ones_like(t), 3 * t**2], axis=1)[:, :, None]
    >>> dmap = MahalanobisDiffusionMap(n_components=1, random_state=0)
    >>> psi = dmap.fit_transform(X, jacobians=J)
    >>> psi.shape
    (300, 1)
    >>> bool(abs(np.corrcoef(psi[:, 0], np.cos(np.pi * t))[0, 1]) > 0.99)
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "epsilon": [
            StrOptions({"bgh"}),
            Interval(numbers.Real, 0, None, closed="neither"),
        ],
        "alpha": [Interval(numbers.Real, 0, 1, closed="both")],
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "rank": [
            Interval(numbers.Integral, 1, None, closed="left"),
            Interval(numbers.Real, 0, 1, closed="neither"),
            None,
        ],
        "regularization": [Interval(numbers.Real, 0, None, closed="left")],
        "metric": [HasMethods(["fit", "metric_data"]), None],
        "diffusion_time": [Interval(numbers.Real, 0, None, closed="left")],
        "drop_harmonics": ["boolean"],
        "n_eigenpairs": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "harmonic_threshold": [Interval(numbers.Real, 0, 1, closed="both")],
        "eigen_solver": [
            StrOptions({"auto", "dense", "arpack", "shift-invert", "amg"})
        ],
        "eigen_tol": [Interval(numbers.Real, 0, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components=2,
        *,
        epsilon="bgh",
        alpha=1.0,
        n_neighbors=64,
        rank=None,
        regularization=0.0,
        metric=None,
        diffusion_time=0,
        drop_harmonics=False,
        n_eigenpairs=None,
        harmonic_threshold=0.1,
        eigen_solver="auto",
        eigen_tol=1e-10,
        n_jobs=None,
        random_state=None,
    ):
        self.n_components = n_components
        self.epsilon = epsilon
        self.alpha = alpha
        self.n_neighbors = n_neighbors
        self.rank = rank
        self.regularization = regularization
        self.metric = metric
        self.diffusion_time = diffusion_time
        self.drop_harmonics = drop_harmonics
        self.n_eigenpairs = n_eigenpairs
        self.harmonic_threshold = harmonic_threshold
        self.eigen_solver = eigen_solver
        self.eigen_tol = eigen_tol
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ------------------------------------------------------------------ data
    def _observations_and_metric(self, X, jacobians, covariances, *, fitting):
        """Observations Y (n, m) and validated jacobians/covariances for X."""
        if self.metric is not None:
            if jacobians is not None or covariances is not None:
                raise ValueError(
                    "MahalanobisDiffusionMap got both a `metric` source and "
                    "`jacobians`/`covariances`; use one of them."
                )
            if fitting:
                self.metric_ = clone(self.metric).fit(X)
            md = self.metric_.metric_data(X)
            Y = np.asarray(md.observations, dtype=np.float64)
            if Y.ndim == 1:
                Y = Y.reshape(-1, 1)
            if Y.ndim != 2 or Y.shape[0] != X.shape[0]:
                raise ValueError(
                    f"The metric source returned observations of shape {Y.shape} "
                    f"for {X.shape[0]} samples; expected (n_samples, n_observed)."
                )
            if not np.all(np.isfinite(Y)):
                raise ValueError(
                    "The metric source returned NaN or infinite observations."
                )
            jacobians, covariances = md.jacobians, md.covariances
        else:
            if fitting:
                self.metric_ = None
            Y = X
        jacobians, covariances = check_metric_data(
            Y.shape[0], Y.shape[1], jacobians, covariances
        )
        return Y, jacobians, covariances

    def _factors(self, jacobians, covariances):
        if jacobians is None and covariances is None:
            return None, None
        return precision_factors(
            jacobians,
            covariances,
            rank=self.rank,
            regularization=self.regularization,
        )

    # ------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, *, jacobians=None, covariances=None):
        """Compute the diffusion-map eigenpairs of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations, or the metric source's inputs when ``metric`` is set.
        y : None
            Ignored.
        jacobians : array-like of shape (n_samples, m, d), default=None
            Per-sample Jacobians ``dy/dx`` (metadata; route it with
            ``set_fit_request(jacobians=True)``).
        covariances : array-like of shape (n_samples, m, m), default=None
            Per-sample covariances ``C_i`` (metadata).

        Returns
        -------
        self : object
        """
        self._fit(X, jacobians, covariances)
        return self

    def fit_transform(self, X, y=None, *, jacobians=None, covariances=None):
        """Fit and return the training coordinates (the eigenvectors themselves).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations, or the metric source's inputs.
        y : None
            Ignored.
        jacobians : array-like of shape (n_samples, m, d), default=None
            Per-sample Jacobians.
        covariances : array-like of shape (n_samples, m, m), default=None
            Per-sample covariances.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
        """
        self.fit(X, jacobians=jacobians, covariances=covariances)
        return self.embedding_.copy()

    def _fit(self, X, jacobians, covariances):
        X = validate_data(self, X, dtype=np.float64)
        n = X.shape[0]
        n_pairs = self.n_eigenpairs
        if n_pairs is None:
            n_pairs = (
                2 * self.n_components + 4 if self.drop_harmonics else self.n_components
            )
        if n_pairs < self.n_components:
            raise ValueError(
                f"n_eigenpairs={n_pairs} must be at least n_components="
                f"{self.n_components}."
            )
        if n < n_pairs + 2:
            raise ValueError(
                f"Found n_samples={n}, but MahalanobisDiffusionMap with "
                f"{n_pairs} eigenpair(s) needs at least {n_pairs + 2} samples "
                "(the trivial eigenvector plus one more); pass more samples or "
                "lower n_components."
            )
        rng = check_random_state(self.random_state)
        Y, jacobians, covariances = self._observations_and_metric(
            X, jacobians, covariances, fitting=True
        )
        factors, ranks = self._factors(jacobians, covariances)
        if ranks is not None:
            warn_if_ranks_vary(ranks, stacklevel=4)

        dense = self.n_neighbors is None
        if dense:
            if factors is None:
                D2 = one_sided_dense(Y, None, Y)
            else:
                D2 = symmetric_dense(Y, factors)
            np.fill_diagonal(D2, 0.0)
            self.n_neighbors_ = None
            self._nn = None
            self._search = None
        else:
            k = min(int(self.n_neighbors), n - 1)
            search = search_transform(factors, Y.shape[1])
            Z = Y if search is None else Y @ search
            nn = NearestNeighbors(n_neighbors=k, n_jobs=self.n_jobs).fit(Z)
            idx = training_neighbours(nn, Z, k)
            rows = np.repeat(np.arange(n), k)
            pattern = sp.csr_matrix(
                (np.ones(rows.size, dtype=np.int8), (rows, idx.ravel())), shape=(n, n)
            )
            pattern = sp.triu(pattern + pattern.T, k=1, format="coo")
            ei, ej = pattern.row.astype(np.intp), pattern.col.astype(np.intp)
            d2 = one_sided_edges(Y, factors, Y, ei, ej)
            if factors is not None:
                d2 = 0.5 * (d2 + one_sided_edges(Y, factors, Y, ej, ei))
            self.n_neighbors_ = k
            self._nn = nn
            self._search = search

        if self.epsilon == "bgh":
            if dense:
                iu = np.triu_indices(n, 1)
                values = D2[iu]
                n_total = n * (n - 1)
            else:
                values, n_total = d2, 2 * d2.size
            eps, dim = bgh_epsilon(values, n, n_total, rng)
            self.dimension_ = dim
        else:
            eps = float(self.epsilon)
            self.dimension_ = None
        solver = self.eigen_solver
        as_edges = not dense
        if solver == "auto":
            if n <= _DENSE_EIGEN_MAX:
                solver = "dense"
            elif dense:
                solver = "arpack"
                # Weights exp(-d2/eps) below 1e-16 vanish next to the unit
                # self-weight in float64. When most do, the dense kernel is a
                # sparse matrix stored densely: its edges go on as a kNN graph's
                # would, and a sparse solver beats Lanczos on all n^2 entries by
                # an order of magnitude, with eigenvalues equal to rounding.
                kept = D2 < eps * _NEGLIGIBLE_EXPONENT
                if kept.mean() <= _SPARSE_ENOUGH:
                    ei, ej = np.nonzero(np.triu(kept, 1))
                    d2 = D2[ei, ej]
                    solver = self._sparse_solver(d2, n, rng)
                    as_edges = solver != "arpack"
                    if as_edges:
                        del D2  # the n x n array is no longer needed
                del kept
            else:
                solver = self._sparse_solver(d2, n, rng)
        self.epsilon_ = eps

        if not as_edges:
            # in place: at n = 4,000 each n x n temporary costs as much as the
            # distances themselves
            W = np.multiply(D2, -1.0 / eps, out=D2)
            np.exp(W, out=W)
            offdiag = W.sum(axis=1) - 1.0
        else:
            w = np.exp(-d2 / eps)
            W = sp.coo_matrix(
                (
                    np.concatenate([w, w, np.ones(n)]),
                    (
                        np.concatenate([ei, ej, np.arange(n)]),
                        np.concatenate([ej, ei, np.arange(n)]),
                    ),
                ),
                shape=(n, n),
            ).tocsr()
            offdiag = np.asarray(W.sum(axis=1)).ravel() - 1.0
        self._check_graph(W, offdiag, knn=not dense)

        q = np.asarray(W.sum(axis=1)).ravel()
        q_alpha = q**self.alpha
        if not as_edges:
            Wa = W
            Wa /= q_alpha[:, None]
            Wa /= q_alpha[None, :]
        else:
            Wa = _scaled(W, 1.0 / q_alpha)
        deg = np.asarray(Wa.sum(axis=1)).ravel()
        inv_sqrt = 1.0 / np.sqrt(deg)
        if not as_edges:
            S = Wa
            S *= inv_sqrt[:, None]
            S *= inv_sqrt[None, :]
        else:
            S = _scaled(Wa, inv_sqrt)
        evals, evecs = top_eigenpairs(
            S,
            n_pairs + 1,
            solver=solver,
            tol=self.eigen_tol,
            rng=rng,
            trivial=np.sqrt(deg),
        )

        psi = evecs * (inv_sqrt * np.sqrt(deg.sum()))[:, None]
        if abs(evals[0] - 1.0) > 1e-6:  # pragma: no cover - numerical safeguard
            warnings.warn(
                f"The leading Markov eigenvalue is {evals[0]:.8f}, not 1; the "
                "eigensolver did not converge well. Lower `eigen_tol`.",
                UserWarning,
                stacklevel=3,
            )
        if evals[1] > 1.0 - 1e-10:
            warnings.warn(
                "The kernel graph is nearly disconnected (second Markov eigenvalue "
                f"{evals[1]:.12f} ~ 1): the leading coordinates are cluster "
                "indicators. Increase `epsilon` or `n_neighbors` for a geometric "
                "embedding.",
                UserWarning,
                stacklevel=3,
            )
        evals, psi = evals[1:], psi[:, 1:]
        big = np.argmax(np.abs(psi), axis=0)
        signs = np.sign(psi[big, np.arange(psi.shape[1])])
        signs[signs == 0] = 1.0
        psi *= signs

        if self.drop_harmonics:
            residuals = local_linear_residuals(psi, rng)
            selected = self._select_harmonics(residuals)
            self.residuals_ = residuals
        else:
            self.residuals_ = None
            selected = np.arange(self.n_components)

        self.eigenvalues_ = evals
        self.eigenvectors_ = psi
        self.selected_ = selected
        self.ranks_ = ranks
        self._Y = Y
        self._factors_train = factors
        self._log_q_alpha = self.alpha * np.log(q)
        self._n_features_out = self.n_components
        self.embedding_ = self._scale(psi[:, selected], evals[selected])
        return self

    def _sparse_solver(self, edge_d2, n, rng):
        """The fastest eigensolver for a sparse kernel graph, by measurement.

        On the graph of a manifold of intrinsic dimension up to 2 the sparse LU
        of shift-invert stays cheap below 100,000 samples, and above that the
        O(n) multigrid-preconditioned LOBPCG overtakes its O(n^1.5) growth. In
        higher dimension the LU fill explodes (8x slower than ARPACK on a 3-D
        cube at 20,000 samples) and ARPACK is the fastest. The dimension is
        ``dimension_`` when epsilon was chosen from the data, else the same
        estimate from the squared distances on the graph's edges ``edge_d2``.
        """
        dim = self.dimension_
        if dim is None:
            values = edge_d2
            n_total = 2 * values.size
            if values.size > _DIMENSION_SAMPLE:
                values = values[rng.randint(0, values.size, _DIMENSION_SAMPLE)]
            dim = bgh_epsilon(values, n, n_total, rng)[1]
        if dim > _LOW_DIMENSION:
            return "arpack"
        return "amg" if n >= _AMG_MIN_SAMPLES else "shift-invert"

    def _check_graph(self, W, offdiag, *, knn):
        isolated = np.flatnonzero(offdiag < _VANISHING_ROW)
        if isolated.size:
            raise ValueError(
                f"epsilon={self.epsilon_:.4g} is so small that {isolated.size} kernel "
                f"row(s) (e.g. sample {isolated[0]}) have no neighbour with weight "
                f"above {_VANISHING_ROW:g}. Pass a larger float `epsilon`"
                + (" or increase `n_neighbors`" if knn else "")
                + ", or remove outlying samples."
            )
        if sp.issparse(W):
            n_comp, _ = connected_components(W, directed=False)
        else:
            n_comp = _n_components_dense(W > 0.0)
        if n_comp > 1:
            raise ValueError(
                f"The kernel graph has {n_comp} connected components; a diffusion "
                "map needs one. Increase "
                + ("`n_neighbors` or " if knn else "")
                + "`epsilon`."
            )

    def _select_harmonics(self, residuals):
        new = np.flatnonzero(residuals > self.harmonic_threshold)
        selected = list(new[: self.n_components])
        if len(selected) < self.n_components:
            rest = [
                i for i in np.argsort(-residuals, kind="stable") if i not in selected
            ]
            selected += rest[: self.n_components - len(selected)]
            warnings.warn(
                f"Only {len(new)} of {residuals.size} eigenvectors have a harmonic "
                f"residual above harmonic_threshold={self.harmonic_threshold}; the "
                "rest of the coordinates are harmonics. Raise `n_eigenpairs` or lower "
                "`harmonic_threshold`.",
                UserWarning,
                stacklevel=4,
            )
        return np.sort(np.asarray(selected, dtype=np.intp))

    def _scale(self, psi, evals):
        if self.diffusion_time == 0:
            return np.ascontiguousarray(psi)
        return psi * evals**self.diffusion_time

    # ------------------------------------------------------------- transform
    def transform(self, X, *, jacobians=None, covariances=None):
        """Embed new samples by the Nystrom extension.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New observations, or the metric source's inputs.
        jacobians : array-like of shape (n_samples, m, d), default=None
            The new samples' Jacobians, for the symmetric distance (route with
            ``set_transform_request(jacobians=True)``).
        covariances : array-like of shape (n_samples, m, m), default=None
            The new samples' covariances.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        Y, jacobians, covariances = self._observations_and_metric(
            X, jacobians, covariances, fitting=False
        )
        if Y.shape[1] != self._Y.shape[1]:
            raise ValueError(
                f"The observations have {Y.shape[1]} features; the model was fitted "
                f"on {self._Y.shape[1]}."
            )
        has_new = jacobians is not None or covariances is not None
        Pt = self._factors_train
        if Pt is None and has_new:
            raise ValueError(
                "transform got `jacobians`/`covariances`, but the model was fitted "
                "without metric data (a Euclidean diffusion map). Fit with the "
                "training samples' metric data, or transform without it."
            )
        if Pt is not None and not has_new:
            warnings.warn(
                "The model was fitted with per-sample metric data but transform got "
                "none: using the one-sided distance dy^T C_j^+ dy to the training "
                "samples. Pass `jacobians`/`covariances` to transform (route them "
                "with set_transform_request) for the symmetric distance.",
                UserWarning,
                stacklevel=2,
            )
        Pq = None
        if has_new:
            Pq, _ = self._factors(jacobians, covariances)
        sel = self.selected_
        psi = self.eigenvectors_[:, sel] / self.eigenvalues_[sel]
        nq = Y.shape[0]
        out = np.empty((nq, sel.size))
        weak = 0
        if self._nn is None:
            n = self._Y.shape[0]
            step = max(1, (16 * 2**20) // (8 * n))
            for s in range(0, nq, step):
                Yq = Y[s : s + step]
                D2 = self._pair_sq_dists_dense(
                    Yq, None if Pq is None else Pq[s : s + step]
                )
                out[s : s + step], w = self._nystrom_rows(D2, None, psi)
                weak += w
        else:
            k = min(self.n_neighbors_ + 1, self._Y.shape[0])
            Z = Y if self._search is None else Y @ self._search
            idx = local_kneighbors(self._nn, Z, k)
            rows = np.repeat(np.arange(nq), k)
            cols = idx.ravel()
            if Pt is None:
                d2 = one_sided_edges(Y, None, self._Y, rows, cols)
            else:
                d2 = one_sided_edges(self._Y, Pt, Y, cols, rows)
                if Pq is not None:
                    d2 = 0.5 * (d2 + one_sided_edges(Y, Pq, self._Y, rows, cols))
            out[:], weak = self._nystrom_rows(d2.reshape(nq, k), idx, psi)
        if weak:
            warnings.warn(
                f"{weak} sample(s) lie beyond the kernel's reach of every training "
                f"sample (all weights below {_VANISHING_ROW:g} at epsilon="
                f"{self.epsilon_:.4g}); they get the coordinates of their nearest "
                "training samples.",
                UserWarning,
                stacklevel=2,
            )
        return self._scale(out, self.eigenvalues_[sel])

    def _pair_sq_dists_dense(self, Yq, Pq):
        Pt = self._factors_train
        if Pt is None:
            return one_sided_dense(Yq, None, self._Y)
        D2 = one_sided_dense(self._Y, Pt, Yq).T
        if Pq is not None:
            D2 = 0.5 * (D2 + one_sided_dense(Yq, Pq, self._Y))
        return D2

    def _nystrom_rows(self, D2, idx, psi):
        """Row-stochastic Nystrom weights (computed in log space) applied to psi."""
        logw = -D2 / self.epsilon_
        weak = int(np.sum(logw.max(axis=1) < np.log(_VANISHING_ROW)))
        # idx None: every training sample is a column (dense mode)
        log_q = self._log_q_alpha if idx is None else self._log_q_alpha[idx]
        logw = logw - log_q
        # q_new^alpha is a constant per row and cancels in the normalisation;
        # shifting by the row maximum keeps far points finite
        logw -= logw.max(axis=1, keepdims=True)
        M = np.exp(logw)
        M /= M.sum(axis=1, keepdims=True)
        if idx is None:
            return M @ psi, weak
        return np.einsum("ik,ikc->ic", M, psi[idx]), weak

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
