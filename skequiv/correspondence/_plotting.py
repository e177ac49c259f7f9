"""Figures of neuron correspondence. matplotlib is imported only when drawing."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skequiv._compat import StrOptions, validate_params
from skequiv.correspondence._coclustering import NeuronCoclustering
from skequiv.correspondence._matching import NeuronMatching
from skequiv.utils._figures import AX_CONSTRAINT, axes_or_new

_FIGSIZE = (5, 4.2)


def _integer_ticks(*axes):
    # units are counted: a few units must not get ticks at 0.5, 1.5, ...
    from matplotlib.ticker import MaxNLocator

    for axis in axes:
        axis.set_major_locator(MaxNLocator(integer=True))


def _similarity_label(matching):
    if matching.similarity == "correlation":
        return "correlation"
    return "mutual information (nats)"


def _matrix_style(matching, matrix):
    if matching.similarity == "correlation":
        return {"cmap": "RdBu_r", "vmin": -1.0, "vmax": 1.0}
    return {"cmap": "viridis", "vmin": 0.0, "vmax": max(float(np.max(matrix)), 1e-12)}


def matched_order(matching):
    """Rows (A) sorted by matched similarity, and the columns (B) to show.

    Matched rows come first, best first; for bipartite matching the columns
    are the rows' partners in the same order, then B's unmatched units, so
    that the matched pairs lie on the diagonal. For semi-matching the
    columns are the rows' best partners, repeats included.
    """
    matched = np.flatnonzero(matching.matching_ >= 0)
    rows = matched[np.argsort(-matching.match_similarity_[matched], kind="stable")]
    rows = np.r_[rows, np.flatnonzero(matching.matching_ < 0)]
    cols = matching.matching_[rows[: matched.size]]
    if matching.assignment == "bipartite":
        rest = np.setdiff1d(np.arange(matching.n_units_b_), cols)
        cols = np.r_[cols, rest]
    return rows, cols


@validate_params(
    {
        "matching": [NeuronMatching],
        "which": [StrOptions({"between", "a", "b"})],
        "order": [StrOptions({"matching", "none"})],
        "ax": AX_CONSTRAINT,
    },
    prefer_skip_nested_validation=True,
)
def plot_similarity_matrix(matching, *, which="between", order="matching", ax=None):
    """Similarity matrix between units, reordered by the matching (Li et al. Fig. 1).

    Parameters
    ----------
    matching : NeuronMatching
        A fitted :class:`~skequiv.NeuronMatching`.
    which : {"between", "a", "b"}, default="between"
        The A-by-B matrix, or the within-network matrix of A or of B (these
        need ``baseline=True``).
    order : {"matching", "none"}, default="matching"
        ``"matching"`` sorts A's units by their matched similarity and puts
        each one's partner in B in the same column position, so that matched
        pairs lie on the diagonal (for a within-network matrix, both axes
        follow A's or B's own baseline order); ``"none"`` keeps the units'
        order.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.

    Returns
    -------
    ax : matplotlib Axes

    See Also
    --------
    plot_matched_similarity : the diagonal of this figure, sorted.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv import NeuronMatching, plot_similarity_matrix
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(200, 5))
    >>> matcher = NeuronMatching().fit(A, A[:, ::-1] + 0.5 * rng.normal(size=(200, 5)))
    >>> ax = plot_similarity_matrix(matcher)
    >>> ax.get_xlabel()
    'unit of network B (matched order)'
    """
    check_is_fitted(matching)
    if which == "between":
        matrix = matching.similarity_
        xname, yname = "network B", "network A"
    else:
        if not hasattr(matching, f"similarity_{which}_"):
            raise ValueError(
                f"which={which!r} needs the within-network matrices: fit "
                "NeuronMatching with baseline=True."
            )
        matrix = getattr(matching, f"similarity_{which}_")
        xname = yname = f"network {which.upper()}"
    suffix = ""
    if order == "matching":
        if which == "between":
            rows, cols = matched_order(matching)
        else:
            # the units by their best other unit, so redundant pairs show as
            # bright blocks next to the diagonal
            best = getattr(matching, f"baseline_similarity_{which}_")
            rows = cols = np.argsort(-np.nan_to_num(best, nan=-np.inf), kind="stable")
        matrix = matrix[np.ix_(rows, cols)]
        suffix = " (matched order)" if which == "between" else " (sorted)"
    ax = axes_or_new(ax, _FIGSIZE)
    image = ax.imshow(
        matrix,
        interpolation="nearest",
        aspect="auto",
        **_matrix_style(matching, matrix),
    )
    ax.figure.colorbar(image, ax=ax, label=_similarity_label(matching))
    _integer_ticks(ax.xaxis, ax.yaxis)
    ax.set_xlabel(f"unit of {xname}{suffix}")
    ax.set_ylabel(f"unit of {yname}{suffix}")
    title = {"between": "A vs B", "a": "within A", "b": "within B"}[which]
    ax.set_title(f"{title}: {_similarity_label(matching)}")
    return ax


@validate_params(
    {
        "matching": [NeuronMatching],
        "label": [str, None],
        "baseline": ["boolean"],
        "ax": AX_CONSTRAINT,
    },
    prefer_skip_nested_validation=True,
)
def plot_matched_similarity(matching, *, label=None, baseline=True, ax=None):
    """Matched similarity of every unit, sorted, beside the within-network baseline.

    Parameters
    ----------
    matching : NeuronMatching
        A fitted :class:`~skequiv.NeuronMatching`.
    label : str, default=None
        Legend entry of the A-to-B curve; by default the assignment.
        Call again on the same ``ax`` to compare semi- and bipartite
        matching.
    baseline : bool, default=True
        Also draw each network's best match within itself (dashed), when
        the estimator was fitted with ``baseline=True``.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.

    Returns
    -------
    ax : matplotlib Axes

    See Also
    --------
    plot_similarity_matrix : the full matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv import NeuronMatching, plot_matched_similarity
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(200, 5))
    >>> B = A[:, ::-1] + 0.5 * rng.normal(size=(200, 5))
    >>> ax = plot_matched_similarity(NeuronMatching(baseline=True).fit(A, B))
    >>> [line.get_label() for line in ax.get_lines()]
    ['A → B, bipartite', 'within A (baseline)', 'within B (baseline)']
    """
    check_is_fitted(matching)
    ax = axes_or_new(ax, _FIGSIZE)
    label = label if label is not None else f"A → B, {matching.assignment}"
    curves = [(matching.match_similarity_, label, "-")]
    if baseline and hasattr(matching, "baseline_similarity_a_"):
        curves += [
            (matching.baseline_similarity_a_, "within A (baseline)", "--"),
            (matching.baseline_similarity_b_, "within B (baseline)", ":"),
        ]
    for values, name, style in curves:
        values = np.sort(values[np.isfinite(values)])[::-1]
        ax.plot(np.arange(1, values.size + 1), values, style, label=name)
    _integer_ticks(ax.xaxis)
    ax.set_xlabel("unit, sorted by its matched similarity")
    ax.set_ylabel(f"matched {_similarity_label(matching)}")
    ax.set_title("Best match of each unit")
    ax.legend()
    return ax


@validate_params(
    {
        "path": [dict],
        "annotate": ["boolean"],
        "ax": AX_CONSTRAINT,
        "label": [str, None],
    },
    prefer_skip_nested_validation=True,
)
def plot_sparse_prediction_path(path, *, annotate=True, ax=None, label=None):
    """Held-out prediction error against the number of connections per unit.

    Parameters
    ----------
    path : Bunch
        The result of :func:`~skequiv.sparse_prediction_path`.
    annotate : bool, default=True
        Write the penalty next to a few points.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    label : str, default=None
        Legend entry (for several paths on one ``ax``).

    Returns
    -------
    ax : matplotlib Axes

    See Also
    --------
    sparse_prediction_path : computes the path.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv import sparse_prediction_path, plot_sparse_prediction_path
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(300, 6))
    >>> path = sparse_prediction_path(A, A[:, :2] @ rng.normal(size=(2, 3)), alphas=6)
    >>> plot_sparse_prediction_path(path).get_ylabel()
    'held-out error, 1 − R²'
    """
    for key in ("alphas", "error", "n_connections"):
        if not hasattr(path, key):
            raise TypeError(
                "`path` must be the result of sparse_prediction_path; got "
                f"{type(path).__name__}, which lacks {key!r}."
            )
    ax = axes_or_new(ax, _FIGSIZE)
    x, y = np.asarray(path.n_connections), np.asarray(path.error)
    (line,) = ax.plot(x, y, "o-", label=label)
    if annotate:
        # label points far enough apart (in the plot's log-x, linear-y frame)
        # that the labels do not overlap
        u = np.log10(1.0 + x) / max(np.ptp(np.log10(1.0 + x)), 1e-12)
        v = y / max(np.ptp(y), 1e-12)
        last = None
        for k in range(x.size):
            if last is not None and np.hypot(u[k] - u[last], v[k] - v[last]) < 0.2:
                continue
            last = k
            ax.annotate(
                f"α={path.alphas[k]:.2g}",
                (x[k], y[k]),
                textcoords="offset points",
                xytext=(5, 3),
                fontsize=8,
                color=line.get_color(),
            )
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel("connections per unit of B (mean non-zero weights)")
    ax.set_ylabel("held-out error, 1 − R²")
    ax.set_title("Sparse prediction of B's units from A's")
    if label is not None:
        ax.legend()
    return ax


def coclustered_order(coclustering):
    """Units of ``[A | B]`` by cluster (A's first within each), dead units last."""
    labels = np.r_[coclustering.labels_a_, coclustering.labels_b_]
    network = np.r_[np.zeros(coclustering.n_units_a_), np.ones(coclustering.n_units_b_)]
    key = np.where(labels < 0, coclustering.n_clusters, labels)
    return np.lexsort((network, key)), labels, network


@validate_params(
    {"coclustering": [NeuronCoclustering], "ax": AX_CONSTRAINT},
    prefer_skip_nested_validation=True,
)
def plot_coclusters(coclustering, *, ax=None):
    """The units' affinity matrix ordered by cluster, clusters outlined.

    Parameters
    ----------
    coclustering : NeuronCoclustering
        A fitted :class:`~skequiv.NeuronCoclustering`.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.

    Returns
    -------
    ax : matplotlib Axes
        A strip along the top marks each unit's network.

    See Also
    --------
    NeuronCoclustering : the clustering.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv import NeuronCoclustering, plot_coclusters
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(500, 2))
    >>> A = f[:, [0, 0, 1]] + 0.3 * rng.normal(size=(500, 3))
    >>> B = f[:, [1, 0]] + 0.3 * rng.normal(size=(500, 2))
    >>> model = NeuronCoclustering(n_clusters=2, random_state=0).fit(A, B)
    >>> plot_coclusters(model).get_xlabel()
    'unit (A and B), ordered by cluster'
    """
    check_is_fitted(coclustering)
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Rectangle
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    order, labels, network = coclustered_order(coclustering)
    matrix = coclustering.affinity_matrix_[np.ix_(order, order)]
    ax = axes_or_new(ax, (5.5, 5))
    image = ax.imshow(matrix, cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
    sorted_labels = labels[order]
    for k in range(coclustering.n_clusters):
        where = np.flatnonzero(sorted_labels == k)
        if where.size:
            start, size = where[0] - 0.5, where.size
            ax.add_patch(
                Rectangle((start, start), size, size, fill=False, ec="C3", lw=1.2)
            )
    divider = make_axes_locatable(ax)
    strip = divider.append_axes("top", size="4%", pad=0.05, sharex=ax)
    strip.imshow(
        network[order][None, :],
        aspect="auto",
        cmap=ListedColormap(["C0", "C1"]),
        vmin=0,
        vmax=1,
        interpolation="nearest",
    )
    strip.set_yticks([])
    strip.tick_params(labelbottom=False)
    strip.set_title("network: A (blue), B (orange)", fontsize=9)
    ax.figure.colorbar(image, ax=ax, label="|correlation|", shrink=0.8)
    _integer_ticks(ax.xaxis, ax.yaxis)
    ax.set_xlabel("unit (A and B), ordered by cluster")
    ax.set_ylabel("unit (A and B), ordered by cluster")
    return ax
