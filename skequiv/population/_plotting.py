"""Figures of a population. matplotlib is imported only when drawing."""

import numpy as np

from skequiv._compat import HasMethods, validate_params
from skequiv.population._analysis import _check_square
from skequiv.utils._figures import (
    AX_CONSTRAINT,
    CMAP_CONSTRAINT,
    axes_or_new,
)


def _names(names, k):
    if names is None:
        return [str(i) for i in range(k)]
    names = [str(n) for n in names]
    if len(names) != k:
        raise ValueError(f"names has {len(names)} entries for {k} models.")
    return names


def _labels(labels, k, what):
    labels = np.asarray(labels)
    if labels.shape != (k,):
        raise ValueError(
            f"{what} has shape {labels.shape}; expected ({k},), one per model."
        )
    return labels


@validate_params(
    {
        "matrix": ["array-like"],
        "clusters": ["array-like", None],
        "names": ["array-like", None],
        "title": [str, None],
        "label": [str, None],
        "cmap": CMAP_CONSTRAINT,
        "ax": AX_CONSTRAINT,
    },
    prefer_skip_nested_validation=True,
)
def plot_population_matrix(
    matrix,
    *,
    clusters=None,
    names=None,
    title=None,
    label=None,
    cmap="viridis",
    ax=None,
):
    """A K × K matrix as a heat map, rows and columns grouped by cluster.

    Parameters
    ----------
    matrix : array-like of shape (K, K)
        From :func:`pairwise_similarity`, or distances.
    clusters : array-like of shape (K,), default=None
        Cluster of each model (e.g. :func:`cluster_population`): models are
        ordered by cluster (stable within one) and clusters are outlined.
        ``None`` keeps the given order.
    names : sequence of str, default=None
        Model names for the ticks; ``None`` numbers them.
    title : str, default=None
        Axes title.
    label : str, default=None
        What the entries are (the colour bar's label), e.g. ``"linear CKA"``;
        ``None`` uses ``title``.
    cmap : str or Colormap, default="viridis"
        Colour map.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; ``None`` makes a figure.

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    M = _check_square(matrix)
    k = M.shape[0]
    names = _names(names, k)
    order = np.arange(k)
    if clusters is not None:
        clusters = _labels(clusters, k, "clusters")
        order = np.argsort(clusters, kind="stable")
    ax = axes_or_new(ax, (5.5, 4.5))
    image = ax.imshow(M[np.ix_(order, order)], cmap=cmap)
    ax.figure.colorbar(
        image, ax=ax, fraction=0.046, pad=0.04, label=label if label else title
    )
    ax.set_xticks(range(k), [names[i] for i in order], rotation=90, fontsize=7)
    ax.set_yticks(range(k), [names[i] for i in order], fontsize=7)
    ax.set_xlabel("to (column)")
    ax.set_ylabel("from (row)")
    if clusters is not None:
        _outline_clusters(ax, clusters[order])
    if title is not None:
        ax.set_title(title)
    return ax


def _outline_clusters(ax, sorted_clusters):
    """A white square around each cluster's block on the diagonal."""
    import matplotlib.patches as patches

    edges = np.flatnonzero(np.diff(sorted_clusters)) + 1
    starts = np.r_[0, edges]
    stops = np.r_[edges, sorted_clusters.size]
    for start, stop in zip(starts, stops, strict=True):
        ax.add_patch(
            patches.Rectangle(
                (start - 0.5, start - 0.5),
                stop - start,
                stop - start,
                fill=False,
                edgecolor="white",
                linewidth=2,
            )
        )


@validate_params(
    {
        "embedding": ["array-like", HasMethods(["fit"])],
        "color": ["array-like", None],
        "color_label": [str, None],
        "names": ["array-like", None],
        "title": [str, None],
        "cmap": CMAP_CONSTRAINT,
        "ax": AX_CONSTRAINT,
    },
    prefer_skip_nested_validation=True,
)
def plot_model_embedding(
    embedding,
    *,
    color=None,
    color_label=None,
    names=None,
    title=None,
    cmap="viridis",
    ax=None,
):
    """Models as points of a 2-D map, coloured by a label of the user's.

    Parameters
    ----------
    embedding : ModelEmbedding or array-like of shape (K, 2)
        A fitted :class:`ModelEmbedding` (its ``embeddings_``; the first two
        dimensions, or the one against the model index when d = 1) or
        coordinates, e.g. from :func:`embed_population`.
    color : array-like of shape (K,), default=None
        What to colour by (seed, width, task, epoch): numbers get a colour
        bar, anything else a legend with one colour per value.
    color_label : str, default=None
        What ``color`` is: the colour bar's label, or the legend's title.
    names : sequence of str, default=None
        Annotate each point with its model's name.
    title : str, default=None
        Axes title.
    cmap : str or Colormap, default="viridis"
        Colour map for numeric ``color``.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; ``None`` makes a figure.

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    points = _points(embedding)
    k = points.shape[0]
    ax = axes_or_new(ax, (5, 4.2))
    if color is None:
        ax.scatter(points[:, 0], points[:, 1], s=40)
    else:
        color = _labels(color, k, "color")
        _scatter_coloured(ax, points, color, cmap, color_label)
    if names is not None:
        for name, (x, y) in zip(_names(names, k), points, strict=True):
            ax.annotate(
                name, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points"
            )
    ax.set_xlabel("dimension 1")
    if _n_dimensions(embedding) > 1:
        ax.set_ylabel("dimension 2")
    else:
        from matplotlib.ticker import MaxNLocator

        # one dimension, drawn against the models' positions: count them
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("model")
    if title is not None:
        ax.set_title(title)
    return ax


def _n_dimensions(embedding):
    return np.shape(getattr(embedding, "embeddings_", embedding))[1]


def _points(embedding):
    coords = getattr(embedding, "embeddings_", embedding)
    coords = np.asarray(coords, dtype=np.float64)
    if coords.ndim != 2 or coords.shape[0] < 2 or not np.all(np.isfinite(coords)):
        raise ValueError(
            "embedding must be a fitted ModelEmbedding or finite coordinates of "
            f"shape (K, 2) with K >= 2; got shape {coords.shape}."
        )
    if coords.shape[1] == 1:
        return np.c_[coords[:, 0], np.arange(coords.shape[0])]
    return coords[:, :2]


def _scatter_coloured(ax, points, color, cmap, label):
    if np.issubdtype(color.dtype, np.number):
        art = ax.scatter(points[:, 0], points[:, 1], c=color, cmap=cmap, s=40)
        ax.figure.colorbar(art, ax=ax, label=label)
        return
    for value in dict.fromkeys(color.tolist()):  # first-appearance order
        chosen = color == value
        ax.scatter(points[chosen, 0], points[chosen, 1], s=40, label=str(value))
    ax.legend(fontsize=8, title=label)
