"""The similarity measures as objects that split per-representation work from
per-pair work: ``prepare(X)`` once per representation, ``compare(a, b)`` per pair.

Linear measures other than CKA share one spectral state per side: the thin,
rank-revealing SVD X̃ = U S Vᵀ of the centred data. Every one of them is a
function of the singular values of each side and of M = U_xᵀ U_y (the cosines
of the principal angles between the column spaces, i.e. the canonical
correlations), so the same finishing code serves the in-memory states and the
streaming accumulator, which builds S, V and M from cross-products.
"""

import functools
import re
import warnings
from dataclasses import dataclass
from numbers import Real

import numpy as np
from scipy.linalg import solve_triangular

from skequiv._compat import Interval, StrOptions, validate_params
from skequiv.similarity._validation import (
    centre,
    check_representation,
    check_same_samples,
)
from skequiv.utils._threads import one_thread
from skequiv.utils._warnings import user_stacklevel

# transform names of the invariance table, in its column order
TRANSFORMS = (
    "orthogonal",
    "isotropic_scaling",
    "translation",
    "permutation",
    "invertible_linear",
)


class SimilarityWarning(UserWarning):
    """A similarity is undefined for this input and was returned as NaN."""


# --------------------------------------------------------------------------
# the measure protocol


class Measure:
    """A representation similarity split into per-representation and pair work.

    Obtain instances from :func:`get_measure`. ``prepare(X)`` does everything
    that depends on one representation only (centring, Gram matrix, SVD) and
    returns an opaque state; ``compare(state_x, state_y)`` returns the
    similarity of the two prepared representations (a float, larger is more
    similar, 1 for identical up to ``invariances``). ``measure(X, Y)`` is
    ``compare(prepare(X), prepare(Y))``.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"linear_cka"``.
    symmetric : bool
        Whether ``compare(a, b) == compare(b, a)``.
    invariances : frozenset of str
        The transforms of one argument that leave the value unchanged, among
        ``"orthogonal"``, ``"isotropic_scaling"``, ``"translation"``,
        ``"permutation"`` (of units) and ``"invertible_linear"``.
    min_samples : int
        The fewest samples (rows) the measure accepts.
    """

    name = None
    symmetric = True
    invariances = frozenset()
    min_samples = 2
    # whether SimilarityAccumulator can compute it from cross-products
    streamable = False

    def prepare(self, X):
        """Per-representation work on ``X`` (n_samples, n_units); an opaque state."""
        X = check_representation(X, "X", min_samples=self.min_samples)
        return self._prepare(X, "X")

    def compare(self, state_x, state_y):
        """Similarity of two prepared representations of the same samples."""
        check_same_samples(state_x.n, state_y.n, ("state_x", "state_y"))
        return float(self._compare(state_x, state_y))

    def __call__(self, X, Y):
        return self.evaluate(X, Y)

    def evaluate(self, X, Y, names=("X", "Y")):
        """``compare(prepare(X), prepare(Y))``; errors call the inputs ``names``."""
        X = check_representation(X, names[0], min_samples=self.min_samples)
        Y = check_representation(Y, names[1], min_samples=self.min_samples)
        check_same_samples(X.shape[0], Y.shape[0], names)
        state_x = self._prepare(X, names[0])
        state_y = state_x if Y is X else self._prepare(Y, names[1])
        return float(self._compare(state_x, state_y))

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"get_measure({self.name!r}{', ' if params else ''}{params})"

    def params(self):
        """The parameters that :func:`get_measure` was given (besides the name)."""
        return {}


# --------------------------------------------------------------------------
# CKA


@dataclass(frozen=True)
class _CKAState:
    n: int
    features: np.ndarray | None  # centred X, (n, p), when n > p
    gram: np.ndarray | None  # (U-)centred Gram matrix, (n, n), otherwise
    row_norms: np.ndarray | None  # ‖x̃_i‖², debiased feature form only
    self_term: float  # HSIC(K, K) up to the measure's common constant
    magnitude: float  # ‖K̃‖²_F of the biased form: what "≈ 0" is relative to


def centre_gram(K):
    """H K H with H = I - 11ᵀ/n: the Gram matrix of the centred features."""
    K = K - K.mean(axis=0)
    return K - K.mean(axis=1, keepdims=True)


