"""The similarity functions: thin wrappers over ``get_measure(...)(X, Y)``.

Torch tensors go through :class:`SimilarityAccumulator`, whose cross-products
are computed on the tensors' device (the measures that need an n × n Gram
matrix, RBF CKA and the Gram form, take them to the CPU).
"""

from numbers import Real

import numpy as np

from skequiv._compat import Interval, StrOptions, validate_params
from skequiv.similarity._measures import (
    _cca_measure,
    _cka_measure,
    _Procrustes,
    _pwcca_measure,
    _svcca_measure,
)
from skequiv.similarity._streaming import SimilarityAccumulator
from skequiv.similarity._validation import is_torch_tensor

_PAIR = {"X": ["array-like"], "Y": ["array-like"]}


def _evaluate(measure, X, Y):
    if (is_torch_tensor(X) or is_torch_tensor(Y)) and measure.streamable:
        return SimilarityAccumulator().update(X, Y).score(measure)
    return measure(X, Y)


@validate_params(
    {
        **_PAIR,
        "kernel": [StrOptions({"linear", "rbf"})],
        "debiased": ["boolean"],
        "threshold": [Interval(Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def cka(X, Y, *, kernel="linear", debiased=False, threshold=1.0):
    """Centred kernel alignment (Kornblith et al. 2019), in [0, 1].

    CKA(K, L) = HSIC(K, L) / √(HSIC(K, K) HSIC(L, L)) with K, L the Gram
    matrices of X and Y. For the linear kernel this is
    ‖ỸᵀX̃‖²_F / (‖X̃ᵀX̃‖_F ‖ỸᵀỸ‖_F), X̃ and Ỹ column-centred; it is computed
    in feature space (p × q cross-products) for a side with more samples than
    units, and from its n × n Gram matrix otherwise.

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (n_samples, n_units_x)
        Activations of the first representation; rows are samples.
    Y : array-like or torch.Tensor of shape (n_samples, n_units_y)
        Activations of the second representation on the same samples.
    kernel : {"linear", "rbf"}, default="linear"
        ``"rbf"``: K_ij = exp(-‖x_i - x_j‖² / (2σ²)) with
        σ² = threshold² × the median of all n² squared distances (the zero
        diagonal included), as in Kornblith et al.'s notebook.
    debiased : bool, default=False
        Use the unbiased HSIC estimator of Song et al. (2012). It needs at
        least 4 samples, can be negative (for unrelated representations it
        scatters around 0, where the biased value is inflated by the width),
        and is NaN, with a :class:`SimilarityWarning`, when a representation's
        unbiased HSIC with itself is not positive.
    threshold : float, default=1.0
        RBF bandwidth as a fraction of the median distance (``kernel="rbf"``).

    Returns
    -------
    similarity : float
        1 for representations equal up to an orthogonal transform, isotropic
        scaling and translation.

    See Also
    --------
    get_measure : the same measure split into ``prepare`` and ``compare``.
    SimilarityAccumulator : the streaming form for large ``n_samples``.

    References
    ----------
    .. [1] Kornblith, Norouzi, Lee & Hinton, "Similarity of neural network
       representations revisited", ICML 2019.
    .. [2] Song, Smola, Gretton, Bedo & Borgwardt, "Feature selection via
       dependence maximization", JMLR 13, 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv.similarity import cka
    >>> rng = np.random.RandomState(1337)
    >>> X = rng.randn(100, 10)
    >>> Y = rng.randn(100, 10) + X
    >>> round(cka(X, Y), 5)
    0.55761
    >>> round(cka(X, Y, debiased=True), 5)
    0.51346
    >>> round(cka(X, Y, kernel="rbf", threshold=0.5), 5)
    0.65483
    """
    measure = _cka_measure(kernel=kernel, debiased=debiased, threshold=threshold)
    return _evaluate(measure, X, Y)


@validate_params(
    {**_PAIR, "summary": [StrOptions({"mean", "mean_squared"})]},
    prefer_skip_nested_validation=True,
)
def cca(X, Y, *, summary="mean"):
    """Mean canonical correlation of the centred representations, in [0, 1].

    The canonical correlations ρ_1 ≥ … ≥ ρ_c, c = min(rank X̃, rank Ỹ), are
    the singular values of Q_xᵀQ_y, with Q_x, Q_y orthonormal bases of the
    centred column spaces. The bases come from the smaller Gram matrix, in
    which a singular value below √(10·d·ε) of the largest (about 1e-6, d the
    Gram's size) is indistinguishable from 0: such directions are dropped, so
    constant or duplicated units do not count.

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (n_samples, n_units_x)
        Activations of the first representation; rows are samples.
    Y : array-like or torch.Tensor of shape (n_samples, n_units_y)
        Activations of the second representation on the same samples.
    summary : {"mean", "mean_squared"}, default="mean"
        Mean ρ (as reported by SVCCA) or mean ρ² (Kornblith et al.'s R²_CCA).

    Returns
    -------
    similarity : float
        Invariant to any invertible linear map of either side.

    Raises
    ------
    ValueError
        When rank X̃ + rank Ỹ ≥ n_samples: then some correlations are 1
        whatever the data.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv.similarity import cca
    >>> rng = np.random.RandomState(1337)
    >>> X = rng.randn(100, 10)
    >>> Y = rng.randn(100, 10) + X
    >>> round(cca(X, Y), 5), round(cca(X, Y, summary="mean_squared"), 5)
    (0.73101, 0.5454)
    """
    return _evaluate(_cca_measure(summary=summary), X, Y)


@validate_params(
    {**_PAIR, "variance": [Interval(Real, 0, 1, closed="right")]},
    prefer_skip_nested_validation=True,
)
def svcca(X, Y, *, variance=0.99):
    """SVCCA (Raghu et al. 2017): mean canonical correlation of the top SVD
    directions, in [0, 1].

    Each side is centred, and its leading singular directions are kept up to
    the smallest number whose squared singular values (variances) reach
    ``variance`` of the total; the result is the mean of the min(k_x, k_y)
    canonical correlations between the kept directions.

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (n_samples, n_units_x)
        Activations of the first representation; rows are samples.
    Y : array-like or torch.Tensor of shape (n_samples, n_units_y)
        Activations of the second representation on the same samples.
    variance : float in (0, 1], default=0.99
        Share of the variance (Σ s²) the kept directions must explain.

    Returns
    -------
    similarity : float

    Notes
    -----
    The share is of s², as in the paper. Some implementations threshold the
    cumulative singular values instead of their squares (anatome), or compare
    a normalised share with an unnormalised total (ReSi, which then keeps a
    single direction).

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv.similarity import svcca
    >>> rng = np.random.RandomState(1337)
    >>> X = rng.randn(100, 10)
    >>> Y = rng.randn(100, 10) + X
    >>> round(svcca(X, Y), 5), round(svcca(X, Y, variance=0.95), 5)
    (0.73101, 0.74666)
    """
    return _evaluate(_svcca_measure(variance=variance), X, Y)


@validate_params(
    {**_PAIR, "weights": [StrOptions({"x", "y", "symmetric"})]},
    prefer_skip_nested_validation=True,
)
def pwcca(X, Y, *, weights="x"):
    """Projection-weighted CCA (Morcos et al. 2018), in [0, 1].

    ρ_PW = Σ_i α_i ρ_i with α_i ∝ Σ_j abs(⟨h_i, x̃_j⟩), where h_i is the
    i-th unit-norm canonical variate of the weighting side and x̃_j its j-th
    centred neuron.

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (n_samples, n_units_x)
        Activations of the first representation; rows are samples.
    Y : array-like or torch.Tensor of shape (n_samples, n_units_y)
        Activations of the second representation on the same samples.
    weights : {"x", "y", "symmetric"}, default="x"
        The side whose neurons weight the correlations; ``"symmetric"`` is the
        mean of both directions.

    Returns
    -------
    similarity : float
        Not symmetric unless ``weights="symmetric"``.

    Notes
    -----
    This is the paper's formula (and Ding et al.'s ``sim_metric``).
    google/svcca's ``compute_pwcca`` differs: it QR-orthonormalises
    ``coef_x @ (acts - means) + means`` (whitened-space CCA directions, not
    the canonical variates) and weights against uncentred activations, so
    its value depends on the neurons' means and order (0.700 instead of 2/3
    for X = [z1, z1 + z2], Y = [z1, z3]); it weights by the side with fewer
    neurons, and that branch raises ``IndexError`` (google/svcca PR #9).

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv.similarity import pwcca
    >>> rng = np.random.RandomState(1337)
    >>> X = rng.randn(100, 10)
    >>> Y = rng.randn(100, 10) + X
    >>> round(pwcca(X, Y), 5), round(pwcca(X, Y, weights="y"), 5)
    (0.73467, 0.73684)
    """
    return _evaluate(_pwcca_measure(weights=weights), X, Y)


@validate_params(_PAIR, prefer_skip_nested_validation=True)
def procrustes(X, Y):
    """Orthogonal Procrustes similarity, in [0, 1]: ‖X̃ᵀỸ‖_* / (‖X̃‖_F ‖Ỹ‖_F).

    The cosine of the angular Procrustes shape distance (Williams et al. 2021)
    of the centred representations; Ding et al.'s (2021) Procrustes distance
    between the unit-norm centred representations is ``2 - 2 * procrustes``.
    Representations of different widths are compared as if the narrower one
    were padded with zero columns.

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (n_samples, n_units_x)
        Activations of the first representation; rows are samples.
    Y : array-like or torch.Tensor of shape (n_samples, n_units_y)
        Activations of the second representation on the same samples.

    Returns
    -------
    similarity : float

    See Also
    --------
    shape_distance : the angle itself, and the partially whitened family.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv.similarity import procrustes
    >>> rng = np.random.RandomState(1337)
    >>> X = rng.randn(100, 10)
    >>> Y = rng.randn(100, 10) + X
    >>> round(2 - 2 * procrustes(X, Y), 5)
    0.52749
    """
    return _evaluate(_Procrustes(1.0), X, Y)


@validate_params(
    {**_PAIR, "alpha": [Interval(Real, 0, 1, closed="both")]},
    prefer_skip_nested_validation=True,
)
def shape_distance(X, Y, *, alpha=1.0):
    """Angular shape distance (Williams et al. 2021), in radians, in [0, π/2].

    θ = arccos(‖φ(X)ᵀφ(Y)‖_* / (‖φ(X)‖_F ‖φ(Y)‖_F)), with
    φ(X) = X̂ (α I + (1 - α)(X̂ᵀX̂)^-½), X̂ = X̃ / ‖X̃‖_F the centred data at
    unit Frobenius norm. ``alpha=1`` is the Procrustes angle
    (arccos of :func:`procrustes`); ``alpha=0`` whitens fully, a CCA-like
    metric invariant to invertible linear maps. A distance (0 for identical
    shapes), so it is returned under its own name and never as a score.

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (n_samples, n_units_x)
        Activations of the first representation; rows are samples.
    Y : array-like or torch.Tensor of shape (n_samples, n_units_y)
        Activations of the second representation on the same samples.
    alpha : float in [0, 1], default=1.0
        Regularisation of the whitening.

    Returns
    -------
    distance : float
        A metric: symmetric, zero for equal shapes, and obeying the triangle
        inequality.

    Notes
    -----
    At ``alpha`` = 0 and 1 this equals netrep's
    ``LinearMetric(alpha, score_method="angular")``. In between, netrep whitens
    the raw data, so its family is not invariant to isotropic scaling; here
    each side is first scaled to unit Frobenius norm, which keeps the metric
    property and makes every member scale-invariant. Directions with singular
    values at round-off level are dropped rather than amplified.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv.similarity import shape_distance
    >>> rng = np.random.RandomState(1337)
    >>> X = rng.randn(100, 10)
    >>> Y = rng.randn(100, 10) + X
    >>> round(shape_distance(X, Y), 5)
    0.74328
    """
    cosine = _evaluate(_Procrustes(alpha), X, Y)
    return float(np.arccos(np.clip(cosine, -1.0, 1.0)))
