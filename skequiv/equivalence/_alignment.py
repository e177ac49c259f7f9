"""Aligning two diffusion-map embeddings of the same phenomenon (unpaired data).

Two embeddings of one intrinsic space, computed from different samples (and
different observers), approximate the same Laplace–Beltrami eigenfunctions.
Eigenfunctions are defined up to sign, and within an eigenvalue of multiplicity
> 1 (a near-degenerate block of the computed spectrum, e.g. cos θ and sin θ on a
circle) up to an orthogonal transformation. This module finds that
block-diagonal orthogonal map.
"""

import itertools
import warnings
from numbers import Real

import numpy as np
from scipy.linalg import orthogonal_procrustes
from sklearn.utils.validation import check_array

from skequiv._compat import Interval, validate_params
from skequiv.utils._warnings import user_stacklevel

_MAX_BRUTE_FORCE = 12


def _laplacian_values(eigenvalues):
    # Markov eigenvalues λ = exp(−μ t); degeneracy is judged on μ, where a
    # gap means something (0.99 vs 0.96 is a large gap in μ, a small one in λ).
    lam = np.clip(np.asarray(eigenvalues, dtype=np.float64), 1e-300, 1.0)
    return -np.log(lam)


@validate_params(
    {
        "eigenvalues_a": ["array-like"],
        "eigenvalues_b": ["array-like", None],
        "tol": [Interval(Real, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def eigenvalue_blocks(eigenvalues_a, eigenvalues_b=None, *, tol=0.1):
    """Group eigenvector indices into blocks of near-degenerate eigenvalues.

    Neighbours ``k − 1`` and ``k`` share a block when the relative gap of the
    Laplacian eigenvalues ``μ = −log λ``, ``|μ_k − μ_{k−1}| / μ_k``, is below
    ``tol`` in either spectrum.

    Parameters
    ----------
    eigenvalues_a : array-like of shape (k,)
        Markov eigenvalues (descending, trivial one dropped) of the first
        embedding.
    eigenvalues_b : array-like of shape (k,), default=None
        The second embedding's, if any.
    tol : float, default=0.1
        Relative gap below which two eigenvalues count as degenerate.

    Returns
    -------
    blocks : list of list of int

    Examples
    --------
    >>> eigenvalue_blocks(np.exp(-np.array([1.0, 1.02, 4.0, 4.1, 9.0])))
    [[0, 1], [2, 3], [4]]
    """
    spectra = [_laplacian_values(eigenvalues_a)]
    if eigenvalues_b is not None:
        spectra.append(_laplacian_values(eigenvalues_b))
    k = min(len(s) for s in spectra)
    if k == 0:
        return []
    blocks = [[0]]
    for i in range(1, k):
        degenerate = False
        for mu in spectra:
            top = max(abs(mu[i]), abs(mu[i - 1]), 1e-300)
            if abs(mu[i] - mu[i - 1]) / top < tol:
                degenerate = True
        if degenerate:
            blocks[-1].append(i)
        else:
            blocks.append([i])
    return blocks


def _standardise(Z):
    mean = Z.mean(axis=0)
    scale = Z.std(axis=0)
    scale[scale <= 0] = 1.0
    return (Z - mean) / scale, mean, scale


def _third_moment_signs(A, B):
    """Signs s maximising the agreement of third moments E[a_i a_j a_l]."""
    m = A.shape[1]
    Ta = np.einsum("ni,nj,nl->ijl", A, A, A) / A.shape[0]
    Tb = np.einsum("ni,nj,nl->ijl", B, B, B) / B.shape[0]
    P = Ta * Tb

    def objective(s):
        return float(np.einsum("ijl,i,j,l->", P, s, s, s))

    if m <= _MAX_BRUTE_FORCE:
        candidates = [
            np.array(c, dtype=float) for c in itertools.product((1, -1), repeat=m)
        ]
        values = np.array([objective(s) for s in candidates])
        order = np.argsort(values)[::-1]
        best = candidates[order[0]]
        margin = values[order[0]] - values[order[1]] if m > 0 else np.inf
        scale = abs(values[order[0]]) + 1e-300
    else:  # greedy coordinate ascent from all +1
        best = np.ones(m)
        improved = True
        while improved:
            improved = False
            for i in range(m):
                trial = best.copy()
                trial[i] = -trial[i]
                if objective(trial) > objective(best):
                    best, improved = trial, True
        margin, scale = np.inf, 1.0
    # relative to the best value, and absolute: on exactly symmetric data all
    # moments are rounding noise (standardised data: O(1) when identified)
    if margin < 0.05 * scale or scale < 1e-12:
        warnings.warn(
            "The signs of the embedding coordinates are barely identified by "
            "their third moments (the data distribution is nearly symmetric); "
            "pass a few anchor correspondences to align them reliably.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return best


@validate_params(
    {
        "Z_a": ["array-like"],
        "Z_b": ["array-like"],
        "eigenvalues_a": ["array-like", None],
        "eigenvalues_b": ["array-like", None],
        "anchors": ["array-like", None],
        "degeneracy_tol": [Interval(Real, 0, None, closed="left")],
        "return_stats": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def align_embeddings(
    Z_a,
    Z_b,
    *,
    eigenvalues_a=None,
    eigenvalues_b=None,
    anchors=None,
    degeneracy_tol=0.1,
    return_stats=False,
):
    """Block-diagonal orthogonal map taking one embedding's frame to another's.

    Both embeddings are standardised per coordinate (eigenvectors are
    normalised differently for different sample sizes); then, within each
    block of near-degenerate eigenvalues, ``R`` is found such that
    ``standardised(Z_a) @ R ≈ standardised(Z_b)`` for corresponding points:

    - with ``anchors`` (index pairs of points known to correspond): orthogonal
      Procrustes on the anchors, block by block; this fixes signs and
      rotations;
    - without anchors: the signs of single-eigenvalue blocks that best match
      the third-order moments ``E[ψ_i ψ_j ψ_l]`` of the two samples (moments
      of odd order change sign with ``ψ``); blocks of size > 1 are left as
      they are, with a warning, since a rotation within them is not
      identifiable from unlabelled samples of a symmetric distribution (a
      circle), and neither is a sign when the distribution is symmetric.

    Parameters
    ----------
    Z_a : array-like of shape (n_a, k_a)
        Embedding coordinates of the first sample.
    Z_b : array-like of shape (n_b, k_b)
        Embedding coordinates of the second sample; the first
        ``k = min(k_a, k_b)`` coordinates of each are aligned.
    eigenvalues_a, eigenvalues_b : array-like of shape (k,), default=None
        Their eigenvalues, to find the degenerate blocks; without them every
        coordinate is its own block.
    anchors : array-like of shape (n_anchors, 2), default=None
        Integer pairs ``(i, j)``: ``Z_a[i]`` and ``Z_b[j]`` are the same point.
    degeneracy_tol : float, default=0.1
        See :func:`eigenvalue_blocks`.
    return_stats : bool, default=False
        Also return the standardisation constants.

    Returns
    -------
    rotation : ndarray of shape (k, k)
        Block-diagonal orthogonal matrix.
    blocks : list of list of int
        The blocks used.
    stats : dict
        Only with ``return_stats``: ``mean_a``, ``scale_a``, ``mean_b``,
        ``scale_b`` (arrays of shape (k,)).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    >>> Z_a = np.column_stack([np.cos(t), np.sin(t)])
    >>> c, s = np.cos(0.7), np.sin(0.7)
    >>> Z_b = Z_a @ np.array([[c, s], [-s, c]])   # same points, rotated frame
    >>> anchors = np.array([[0, 0], [50, 50], [120, 120]])
    >>> R, blocks = align_embeddings(Z_a, Z_b, eigenvalues_a=[0.9, 0.9],
    ...                              anchors=anchors)
    >>> blocks
    [[0, 1]]
    >>> bool(np.allclose(R, [[c, s], [-s, c]]))
    True
    """
    Z_a = check_array(Z_a, dtype=np.float64, input_name="Z_a")
    Z_b = check_array(Z_b, dtype=np.float64, input_name="Z_b")
    k = min(Z_a.shape[1], Z_b.shape[1])
    A, mean_a, scale_a = _standardise(Z_a[:, :k])
    B, mean_b, scale_b = _standardise(Z_b[:, :k])
    if eigenvalues_a is not None:
        eigenvalues_a = np.asarray(eigenvalues_a, dtype=np.float64)[:k]
        if eigenvalues_b is not None:
            eigenvalues_b = np.asarray(eigenvalues_b, dtype=np.float64)[:k]
        blocks = eigenvalue_blocks(eigenvalues_a, eigenvalues_b, tol=degeneracy_tol)
    elif eigenvalues_b is not None:
        blocks = eigenvalue_blocks(
            np.asarray(eigenvalues_b, dtype=np.float64)[:k], tol=degeneracy_tol
        )
    else:
        blocks = [[i] for i in range(k)]
    rotation = np.eye(k)
    if anchors is not None:
        anchors = np.asarray(anchors)
        if (
            anchors.ndim != 2
            or anchors.shape[1] != 2
            or not np.issubdtype(anchors.dtype, np.integer)
        ):
            raise ValueError(
                "anchors must be an integer array of shape (n_anchors, 2) of "
                f"index pairs, got shape {anchors.shape} and dtype {anchors.dtype}."
            )
        largest = max(len(b) for b in blocks) if blocks else 0
        if anchors.shape[0] < largest:
            raise ValueError(
                f"anchors: {anchors.shape[0]} pairs cannot fix a degenerate block "
                f"of size {largest}; give at least {largest}."
            )
        Aa, Bb = A[anchors[:, 0]], B[anchors[:, 1]]
        for block in blocks:
            R, _ = orthogonal_procrustes(Aa[:, block], Bb[:, block])
            rotation[np.ix_(block, block)] = R
    else:
        single = [b[0] for b in blocks if len(b) == 1]
        if single:
            signs = _third_moment_signs(A[:, single], B[:, single])
            rotation[single, single] = signs
        if any(len(b) > 1 for b in blocks):
            warnings.warn(
                "Near-degenerate eigenvalue blocks "
                f"{[b for b in blocks if len(b) > 1]} cannot be aligned without "
                "anchor correspondences; they are left unrotated. Pass `anchors`.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
    if return_stats:
        stats = {
            "mean_a": mean_a,
            "scale_a": scale_a,
            "mean_b": mean_b,
            "scale_b": scale_b,
        }
        return rotation, blocks, stats
    return rotation, blocks