def u_centre_gram(K):
    """Székely & Rizzo's U-centring: ⟨Û(K), Û(L)⟩ = n(n-3) HSIC_u(K, L).

    This is Song et al.'s unbiased HSIC written as an inner product, as in
    Kornblith et al.'s ``center_gram(unbiased=True)``.
    """
    n = K.shape[0]
    K = K.copy()
    np.fill_diagonal(K, 0.0)
    means = K.sum(axis=0) / (n - 2)
    means -= means.sum() / (2 * (n - 1))
    K -= means[:, None]
    K -= means[None, :]
    np.fill_diagonal(K, 0.0)
    return K


def rbf_gram(X_centred, threshold):
    """exp(-d²/(2σ²)) with σ² = threshold² × median of all n² squared distances.

    The median includes the zero diagonal, as in Kornblith et al.'s notebook.
    """
    sq = np.einsum("ij,ij->i", X_centred, X_centred)
    D = sq[:, None] + sq[None, :] - 2.0 * (X_centred @ X_centred.T)
    np.maximum(D, 0.0, out=D)
    np.fill_diagonal(D, 0.0)
    median = np.median(D)
    if median == 0:
        raise ValueError(
            "the median squared distance between samples is 0 (at least half of "
            "the sample pairs are identical), so the RBF bandwidth is 0; use "
            "kernel='linear' or remove duplicate samples."
        )
    return np.exp(D / (-2.0 * threshold**2 * median))


def debiased_dot(xty, ab, sum_a, sum_b, n):
    """n(n-3) HSIC_u(XXᵀ, YYᵀ) from feature-space quantities (Kornblith et al.).

    ``xty`` = ‖X̃ᵀỸ‖²_F; ``ab`` = Σ_i a_i b_i for the squared row norms a, b of
    the centred data, whose sums are ``sum_a``, ``sum_b``. Centring is not
    needed for HSIC_u but keeps the terms small.
    """
    return xty - n / (n - 2.0) * ab + sum_a * sum_b / ((n - 1.0) * (n - 2.0))


class _CKA(Measure):
    """Centred kernel alignment (Kornblith et al. 2019)."""

    def __init__(self, kernel="linear", debiased=False, threshold=1.0):
        self.kernel = kernel
        self.debiased = debiased
        self.threshold = threshold
        self.name = f"{'debiased_' if debiased else ''}{kernel}_cka"
        self.min_samples = 4 if debiased else 2
        self.streamable = kernel == "linear"
        linear = {"orthogonal", "isotropic_scaling", "translation", "permutation"}
        self.invariances = frozenset(linear)

    def params(self):
        return {"threshold": self.threshold} if self.kernel == "rbf" else {}

    def _prepare(self, X, name):
        n, p = X.shape
        X = centre(X, name)
        if self.kernel == "linear" and n > p:
            return self._feature_state(X)
        K = X @ X.T if self.kernel == "linear" else rbf_gram(X, self.threshold)
        K_centred = centre_gram(K)
        magnitude = float(np.vdot(K_centred, K_centred))
        if not self.debiased:
            return _CKAState(n, None, K_centred, None, magnitude, magnitude)
        K = u_centre_gram(K)
        return _CKAState(n, None, K, None, float(np.vdot(K, K)), magnitude)

    def _feature_state(self, X):
        n = X.shape[0]
        xtx = float(np.sum((X.T @ X) ** 2))
        if not self.debiased:
            return _CKAState(n, X, None, None, xtx, xtx)
        a = np.einsum("ij,ij->i", X, X)
        total = float(a.sum())
        hsic = debiased_dot(xtx, a @ a, total, total, n)
        return _CKAState(n, X, None, a, hsic, xtx)

    def _compare(self, a, b):
        cross = self._cross(a, b)
        return ratio(
            cross, (a.self_term, a.magnitude), (b.self_term, b.magnitude), self.name
        )

    def _cross(self, a, b):
        if a.features is not None and b.features is not None:
            xty = float(np.sum((a.features.T @ b.features) ** 2))
            if not self.debiased:
                return xty
            ab = a.row_norms @ b.row_norms
            sums = (float(a.row_norms.sum()), float(b.row_norms.sum()))
            return debiased_dot(xty, ab, *sums, a.n)
        K, L = (_gram_of(s, self.debiased) for s in (a, b))
        return float(np.vdot(K, L))


