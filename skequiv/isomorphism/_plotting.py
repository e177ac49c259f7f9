"""Figure of the knowledge-isomorphism decomposition (matplotlib on demand)."""

from collections.abc import Mapping

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skequiv._compat import validate_params
from skequiv.isomorphism._estimator import KnowledgeIsomorphism
from skequiv.utils._figures import AX_CONSTRAINT, axes_or_new, import_pyplot


def _variances(profile):
    """(variance_by_order, unexplained_variance) of a fitted model or profile."""
    if isinstance(profile, KnowledgeIsomorphism):
        check_is_fitted(profile)
        return profile.variance_by_order_, profile.unexplained_variance_
    if isinstance(profile, Mapping) and {
        "variance_by_order",
        "unexplained_variance",
    } <= set(profile):
        return profile["variance_by_order"], profile["unexplained_variance"]
    raise TypeError(
        "profiles must hold fitted KnowledgeIsomorphism models or the Bunches "
        f"of KnowledgeIsomorphism.variance_profile; got {type(profile).__name__}."
    )


@validate_params(
    {
        "profiles": [KnowledgeIsomorphism, Mapping, list, tuple],
        "labels": ["array-like", None],
        # matplotlib is imported only when drawing: an Axes is known by its methods
        "ax": AX_CONSTRAINT,
    },
    prefer_skip_nested_validation=True,
)
def plot_variance_by_order(profiles, *, labels=None, ax=None):
    """Stacked bars: B's variance carried by each order, and left unexplained.

    One bar per layer pair (or per pair of networks). The components are not
    orthogonal, so a bar's height need not be 1; the unexplained part is
    drawn hatched on top.

    Parameters
    ----------
    profiles : KnowledgeIsomorphism, Bunch, or a list of them
        Fitted models (their training-sample variances) or the results of
        :meth:`KnowledgeIsomorphism.variance_profile` (held-out variances).
    labels : list of str, default=None
        One label per bar; None numbers them.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.

    Returns
    -------
    ax : matplotlib Axes
    """
    if isinstance(profiles, KnowledgeIsomorphism | Mapping):
        profiles = [profiles]
    rows = [_variances(p) for p in profiles]
    if labels is None:
        labels = [str(i) for i in range(len(rows))]
    if len(labels) != len(rows):
        raise ValueError(
            f"labels must have one entry per profile ({len(rows)}); got {len(labels)}."
        )
    n_orders = max(len(v) for v, _ in rows)
    by_order = np.zeros((len(rows), n_orders))
    for i, (v, _) in enumerate(rows):
        by_order[i, : len(v)] = v
    unexplained = np.array([u for _, u in rows])
    ax = axes_or_new(ax, (1.2 * len(rows) + 3, 4))
    positions = np.arange(len(rows))
    bottom = np.zeros(len(rows))
    colours = import_pyplot().get_cmap("viridis")(np.linspace(0.15, 0.85, n_orders))
    for k in range(n_orders):
        ax.bar(
            positions,
            by_order[:, k],
            bottom=bottom,
            color=colours[k],
            label=f"order {k}" + (" (linear)" if k == 0 else ""),
        )
        bottom += by_order[:, k]
    ax.bar(
        positions,
        unexplained,
        bottom=bottom,
        color="0.85",
        hatch="//",
        edgecolor="0.5",
        label="unexplained",
    )
    ax.set_xticks(positions, labels)
    ax.set_ylabel("variance / variance of B's features")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return ax
