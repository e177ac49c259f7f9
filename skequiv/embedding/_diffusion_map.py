"""Mahalanobis diffusion maps (Singer & Coifman 2008) with Nystrom out-of-sample."""

import inspect
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
from skequiv.embedding._bandwidth import bgh_epsilon, log_slopes
from skequiv.embedding._eigensolvers import amg_available, top_eigenpairs
from skequiv.embedding._harmonics import local_linear_residuals
from skequiv.embedding._kernel import (
    LocalMetric,
    one_sided_dense,
    one_sided_edges,
    search_transform,
    symmetric_dense,
    take_rows,
)
from skequiv.embedding._neighbours import local_kneighbors, training_neighbours
from skequiv.metric import (
    check_finite_scale,
    check_metric_data,
    check_spectra,
    precision_factors,
    resolve_regularization,
    warn_if_ranks_vary,
)
from skequiv.utils._threads import one_thread
from skequiv.utils._warnings import user_stacklevel

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
# edges lighter than this vanish beside the unit self-weight in float64; they
# are dropped, which also splits nearly disconnected graphs into components
_NEGLIGIBLE_WEIGHT = 1e-16
# epsilon="bgh" is floored so that each sample's min_neighbors-th neighbour
# keeps weight exp(-16) ~ 1e-7, well above the vanishing rows' 1e-12
_FLOOR_EXPONENT = 16.0
# with rank-deficient metric data, invariance under y -> A y was measured to
# hold (|corr(psi_1, cos pi t)| > 0.99 for 10 random A, curve in R^3) from here
_INVARIANT_MIN_SAMPLES = 300
# epsilon="bgh" on a kNN graph: non-edge pairs sampled to stand for the pairs
# beyond the neighbour radius (all of them below this many)
_FAR_PAIRS = 2**16
# above this fraction of the kernel weight on non-edge pairs, the kNN graph is
# too small for epsilon (a line in R^10, 300 samples: 0.54 to 0.72 with 10
# neighbours, where a gap can split the graph; below 0.04 with 64). Digit
# classifiers' probabilities (clusters, 10 classes, 1,198 samples): 0.53 with
# 64 neighbours, held-out R² 0.23 / 0.33 against 0.99 with the dense kernel
_MAX_LOST_WEIGHT = 0.25
# n_neighbors="auto": the graph's neighbours, and up to how many samples a
# graph that cannot support the scale gives way to the dense kernel (n x n
# distances: 128 MB)
_AUTO_NEIGHBOURS = 64
_AUTO_DENSE_MAX = 4_000
# with metric data, above this ratio of the all-pairs scale to the edges' one
# the graph caps the scale (measured 27-108 where it fails, 1.1-4.4 where not)
_MAX_SCALE_RATIO = 10.0
# ... unless the all-pairs slope also peaks within an octave of the edges'
# scale, at least half as steep as its maximum: clustered data, whose scales
# within and between clusters both show (a digit MLP's hidden layer: peaks of
# 1.04 at the edges' 2.6 and 1.05 at 46; held-out R² 0.83 / 0.82 with the
# 64-neighbour graph, 0.82 / 0.82 dense)
_OWN_PEAK_OCTAVES = 1.0
_OWN_PEAK_HEIGHT = 0.5
# n_components="auto": leading eigenpairs scored for harmonics
_AUTO_EIGENPAIRS = 16


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
    n_components : int or "auto", default="auto"
        Number of coordinates returned. ``"auto"``: every eigenvector, among
        the leading ``n_eigenpairs`` (default 16), that is not a harmonic of
        the earlier ones (local linear regression residual above
        ``harmonic_threshold``, Dsilva et al. 2018): one per intrinsic
        direction on a manifold, plus one per cluster indicator on clustered
        data (the ``n_connected_components_ - 1`` leading coordinates, kept
        whatever their residual). ``selected_`` says which.
    epsilon : "bgh" or float, default="bgh"
        Kernel scale. ``"bgh"`` chooses it from the data: the maximum slope of
        ``log sum_ij W_ij(eps)`` against ``log eps`` (Berry & Harlim 2016), whose
        value also estimates the intrinsic dimension (``dimension_``), raised
        where needed so that every sample's ``min_neighbors``-th nearest
        neighbour keeps a kernel weight of at least ``exp(-16)``: on clustered
        data (classifier outputs) the slope alone can leave samples without
        neighbours. On a kNN graph without metric data, the pairs beyond the
        neighbours enter the sum through a sample of them (else a small
        ``n_neighbors`` shrinks the scale toward disconnection); with metric
        data, valid only locally, the sum stays on the graph's edges.
    min_neighbors : int, default=8
        With ``epsilon="bgh"``, the neighbours each sample keeps (above). A
        float ``epsilon`` is used as given.
    alpha : float in [0, 1], default=1.0
        Density normalisation; 1 gives the Laplace-Beltrami operator whatever
        the sampling density, 0 the graph Laplacian.
    n_neighbors : "auto", int or None, default="auto"
        ``None``: dense kernel over all pairs (exact; memory O(n^2)). An int
        ``k``: sparse graph of each sample's ``k`` nearest neighbours (made
        symmetric by union), searched in the sample-averaged Mahalanobis metric
        (plain Euclidean without metric data); the weights on these edges use
        the per-pair Mahalanobis distance. ``k`` is capped at ``n_samples - 1``.
        The fit warns when the pairs beyond the graph carry more than a quarter
        of the kernel weight at ``epsilon_`` (the graph truncates the kernel).
        ``"auto"``: 64 neighbours, and the dense kernel instead where that
        graph would truncate the kernel and there are at most 4,000 samples
        (clustered data such as classifier probabilities, whose scale is the
        distance between clusters); ``n_neighbors_`` says which was used.
    rank : int, float or None, default=1e-8
        Components of each ``C_i`` kept in its pseudo-inverse: ``None`` the
        numerical rank, an int the ``rank`` largest, a float in (0, 1) those
        with eigenvalue above ``rank`` times the largest. The default drops
        the directions a map does not reach (normal to the data manifold)
        before ``regularization`` bounds the kept ones.
    regularization : "auto" or float, default="auto"
        ``lam``: invert kept eigenvalues as ``1 / (l + lam)``; with ``rank=None``
        and ``lam > 0`` the precision is ``(C_i + lam I)^-1``. ``"auto"``:
        ``1e-3`` times the median over samples of the largest eigenvalue of
        ``C_i`` (``||J_i||_2^2``), so that samples where a unit saturates or
        the map folds (near-singular ``C_i``) do not drift away from their
        neighbours; free of units. ``0`` gives the plain pseudo-inverse.
    normal_penalty : float, default=10.0
        Where ``C_i`` is rank-deficient (more observed features than
        intrinsic ones, e.g. a curve in R^3 or a wide hidden layer), the
        pseudo-inverse ignores the part of ``y_i - y_j`` outside the span of
        ``C_i``, so far-apart samples can look close and invariance under
        ``y -> A y`` fails. That part's squared length is added with weight
        ``normal_penalty / median_i l_1(C_i)``: between true neighbours it is
        of order ``|dy|^4`` (curvature), between far samples it dominates.
        ``0`` gives Singer & Coifman's metric unchanged; full-rank metrics
        are unaffected.
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
    harmonic_threshold : float, default=0.4
        With ``drop_harmonics`` or ``n_components="auto"``, eigenvectors with
        residual above this are new directions. Local linear regression is
        biased on curved harmonics: they score up to 0.2 on rectangles
        (``cos pi x`` after ``cos pi x / 2``) and 0.29 on a swiss roll, where
        new directions score 0.61 to 1 (a strip, the Singer-Coifman
        rectangle, a square, a swiss roll); 0.1 picked harmonics.
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
        measured crossover); above dimension 2, ARPACK. Should an iterative
        solver fail (ARPACK without convergence), the fit warns and falls back
        to LAPACK (up to 14,000 samples) or shift-invert. ``"amg"`` needs
        pyamg, the ``amg`` extra (``pip install skequiv[amg]``); without it
        ``"auto"`` uses shift-invert at any size. A graph with several
        connected components (after dropping weights below 1e-16) is solved
        one component at a time. A dense kernel
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
    embedding_ : ndarray of shape (n_samples, n_components_)
        Training coordinates, as ``fit_transform`` returns them (at the
        current ``diffusion_time``).
    selected_ : ndarray of shape (n_components_,)
        Columns of ``eigenvectors_`` used as coordinates.
    n_components_ : int
        Number of coordinates (``n_components``, or the number chosen).
    residuals_ : ndarray of shape (n_eigenpairs,) or None
        Local-linear-regression residual of each eigenvector (with
        ``drop_harmonics`` or ``n_components="auto"``), else None.
    regularization_ : float or None
        The ridge ``lam`` used (``"auto"`` resolved on the training data and
        kept for ``transform``); None without metric data.
    n_connected_components_ : int
        Connected components of the kernel graph; with more than one, the
        leading ``n_connected_components_ - 1`` coordinates (eigenvalue 1)
        separate the components.
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
        "n_components": [
            Interval(numbers.Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "epsilon": [
            StrOptions({"bgh"}),
            Interval(numbers.Real, 0, None, closed="neither"),
        ],
        "min_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "alpha": [Interval(numbers.Real, 0, 1, closed="both")],
        "n_neighbors": [
            Interval(numbers.Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
            None,
        ],
        "rank": [
            Interval(numbers.Integral, 1, None, closed="left"),
            Interval(numbers.Real, 0, 1, closed="neither"),
            None,
        ],
        "regularization": [
            StrOptions({"auto"}),
            Interval(numbers.Real, 0, None, closed="left"),
        ],
        "normal_penalty": [Interval(numbers.Real, 0, None, closed="left")],
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
        n_components="auto",
        *,
        epsilon="bgh",
        min_neighbors=8,
        alpha=1.0,
        n_neighbors="auto",
        rank=1e-8,
        regularization="auto",
        normal_penalty=10.0,
        metric=None,
        diffusion_time=0,
        drop_harmonics=False,
        n_eigenpairs=None,
        harmonic_threshold=0.4,
        eigen_solver="auto",
        eigen_tol=1e-10,
        n_jobs=None,
        random_state=None,
    ):
        self.n_components = n_components
        self.epsilon = epsilon
        self.min_neighbors = min_neighbors
        self.alpha = alpha
        self.n_neighbors = n_neighbors
        self.rank = rank
        self.regularization = regularization
        self.normal_penalty = normal_penalty
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
        """Observations Y (n, m) and their validated metric data, as a dict.

        The dict holds at most one of ``jacobians``, ``covariances`` and
        ``spectra`` (what a source that reduces Jacobians in chunks returns).
        """
        if self.metric is None:
            if fitting:
                self.metric_ = None
            Y, metric = X, {"jacobians": jacobians, "covariances": covariances}
        else:
            if jacobians is not None or covariances is not None:
                raise ValueError(
                    "MahalanobisDiffusionMap got both a `metric` source and "
                    "`jacobians`/`covariances`; use one of them."
                )
            if fitting:
                self.metric_ = clone(self.metric).fit(X)
            Y, metric = _source_metric_data(self.metric_, X)
        check_finite_scale(Y, name="X" if self.metric is None else "observations")
        if metric.get("spectra") is not None:
            spectra = check_spectra(
                metric["spectra"],
                n_samples=Y.shape[0],
                n_features=Y.shape[1],
                where="MahalanobisDiffusionMap",
            )
            return Y, {"spectra": spectra}
        jacobians, covariances = check_metric_data(
            metric["jacobians"],
            metric["covariances"],
            n_samples=Y.shape[0],
            n_features=Y.shape[1],
            where="MahalanobisDiffusionMap",
        )
        if jacobians is not None:
            return Y, {"jacobians": jacobians}
        if covariances is not None:
            return Y, {"covariances": covariances}
        return Y, {}

    def _factors(self, metric, *, fitting):
        """The local metric of each sample (a LocalMetric) and its rank.

        The data-dependent constants (the ``"auto"`` ridge and the normal
        weight) are fixed at fit, so that ``transform`` of any batch agrees.
        """
        if not metric:
            return None, None
        if fitting:
            self.regularization_ = resolve_regularization(
                self.regularization, _top_eigenvalues(**metric)
            )
        factors, ranks, kept = precision_factors(
            **metric,
            rank=self.rank,
            regularization=self.regularization_,
            return_eigenvalues=True,
        )
        if fitting:
            self._normal = self._normal_weight(kept, ranks, factors.shape[2])
        if self._normal == 0:
            return factors, ranks
        weights = np.where(kept > 0, 1.0 - self._normal * kept, 0.0)
        return LocalMetric(factors, weights, self._normal), ranks

    def _normal_weight(self, kept, ranks, m):
        """Weight of the part of ``dy`` outside span(C_i); 0 where there is none.

        That part is O(dy^2) (curvature) between true neighbours but O(1)
        between far samples that a rank-deficient metric alone would call
        close; it is weighed like the typical kept direction.
        """
        if self.normal_penalty == 0 or ranks.min() == m:
            return 0.0
        if ranks.size < _INVARIANT_MIN_SAMPLES:
            warnings.warn(
                f"Only {ranks.size} samples with rank-deficient metric data: below "
                f"{_INVARIANT_MIN_SAMPLES} the embedding is not reliably invariant "
                "under y -> A y (the metric is valid only locally and the "
                "neighbourhoods are too wide). Pass more samples.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        return self.normal_penalty / np.median(kept[:, 0])

    @property
    def embedding_(self):
        """Training coordinates, as ``fit_transform`` returns them.

        Computed from ``eigenvectors_``, ``eigenvalues_`` and ``selected_`` at
        the current ``diffusion_time``, so that it agrees with ``transform``
        after ``set_params(diffusion_time=...)``.
        """
        check_is_fitted(self, "eigenvectors_")
        sel = self.selected_
        return self._scale(self.eigenvectors_[:, sel], self.eigenvalues_[sel])

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
        return self.embedding_

    def _fit(self, X, jacobians, covariances):
        X = validate_data(self, X, dtype=np.float64)
        n_pairs = self._n_eigenpairs(X.shape[0])
        rng = check_random_state(self.random_state)
        self.regularization_ = None
        Y, factors, ranks = self._observations_and_factors(X, jacobians, covariances)
        k = _AUTO_NEIGHBOURS if self.n_neighbors == "auto" else self.n_neighbors
        graph = self._squared_distances(Y, factors, rng, k)
        self.epsilon_, self.dimension_ = self._choose_epsilon(
            graph, rng, local=factors is not None
        )
        if "far" in graph:
            graph = self._graph_for_the_scale(Y, factors, graph, rng)
        W, solver = self._kernel(graph, rng)
        del graph  # the n x n distances, in dense mode, are no longer needed
        labels = self._components(W)
        evals, psi, q = _diffusion_eigenpairs(
            W,
            labels,
            n_pairs,
            alpha=self.alpha,
            solver=solver,
            tol=self.eigen_tol,
            rng=rng,
        )
        self._select_coordinates(psi, evals, rng)
        self.eigenvalues_ = evals
        self.eigenvectors_ = psi
        self.ranks_ = ranks
        self._Y = Y
        self._factors_train = factors
        self._log_q_alpha = self.alpha * np.log(q)
        self.n_components_ = self.selected_.size
        self._n_features_out = self.n_components_
        return self

    def _n_eigenpairs(self, n):
        """Non-trivial eigenpairs to compute, checked against ``n_samples``."""
        n_pairs = self.n_eigenpairs
        auto = self.n_components == "auto"
        if n_pairs is None:
            if auto:
                n_pairs = _AUTO_EIGENPAIRS
            elif self.drop_harmonics:
                n_pairs = 2 * self.n_components + 4
            else:
                n_pairs = self.n_components
            n_pairs = min(n_pairs, max(n - 2, 1)) if auto else n_pairs
        if not auto and n_pairs < self.n_components:
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
        return n_pairs

    def _observations_and_factors(self, X, jacobians, covariances):
        """Observations, their precision factors and ranks (None without metric)."""
        Y, metric = self._observations_and_metric(
            X, jacobians, covariances, fitting=True
        )
        factors, ranks = self._factors(metric, fitting=True)
        if ranks is not None:
            warn_if_ranks_vary(ranks)
        return Y, factors, ranks

    def _squared_distances(self, Y, factors, rng, k):
        """All pairwise squared distances (``k`` None) or those on kNN edges.

        Returns a dict: ``{"D2": (n, n)}`` or ``{"ei", "ej", "d2"}`` (the upper
        triangle of the symmetrised kNN graph), with ``"far"`` (see
        ``_far_pairs``) when epsilon is chosen from the data.
        """
        n = Y.shape[0]
        if k is None:
            D2 = (
                one_sided_dense(Y, None, Y)
                if factors is None
                else symmetric_dense(Y, factors)
            )
            np.fill_diagonal(D2, 0.0)
            self.n_neighbors_, self._nn, self._search = None, None, None
            return {"D2": D2}
        k = min(int(k), n - 1)
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
        self.n_neighbors_, self._nn, self._search = k, nn, search
        far = _far_pairs(Y, factors, ei, ej, rng)
        return {"n": n, "ei": ei, "ej": ej, "d2": d2, "far": far}

    def _choose_epsilon(self, graph, rng, *, local):
        """``(epsilon, dimension)``: the float given, or the data's rule.

        ``"bgh"`` is floored so that every sample's ``min_neighbors``-th
        nearest neighbour keeps a weight of at least ``exp(-_FLOOR_EXPONENT)``:
        clustered data (classifier outputs) otherwise gets a scale that leaves
        rows without neighbours. ``local``: the distances come from a per-sample
        metric, valid only between neighbours.
        """
        if self.epsilon != "bgh":
            return float(self.epsilon), None
        n = _n_samples(graph)
        if "D2" in graph:
            values, n_total = graph["D2"][np.triu_indices(n, 1)], n * (n - 1)
        else:
            values, n_total = graph["d2"], 2 * graph["d2"].size
        # without metric data the distances hold at every range, and the pairs
        # beyond the kNN radius belong in the sum; a per-sample metric holds
        # only locally, and its kernel is kept to the neighbourhoods (a larger
        # scale costs the Singer-Coifman rectangle's second coordinate 0.99 ->
        # 0.92 in correlation)
        far = None if local else graph.get("far")
        eps, dim = bgh_epsilon(values, n, n_total, rng, far=far)
        if local and "far" in graph:
            self._warn_if_graph_shrinks_scale(values, n, n_total, rng, graph, eps)
        kth = _kth_neighbour_sq_distance(graph, self.min_neighbors)
        return max(eps, float(kth.max()) / _FLOOR_EXPONENT), dim

    def _warn_if_graph_shrinks_scale(self, values, n, n_total, rng, graph, eps):
        """Warn when the kNN edges alone set a far smaller scale than all pairs.

        With metric data the scale is chosen on the edges (the metric holds
        only locally), which is right while the graph spans the kernel; a
        graph too small for it caps the scale near the neighbour radius and
        the kernel nearly disconnects (a line with 10 neighbours: 27x to 108x
        below the all-pairs scale, |corr(psi_1, cos pi t)| down to 0.52; 1.1x
        to 4.4x on the curves and rectangles that work). On clustered data the
        all-pairs scale is the distance between clusters, and the edges' scale
        is the one within them, a peak of the all-pairs curve too: no warning.
        """
        grid, slopes = log_slopes(values, n, n_total, rng, far=graph["far"])
        everywhere = grid[np.argmax(slopes)]
        if everywhere > _MAX_SCALE_RATIO * eps and not _peaks_near(grid, slopes, eps):
            warnings.warn(
                f"The kNN graph (n_neighbors={self.n_neighbors_}) is too small to "
                f"choose the kernel scale: on its edges epsilon={eps:.4g}, "
                f"{everywhere / eps:.0f}x below the scale of all pairs, so the "
                "kernel may nearly disconnect and the coordinates localise. "
                "Raise `n_neighbors`, or pass n_neighbors=None for the dense kernel.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )

    def _graph_for_the_scale(self, Y, factors, graph, rng):
        """The kNN graph, or the dense kernel where the graph drops much weight.

        The pairs beyond each sample's ``n_neighbors`` nearest carry weight
        ``exp(-d^2 / epsilon)`` too; estimated from the sampled non-edge pairs.
        On clustered data the scale is the distance between clusters, and a
        graph that keeps only the edges within them loses the embedding (held
        out R² 0.23 against 0.99 on digit probabilities): ``"auto"`` then goes
        dense where that is affordable, and anything else warns.
        """
        far_d2, far_total = graph["far"]
        far = far_total / max(far_d2.size, 1) * np.exp(-far_d2 / self.epsilon_).sum()
        near = 2.0 * np.exp(-graph["d2"] / self.epsilon_).sum()
        lost = far / max(far + near, np.finfo(float).tiny)
        if lost <= _MAX_LOST_WEIGHT:
            return graph
        if self.n_neighbors == "auto" and graph["n"] <= _AUTO_DENSE_MAX:
            graph = self._squared_distances(Y, factors, rng, None)
            self.epsilon_, self.dimension_ = self._choose_epsilon(
                graph, rng, local=factors is not None
            )
            return graph
        warnings.warn(
            f"The kNN graph (n_neighbors={self.n_neighbors_}) cannot support the "
            f"kernel scale epsilon={self.epsilon_:.4g}: the pairs beyond each "
            f"sample's nearest neighbours carry {lost:.0%} of the kernel weight, "
            "so the embedding is that of a truncated kernel (it may even split "
            "into components). Raise `n_neighbors`, or pass n_neighbors=None "
            "for the dense kernel.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        return graph

    def _kernel(self, graph, rng):
        """Kernel matrix (dense ndarray or CSR) and the eigensolver for it.

        A dense kernel whose weights mostly fall below 1e-16 (invisible beside
        the unit self-weight in float64) goes on as a sparse graph of its
        remaining edges; so do kNN graphs. Edges below 1e-16 are dropped.
        """
        eps = self.epsilon_
        solver = self.eigen_solver
        n = _n_samples(graph)
        if "D2" in graph:
            D2 = graph["D2"]
            kept = D2 < eps * _NEGLIGIBLE_EXPONENT
            sparse_enough = kept.mean() <= _SPARSE_ENOUGH
            if (
                not sparse_enough
                or solver == "dense"
                or (solver == "auto" and n <= _DENSE_EIGEN_MAX)
            ):
                # in place: at n = 4,000 each n x n temporary costs as much as
                # the distances themselves
                W = np.multiply(D2, -1.0 / eps, out=D2)
                np.exp(W, out=W)
                W[~kept] = 0.0
                self._check_rows(W.sum(axis=1) - 1.0, knn=False)
                return W, "dense" if solver == "auto" and n <= _DENSE_EIGEN_MAX else (
                    "arpack" if solver == "auto" else solver
                )
            ei, ej = np.nonzero(np.triu(kept, 1))
            graph = {"n": n, "ei": ei, "ej": ej, "d2": D2[ei, ej]}
            del kept
        ei, ej, d2 = graph["ei"], graph["ej"], graph["d2"]
        w = np.exp(-d2 / eps)
        strong = w > _NEGLIGIBLE_WEIGHT
        ei, ej, w = ei[strong], ej[strong], w[strong]
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
        self._check_rows(np.asarray(W.sum(axis=1)).ravel() - 1.0, knn=True)
        if solver == "auto":
            solver = (
                "dense" if n <= _DENSE_EIGEN_MAX else self._sparse_solver(d2, n, rng)
            )
        return W, solver

    def _check_rows(self, offdiag, *, knn):
        isolated = np.flatnonzero(offdiag < _VANISHING_ROW)
        if isolated.size:
            raise ValueError(
                f"epsilon={self.epsilon_:.4g} is so small that {isolated.size} kernel "
                f"row(s) (e.g. sample {isolated[0]}) have no neighbour with weight "
                f"above {_VANISHING_ROW:g}. Pass a larger float `epsilon`"
                + (" or increase `n_neighbors`" if knn and self.n_neighbors else "")
                + ", or epsilon='bgh', which keeps `min_neighbors` neighbours."
            )

    def _components(self, W):
        """Connected components of the kernel graph (labels per sample).

        A nearly disconnected graph (cross weights below 1e-16) is split here
        too: each component gets its own eigenproblem, which a solver on the
        whole graph could not resolve (eigenvalues 1 - 1e-16 apart).
        """
        if sp.issparse(W):
            n_comp, labels = connected_components(W, directed=False)
        else:
            n_comp, labels = _components_dense(W > 0.0)
        self.n_connected_components_ = int(n_comp)
        return labels

    def _select_coordinates(self, psi, evals, rng):
        """``selected_`` and ``residuals_``: which eigenvectors are coordinates."""
        if self.n_components == "auto" or self.drop_harmonics:
            self.residuals_ = local_linear_residuals(psi, rng)
        else:
            self.residuals_ = None
        if self.n_components == "auto":
            # every direction that is not a function of the earlier ones, among
            # the leading eigenpairs: one per intrinsic dimension on a manifold,
            # plus one per cluster indicator on clustered data
            # plus the component indicators (eigenvalue 1, first): any function
            # of the component is a function of the earlier indicators, so
            # residuals do not decide them
            new = self.residuals_ > self.harmonic_threshold
            new[: self.n_connected_components_ - 1] = True
            selected = np.flatnonzero(new)
            self.selected_ = selected if selected.size else np.arange(1)
        elif self.drop_harmonics:
            self.selected_ = self._select_harmonics(self.residuals_)
        else:
            self.selected_ = np.arange(self.n_components)

    def _sparse_solver(self, edge_d2, n, rng):
        """The fastest eigensolver for a sparse kernel graph, by measurement.

        On the graph of a manifold of intrinsic dimension up to 2 the sparse LU
        of shift-invert stays cheap below 100,000 samples, and above that the
        O(n) multigrid-preconditioned LOBPCG overtakes its O(n^1.5) growth
        (when pyamg, the ``amg`` extra, is installed). In higher dimension the
        LU fill explodes (8x slower than ARPACK on a 3-D cube at 20,000
        samples) and ARPACK is the fastest. The dimension is ``dimension_``
        when epsilon was chosen from the data, else the same estimate from the
        squared distances on the graph's edges ``edge_d2``.
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
        if n >= _AMG_MIN_SAMPLES and amg_available():
            return "amg"
        return "shift-invert"

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
                stacklevel=user_stacklevel(),
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
        Y, metric = self._observations_and_metric(
            X, jacobians, covariances, fitting=False
        )
        if Y.shape[1] != self._Y.shape[1]:
            raise ValueError(
                f"The observations have {Y.shape[1]} features; the model was fitted "
                f"on {self._Y.shape[1]}."
            )
        has_new = bool(metric)
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
                stacklevel=user_stacklevel(),
            )
        Pq = None
        if has_new:
            Pq, _ = self._factors(metric, fitting=False)
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
                    Yq, None if Pq is None else take_rows(Pq, slice(s, s + step))
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
                stacklevel=user_stacklevel(),
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


def _components_dense(adjacency):
    """Connected-component labels of a dense symmetric boolean adjacency matrix.

    Breadth-first search one frontier at a time: every row is read once, so the
    cost is O(n^2) boolean operations, with no n^2 sparse copy of the kernel
    (which costs more than the rest of a dense fit).
    """
    labels = np.full(adjacency.shape[0], -1, dtype=np.intp)
    n_comp = 0
    while (labels < 0).any():
        frontier = np.zeros(labels.size, dtype=bool)
        frontier[np.argmax(labels < 0)] = True
        while frontier.any():
            labels[frontier] = n_comp
            frontier = adjacency[frontier].any(axis=0) & (labels < 0)
        n_comp += 1
    return n_comp, labels


def _peaks_near(grid, slopes, eps):
    """Whether the slope curve has a local maximum of its own near ``eps``."""
    inner = slopes[1:-1]
    peaks = np.flatnonzero((inner >= slopes[:-2]) & (inner >= slopes[2:])) + 1
    near = np.abs(np.log2(grid[peaks] / eps)) <= _OWN_PEAK_OCTAVES
    high = slopes[peaks] >= _OWN_PEAK_HEIGHT * slopes.max()
    return bool(np.any(near & high))


def _n_samples(graph):
    if "D2" in graph:
        return graph["D2"].shape[0]
    return graph["n"]


def _far_pairs(Y, factors, ei, ej, rng):
    """Squared distances of non-edge pairs, and how many entries they stand for.

    Every non-edge pair when there are at most ``_FAR_PAIRS`` pairs, else a
    uniform sample (with replacement) of the pairs, edges dropped.
    """
    n = Y.shape[0]
    n_pairs = n * (n - 1) // 2
    if n_pairs <= _FAR_PAIRS:
        fi, fj = np.triu_indices(n, 1)
    else:
        fi, fj = rng.randint(0, n, (2, _FAR_PAIRS))
        fi, fj = np.minimum(fi, fj), np.maximum(fi, fj)
        keep = fi < fj
        fi, fj = fi[keep], fj[keep]
    far = ~np.isin(fi * n + fj, ei * n + ej)
    fi, fj = fi[far], fj[far]
    d2 = one_sided_edges(Y, factors, Y, fi, fj)
    if factors is not None:
        d2 = 0.5 * (d2 + one_sided_edges(Y, factors, Y, fj, fi))
    n_far = n_pairs - ei.size
    return d2, 2 * n_far


def _kth_neighbour_sq_distance(graph, k):
    """Each sample's squared distance to its ``k``-th nearest graph neighbour.

    Where a sample has fewer neighbours, its farthest one counts.
    """
    if "D2" in graph:
        D2 = graph["D2"]
        k = min(k, D2.shape[0] - 1)
        return np.partition(D2, k, axis=1)[:, k]  # column 0: the sample itself
    n, ei, ej, d2 = graph["n"], graph["ei"], graph["ej"], graph["d2"]
    rows = np.concatenate([ei, ej])
    values = np.concatenate([d2, d2])
    order = np.lexsort((values, rows))
    counts = np.bincount(rows, minlength=n)
    starts = np.cumsum(counts) - counts
    pick = starts + np.minimum(k, np.maximum(counts, 1)) - 1
    out = np.zeros(n)
    has = counts > 0
    out[has] = values[order][pick[has]]
    return out


def _diffusion_eigenpairs(W, labels, n_pairs, *, alpha, solver, tol, rng):
    """Markov eigenpairs of the alpha-normalised kernel, component by component.

    Returns the ``n_pairs`` non-trivial eigenvalues (descending), the right
    eigenvectors ``psi`` (``sum_i pi_i psi_k(i)^2 = 1``, signs fixed) and the
    kernel degrees ``q``. On a graph with several components the Markov matrix
    is block diagonal: each block is solved on its own and the spectra merged
    by eigenvalue, the eigenvalue 1 repeated once per extra component (its
    eigenvectors are the component indicators, made orthogonal to ``psi_0``).
    """
    q = np.asarray(W.sum(axis=1)).ravel()
    q_alpha = q**alpha
    if sp.issparse(W):
        Wa = _scaled(W, 1.0 / q_alpha)
    else:
        Wa = W
        Wa /= q_alpha[:, None]
        Wa /= q_alpha[None, :]
    deg = np.asarray(Wa.sum(axis=1)).ravel()
    inv_sqrt = 1.0 / np.sqrt(deg)
    if sp.issparse(Wa):
        S = _scaled(Wa, inv_sqrt)
    else:
        S = Wa
        S *= inv_sqrt[:, None]
        S *= inv_sqrt[None, :]
    n_comp = int(labels.max()) + 1
    trivial = np.sqrt(deg)
    if n_comp == 1:
        evals, evecs = top_eigenpairs(
            S, n_pairs + 1, solver=solver, tol=tol, rng=rng, trivial=trivial
        )
    else:
        evals, evecs = _merged_component_eigenpairs(
            S, labels, n_comp, n_pairs + 1, solver, tol, rng, trivial
        )
    psi = evecs[:, 1:] * (inv_sqrt * np.sqrt(deg.sum()))[:, None]
    big = np.argmax(np.abs(psi), axis=0)
    signs = np.sign(psi[big, np.arange(psi.shape[1])])
    signs[signs == 0] = 1.0
    return evals[1:], psi * signs, q


def _merged_component_eigenpairs(S, labels, n_comp, k, solver, tol, rng, trivial):
    """Top-``k`` eigenpairs of a block-diagonal ``S``, one eigenproblem per block."""
    n = S.shape[0]
    S = sp.csr_matrix(S)
    indicators = np.zeros((n, n_comp))
    values, vectors = [], []
    for c in range(n_comp):
        idx = np.flatnonzero(labels == c)
        k_c = min(k, idx.size)
        block_solver = solver
        if idx.size <= _DENSE_EIGEN_MAX or 2 * k_c >= idx.size:
            block_solver = "dense"
        ev, vec = top_eigenpairs(
            S[idx][:, idx],
            k_c,
            solver=block_solver,
            tol=tol,
            rng=rng,
            trivial=trivial[idx],
        )
        indicators[idx, c] = trivial[idx] / np.linalg.norm(trivial[idx])
        for j in range(1, k_c):
            full = np.zeros(n)
            full[idx] = vec[:, j]
            values.append(ev[j])
            vectors.append(full)
    # eigenvalue 1: the global trivial vector, then the rest of the span of
    # the component indicators, orthonormal (a deterministic QR completion)
    g = trivial / np.linalg.norm(trivial)
    basis, _ = np.linalg.qr(np.column_stack([indicators.T @ g, np.eye(n_comp)]))
    ones = indicators @ basis[:, :n_comp]
    ones[:, 0] *= np.sign(ones[:, 0] @ g)
    order = np.argsort(-np.asarray(values), kind="stable")[: max(k - n_comp, 0)]
    evals = np.concatenate([np.ones(n_comp), np.asarray(values)[order]])
    evecs = np.column_stack([ones, *[vectors[i] for i in order]])
    return evals[:k], evecs[:, :k]


def _top_eigenvalues(jacobians=None, covariances=None, spectra=None):
    """Largest eigenvalue of each ``C_i``, for ``regularization="auto"``."""
    if spectra is not None:
        return spectra[0][:, 0]
    with one_thread(user_api="blas"):  # per-sample LAPACK
        if jacobians is not None:
            return np.linalg.norm(jacobians, ord=2, axis=(1, 2)) ** 2
        return np.linalg.eigvalsh(covariances)[:, -1]


def _source_metric_data(source, X):
    """Observations and metric data (a dict) from a fitted metric source.

    Sources whose ``metric_data`` takes ``spectra=True`` (network activations)
    reduce their Jacobians chunk by chunk to the local spectra, so that the
    Jacobians of a wide layer are never held whole.
    """
    try:
        takes_spectra = "spectra" in inspect.signature(source.metric_data).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        takes_spectra = False
    md = source.metric_data(X, spectra=True) if takes_spectra else source.metric_data(X)
    Y = np.asarray(md.observations, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y.reshape(-1, 1)
    if Y.ndim != 2 or Y.shape[0] != X.shape[0]:
        raise ValueError(
            f"The metric source returned observations of shape {Y.shape} "
            f"for {X.shape[0]} samples; expected (n_samples, n_observed)."
        )
    if not np.all(np.isfinite(Y)):
        raise ValueError("The metric source returned NaN or infinite observations.")
    return Y, {
        "jacobians": md.jacobians,
        "covariances": md.covariances,
        "spectra": getattr(md, "spectra", None),
    }