def _gram_of(state, debiased):
    if state.gram is not None:
        return state.gram
    K = state.features @ state.features.T
    return u_centre_gram(K) if debiased else K


def ratio(cross, x, y, name):
    """cross / √(self_x self_y), NaN with a warning when a self term is ≤ 0.

    ``x`` and ``y`` are (self term, magnitude) pairs. Only a debiased
    (unbiased-HSIC) self term can reach 0, or go below it by rounding: for
    tiny n, or data whose U-centred Gram matrix vanishes. "0" means below
    1e-12 of the biased self term, the size of the rounding of the terms
    that cancel in it.
    """
    (self_x, magnitude_x), (self_y, magnitude_y) = x, y
    if self_x <= 1e-12 * magnitude_x or self_y <= 1e-12 * magnitude_y:
        warnings.warn(
            f"{name}: the unbiased HSIC of a representation with itself is "
            f"{min(self_x, self_y):.3g} (not positive), so the similarity is "
            "undefined; returning NaN. Use more samples, or debiased=False.",
            SimilarityWarning,
            stacklevel=user_stacklevel(),
        )
        return np.nan
    # Cauchy–Schwarz bounds the exact value by 1; rounding may step over it
    return min(cross / np.sqrt(self_x * self_y), 1.0)


# --------------------------------------------------------------------------
# spectral measures: CCA, SVCCA, PWCCA, Procrustes, shape metrics


@dataclass(frozen=True)
class Spectral:
    """Thin rank-revealing SVD of centred data, X̃ = U diag(s) Vᵀ.

    ``loadings`` = diag(s) Vᵀ = Uᵀ X̃ (r, p): each direction's inner products
    with the centred units. ``U`` is (n, r) for in-memory states and None for
    states built from cross-products (the streaming accumulator), where the
    cross term M = U_xᵀU_y comes from the cross-covariance instead.
    """

    n: int
    U: np.ndarray | None
    s: np.ndarray
    loadings: np.ndarray


def null_directions(lam, dim):
    """Eigenvalues of a float64 Gram matrix that are round-off, not signal.

    A Gram eigenvalue is known to about eps·λ_max, so a direction counts when
    its λ clearly exceeds that: s above √(10·dim·eps) ≈ 1e-6 of the largest
    (for dim ≈ 500). The same rule serves the in-memory and streaming forms.
    """
    return lam <= lam[0] * 10 * dim * np.finfo(float).eps


def spectral(X_centred):
    """Rank-revealing thin SVD of the centred data, from a Gram matrix.

    BLAS-3 products only (an SVD of a tall matrix is tens of times slower):
    the smaller of the two Gram matrices is diagonalised; in the tall case the
    basis X̃ V / s is re-orthonormalised (one Cholesky pass, as in CholeskyQR2)
    so that UᵀU = I to rounding whatever the conditioning.
    """
    n, p = X_centred.shape
    if n <= p:
        lam, U = descending_eigh(X_centred @ X_centred.T)
        keep = ~null_directions(lam, n)
        U = U[:, keep]
        return Spectral(n, U, np.sqrt(lam[keep]), U.T @ X_centred)
    lam, V = descending_eigh(X_centred.T @ X_centred)
    keep = ~null_directions(lam, p)
    s, V = np.sqrt(lam[keep]), V[:, keep]
    U = (X_centred @ V) / s
    R = _cholesky_upper(U.T @ U)  # U = Q R with Q orthonormal
    U = solve_triangular(R, U.T, trans="T").T
    # X̃ = Q (R diag(s) Vᵀ): the SVD of that small factor finishes the SVD
    P, s, Wt = _svd((R * s) @ V.T)
    return Spectral(n, U @ P, s, s[:, None] * Wt)


