"""Looking at a population: distances, a map of the models, and clusters."""

from numbers import Integral

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.manifold import MDS

from skequiv._compat import Interval, StrOptions, validate_params

_KINDS = StrOptions({"similarity", "distance"})


@validate_params(
    {"matrix": ["array-like"], "kind": [_KINDS]},
    prefer_skip_nested_validation=True,
)
def population_distances(matrix, *, kind="similarity"):
    """A symmetric distance matrix between models from a K × K matrix.

    Parameters
    ----------
    matrix : array-like of shape (K, K)
        From :func:`pairwise_similarity` (``kind="similarity"``), or distances,
        e.g. :meth:`ModelEmbedding.pairwise_distances` (``kind="distance"``).
    kind : {"similarity", "distance"}, default="similarity"
        What ``matrix`` holds.

    Returns
    -------
    distances : ndarray of shape (K, K)
        Symmetric, zero diagonal. From similarities s:
        ``d_ij = sqrt(max(0, (s_ii + s_jj) / 2 - s̄_ij))`` with ``s̄`` the
        symmetrised matrix ``(s + sᵀ) / 2`` (a directed score counts both
        ways); for a similarity with unit diagonal, ``sqrt(1 - s̄_ij)``, the
        Euclidean distance between unit vectors whose inner product is s̄.
    """
    M = _check_square(matrix)
    M = (M + M.T) / 2
    if kind == "distance":
        if np.any(M < 0):
            raise ValueError("matrix has negative entries; distances are >= 0.")
        D = M.copy()
    else:
        diag = np.diag(M)
        D = np.sqrt(np.maximum((diag[:, None] + diag[None, :]) / 2 - M, 0.0))
    np.fill_diagonal(D, 0.0)
    return D


def _check_square(matrix):
    try:
        M = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "matrix must hold numbers (the K × K output of pairwise_similarity); "
            f"got {type(matrix).__name__} that does not convert to float ({exc})."
        ) from exc
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] < 2:
        raise ValueError(
            f"matrix must be square, K × K with K >= 2 (one row per model); got "
            f"shape {M.shape}."
        )
    if not np.all(np.isfinite(M)):
        raise ValueError(
            "matrix contains NaN or infinity; every pair needs a finite value."
        )
    return M


@validate_params(
    {
        "matrix": ["array-like"],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "kind": [_KINDS],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def embed_population(matrix, n_components=2, *, kind="similarity", random_state=None):
    """Coordinates of the models from a K × K matrix, by metric MDS.

    Parameters
    ----------
    matrix : array-like of shape (K, K)
        See :func:`population_distances`.
    n_components : int, default=2
        Dimensions of the map.
    kind : {"similarity", "distance"}, default="similarity"
        What ``matrix`` holds.
    random_state : int, RandomState instance or None, default=None
        Seeds MDS.

    Returns
    -------
    coordinates : ndarray of shape (K, n_components)
        Models whose distances are small lie close; only distances matter
        (the map is defined up to a rotation and a reflection).
    """
    D = population_distances(matrix, kind=kind)
    mds = MDS(
        n_components=n_components,
        metric="precomputed",
        init="classical_mds",
        n_init=1,
        random_state=random_state,
    )
    return mds.fit_transform(D)


@validate_params(
    {
        "matrix": ["array-like"],
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "kind": [_KINDS],
        "linkage": [StrOptions({"average", "complete", "single"})],
    },
    prefer_skip_nested_validation=True,
)
def cluster_population(matrix, n_clusters, *, kind="similarity", linkage="average"):
    """Groups of models from a K × K matrix, by agglomerative clustering.

    Parameters
    ----------
    matrix : array-like of shape (K, K)
        See :func:`population_distances`.
    n_clusters : int
        Number of groups, at most K.
    kind : {"similarity", "distance"}, default="similarity"
        What ``matrix`` holds.
    linkage : {"average", "complete", "single"}, default="average"
        How the distance between two groups is measured.

    Returns
    -------
    labels : ndarray of shape (K,)
        Group of each model, numbered in order of first appearance (model 0
        is in group 0), so equal partitions give equal labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv.population import cluster_population
    >>> S = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.2], [0.1, 0.2, 1.0]])
    >>> cluster_population(S, 2)
    array([0, 0, 1])
    """
    D = population_distances(matrix, kind=kind)
    if n_clusters > D.shape[0]:
        raise ValueError(
            f"n_clusters={n_clusters} exceeds the {D.shape[0]} models; use at "
            f"most {D.shape[0]}."
        )
    if n_clusters == 1:
        return np.zeros(D.shape[0], dtype=int)
    labels = AgglomerativeClustering(
        n_clusters=n_clusters, metric="precomputed", linkage=linkage
    ).fit_predict(D)
    return _first_appearance(labels)


def _first_appearance(labels):
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    return rank[inverse]