def one_blas_thread(func):
    """Run ``func`` (a small dense factorisation) on one BLAS thread.

    On few busy cores a multithreaded OpenBLAS stalls on p × p problems: a
    256 × 256 SVD took 13× longer with threads than without on the project's
    loaded 2-core machine. The large products around them keep their threads.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with one_thread("blas"):
            return func(*args, **kwargs)

    return wrapper


@one_blas_thread
def descending_eigh(G):
    lam, V = np.linalg.eigh(G)
    return lam[::-1], V[:, ::-1]


@one_blas_thread
def _cholesky_upper(G):
    return np.linalg.cholesky(G).T


@one_blas_thread
def _svd(A, compute_uv=True):
    return np.linalg.svd(A, full_matrices=False, compute_uv=compute_uv)


def variance_rank(s, variance):
    """The fewest leading directions whose s² reach ``variance`` of the total."""
    share = np.cumsum(s**2) / np.sum(s**2)
    # the 1e-12 slack: a share of exactly `variance` must count as reached
    return min(int(np.searchsorted(share, variance - 1e-12)) + 1, s.size)


def check_cca_rank(r_x, r_y, n, name):
    """Canonical correlations are forced to 1 once the two spaces must meet."""
    if r_x + r_y > n - 1:
        raise ValueError(
            f"{name}: the centred representations have rank {r_x} and {r_y}, "
            f"together more than n_samples - 1 = {n - 1}, so at least "
            f"{r_x + r_y - n + 1} canonical correlations equal 1 whatever the "
            "data; use more samples than units, keep fewer directions "
            "(svcca(variance=...)), or use cka."
        )


def _pwcca_weighted(M, loadings):
    """Σ α_i ρ_i with weights from the side whose basis indexes the rows of M.

    The i-th canonical variate of that side is h_i = U u_i (unit norm), so
    ⟨h_i, x̃_j⟩ = u_iᵀ (Uᵀ x̃_j) = (u_iᵀ loadings)_j: no n-sized work.
    """
    u, rho, _ = _svd(M)
    alpha = np.abs(u.T @ loadings).sum(axis=1)
    return float(alpha @ rho / alpha.sum())


def nuclear_cosine(M, d_x, d_y):
    """‖diag(d_x) M diag(d_y)‖_* / (‖d_x‖ ‖d_y‖): the cosine of the shape angle."""
    sv = _svd(d_x[:, None] * M * d_y[None, :], compute_uv=False)
    return min(float(sv.sum() / (np.linalg.norm(d_x) * np.linalg.norm(d_y))), 1.0)


def shape_weights(s, alpha):
    """Per-direction scale of the partially whitened data (Williams et al.).

    The data are first scaled to unit Frobenius norm, so the family is
    invariant to isotropic scaling for every alpha: X̃ (α I + (1-α) (X̃ᵀX̃)^-½)
    in the SVD basis is U diag(α s + (1 - α)).
    """
    return alpha * s / np.linalg.norm(s) + (1.0 - alpha)


class _Spectral(Measure):
    """Shared prepare and cross term of the SVD-based measures."""

    streamable = True

    def _prepare(self, X, name):
        return spectral(centre(X, name))

    def _compare(self, a, b):
        # UᵀU is I by construction; its rounded product is not, exactly
        M = np.eye(a.s.size) if a is b else a.U.T @ b.U
        return self.finish(a, b, M)


class _CCA(_Spectral):
    """Canonical correlations of the centred data, summarised by their mean."""

    invariances = frozenset({*TRANSFORMS})

    def __init__(self, summary="mean"):
        self.summary = summary
        self.name = "cca"

    def params(self):
        return {"summary": self.summary}

    def finish(self, a, b, M):
        check_cca_rank(a.s.size, b.s.size, a.n, self.name)
        rho = _svd(M, compute_uv=False)
        return summarise(rho, self.summary)


def summarise(rho, summary):
    rho = np.minimum(rho, 1.0)  # cosines of principal angles; rounding only
    return float(np.mean(rho if summary == "mean" else rho**2))


class _SVCCA(_Spectral):
    """Raghu et al.: CCA between the directions explaining ``variance`` of s²."""

    invariances = frozenset(TRANSFORMS[:4])

    def __init__(self, variance=0.99):
        self.variance = variance
        self.name = "svcca"

    def params(self):
        return {"variance": self.variance}

    def finish(self, a, b, M):
        k_x, k_y = variance_rank(a.s, self.variance), variance_rank(b.s, self.variance)
        check_cca_rank(k_x, k_y, a.n, self.name)
        return summarise(_svd(M[:k_x, :k_y], compute_uv=False), "mean")


class _PWCCA(_Spectral):
    """Morcos et al.: canonical correlations weighted by the variates' loadings."""

    def __init__(self, weights="x"):
        self.weights = weights
        self.name = "pwcca"
        self.symmetric = weights == "symmetric"
        # a rotation (or any non-permutation linear map) of the weighting side
        # changes its neurons' loadings, hence the weights
        self.invariances = frozenset(
            {"isotropic_scaling", "translation", "permutation"}
        )

    def params(self):
        return {"weights": self.weights}

    def finish(self, a, b, M):
        check_cca_rank(a.s.size, b.s.size, a.n, self.name)
        from_x = _pwcca_weighted(M, a.loadings)
        if self.weights == "x":
            return from_x
        from_y = _pwcca_weighted(M.T, b.loadings)
        return from_y if self.weights == "y" else (from_x + from_y) / 2


class _Procrustes(_Spectral):
    """cos θ, θ the angular Procrustes shape distance (Williams et al.)."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha
        self.name = "procrustes" if alpha == 1.0 else "shape"
        # full whitening (alpha = 0) leaves only the column space: CCA-like
        self.invariances = frozenset(TRANSFORMS if alpha == 0 else TRANSFORMS[:4])

    def params(self):
        return {} if self.name == "procrustes" else {"alpha": self.alpha}

    def finish(self, a, b, M):
        return nuclear_cosine(
            M, shape_weights(a.s, self.alpha), shape_weights(b.s, self.alpha)
        )


# --------------------------------------------------------------------------
# the registry


@validate_params(
    {
        "kernel": [StrOptions({"linear", "rbf"})],
        "debiased": ["boolean"],
        "threshold": [Interval(Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def _cka_measure(*, kernel="linear", debiased=False, threshold=1.0):
    return _CKA(kernel, debiased, threshold)


@validate_params(
    {"summary": [StrOptions({"mean", "mean_squared"})]},
    prefer_skip_nested_validation=True,
)
def _cca_measure(*, summary="mean"):
    return _CCA(summary)


@validate_params(
    {"variance": [Interval(Real, 0, 1, closed="right")]},
    prefer_skip_nested_validation=True,
)
def _svcca_measure(*, variance=0.99):
    return _SVCCA(variance)


@validate_params(
    {"weights": [StrOptions({"x", "y", "symmetric"})]},
    prefer_skip_nested_validation=True,
)
def _pwcca_measure(*, weights="x"):
    return _PWCCA(weights)


def _procrustes_measure():
    return _Procrustes(1.0)


_REGISTRY = {
    "linear_cka": lambda: _cka_measure(kernel="linear"),
    "rbf_cka": lambda threshold=1.0: _cka_measure(kernel="rbf", threshold=threshold),
    "debiased_linear_cka": lambda: _cka_measure(kernel="linear", debiased=True),
    "debiased_rbf_cka": lambda threshold=1.0: _cka_measure(
        kernel="rbf", debiased=True, threshold=threshold
    ),
    "cca": _cca_measure,
    "svcca": _svcca_measure,
    "pwcca": _pwcca_measure,
    "procrustes": _procrustes_measure,
}

MEASURES = tuple(_REGISTRY)


@validate_params(
    {"name": [StrOptions(set(MEASURES))]}, prefer_skip_nested_validation=False
)
def get_measure(name, **params):
    """The similarity measure called ``name``, with its parameters.

    Parameters
    ----------
    name : str
        One of ``MEASURES``: ``"linear_cka"``, ``"rbf_cka"`` (``threshold``),
        ``"debiased_linear_cka"``, ``"debiased_rbf_cka"`` (``threshold``),
        ``"cca"`` (``summary``), ``"svcca"`` (``variance``), ``"pwcca"``
        (``weights``), ``"procrustes"``.
    **params
        The measure's parameters, as in the function of the same family
        (:func:`cka`, :func:`cca`, :func:`svcca`, :func:`pwcca`).

    Returns
    -------
    measure : Measure
        With ``prepare(X) -> state``, ``compare(state_x, state_y) -> float``
        (larger is more similar), ``symmetric``, ``invariances`` and ``name``.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv.similarity import get_measure
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 5))
    >>> measure = get_measure("linear_cka")
    >>> state = measure.prepare(X)
    >>> measure.compare(state, measure.prepare(2 * X + 1))
    1.0
    """
    try:
        return _REGISTRY[name](**params)
    except ValueError as exc:  # a bad value (sklearn's InvalidParameterError)
        message = re.sub(r"of _\w+_measure", f"of get_measure({name!r})", str(exc))
        raise type(exc)(message) from None
    except TypeError as exc:  # an unknown parameter
        raise TypeError(f"get_measure({name!r}): {exc}") from None
