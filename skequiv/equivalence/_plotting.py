"""Figures of an equivalence report. matplotlib is imported only when drawing."""

from numbers import Integral

import numpy as np

from skequiv._compat import Interval, StrOptions, validate_params
from skequiv.equivalence._report import EquivalenceReport
from skequiv.utils._figures import (
    AX_CONSTRAINT,
    CMAP_CONSTRAINT,
    axes_or_new,
    import_pyplot,
)

KINDS = (
    "summary",
    "scores",
    "null",
    "candidates",
    "spectra",
    "embeddings",
    "reconstruction",
    "selection",
)


_AXES = ["array-like", None]  # a pair of Axes
_COLOURING = {
    "color": ["array-like", None],
    "color_label": [str, None],
    "cmap": [*CMAP_CONSTRAINT, None],
}


def _validate(**constraints):
    """``validate_params`` with the report and figure arguments every plot takes."""
    return validate_params(
        {"report": [EquivalenceReport], **constraints},
        prefer_skip_nested_validation=True,
    )


def score_curve(scores):
    """``(k, score)`` arrays from a selector's ``scores_``.

    Accepts a 1-D array (the score with 1, 2, ... neurons), an ``(n, 2)``
    array of ``(k, score)`` rows, or a mapping ``{k: score}``.
    """
    if scores is None:
        return None
    if isinstance(scores, dict):
        ks = np.array(sorted(scores), dtype=float)
        return ks, np.array([scores[k] for k in sorted(scores)], dtype=float)
    arr = np.asarray(scores, dtype=float)
    if arr.ndim == 1:
        return np.arange(1, arr.size + 1, dtype=float), arr
    if arr.ndim == 2 and arr.shape[1] == 2:
        return arr[:, 0], arr[:, 1]
    return None


@_validate(ax=AX_CONSTRAINT)
def plot_spectra(report, ax=None):
    """Eigenvalues of A's and B's embeddings side by side."""
    ax = axes_or_new(ax)
    a, b = report.names
    # markers, not bars: diffusion-map eigenvalues sit just below 1, and
    # their differences are what matters
    for marker, spectrum, name in (
        ("o", report.spectrum_a, a),
        ("s", report.spectrum_b, b),
    ):
        if spectrum is not None:
            k = np.arange(1, len(spectrum) + 1)
            ax.plot(k, spectrum, marker=marker, linestyle="--", label=name)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("eigenvector $k$")
    ax.set_ylabel(r"eigenvalue $\lambda_k$")
    ax.set_title("Spectra of the embeddings")
    ax.legend(loc="lower left")
    return ax


@_validate(axes=_AXES, **_COLOURING)
def plot_embeddings(report, axes=None, color=None, color_label=None, cmap=None):
    """A's and B's embedding coordinates of the training samples, coloured.

    Parameters
    ----------
    report : EquivalenceReport
    axes : two matplotlib axes, default=None
    color : array-like of shape (n_samples,), default=None
        Per-sample values; defaults to ``report.color``.
    color_label : str, default=None
        What ``color`` is (the colour bar's label); None means "colour".
    cmap : str, default=None
        Colour map; use a cyclic one (``"twilight"``) for angles.
    """
    plt = import_pyplot()
    if axes is None:
        axes = plt.figure(figsize=(9, 4), layout="constrained").subplots(1, 2)
    color = report.color if color is None else np.asarray(color, dtype=float)
    c = None if color is None else color[report.train_index]
    label = color_label or "colour"
    for ax, coords, name in zip(
        axes, (report.coords_a, report.coords_b), report.names, strict=True
    ):
        if coords is None:
            continue
        if coords.shape[1] >= 2:
            xs, ys, ylabel = coords[:, 0], coords[:, 1], r"$\psi_2$"
        else:
            xs = coords[:, 0]
            ys, ylabel = (c, label) if c is not None else (coords[:, 0], r"$\psi_1$")
        sc = ax.scatter(xs, ys, c=c, s=6, cmap=cmap or "viridis")
        ax.set_xlabel(r"$\psi_1$")
        ax.set_ylabel(ylabel)
        ax.set_title(f"Diffusion coordinates of {name}")
        if c is not None:
            ax.figure.colorbar(sc, ax=ax, label=label)
    return axes


@_validate(axes=_AXES, max_features=[Interval(Integral, 1, None, closed="left")])
def plot_reconstruction(report, axes=None, max_features=6):
    """Predicted against true held-out activations, both directions."""
    plt = import_pyplot()
    if axes is None:
        axes = plt.figure(figsize=(9, 4)).subplots(1, 2)
    a, b = report.names
    for ax, true, pred, title, score in (
        (axes[0], report.test_b, report.predicted_b, f"{a}→{b}", report.score_ab),
        (axes[1], report.test_a, report.predicted_a, f"{b}→{a}", report.score_ba),
    ):
        true = np.asarray(true).reshape(true.shape[0], -1)
        pred = np.asarray(pred).reshape(pred.shape[0], -1)
        shown = min(true.shape[1], max_features)
        for j in range(shown):
            ax.scatter(true[:, j], pred[:, j], s=6, alpha=0.6)
        lo = min(true.min(), pred.min())
        hi = max(true.max(), pred.max())
        ax.plot([lo, hi], [lo, hi], color="k", lw=1)
        target = title.split("→")[1]
        ax.set_xlabel(f"{target}'s activation, true (held out)")
        ax.set_ylabel(f"{target}'s activation, predicted")
        ax.set_title(f"{title}: R² = {score:.3f}")
        ax.text(
            0.02,
            0.98,
            _units_shown(shown, true.shape[1]),
            transform=ax.transAxes,
            va="top",
            fontsize="small",
        )
    return axes


def _units_shown(shown, total):
    if total == 1:
        return "1 unit"
    if shown == total:
        which = "both" if total == 2 else f"all {total}"
    else:
        which = f"first {shown} of {total}"
    return f"{which} units, one colour each"


@_validate(ax=AX_CONSTRAINT)
def plot_null(report, ax=None):
    """Held-out R² against the permutation null's, both directions."""
    ax = axes_or_new(ax, layout="constrained")
    a, b = report.names
    nulls = np.r_[report.null_scores_ab, report.null_scores_ba]
    nulls = nulls[np.isfinite(nulls)]
    # one set of bins, so that the two directions' bars line up
    bins = np.histogram_bin_edges(nulls, bins=20) if nulls.size else 20
    for (null, score, label), colour in zip(
        (
            (report.null_scores_ab, report.score_ab, f"{a}→{b}"),
            (report.null_scores_ba, report.score_ba, f"{b}→{a}"),
        ),
        ("C0", "C1"),
        strict=True,
    ):
        if len(null):
            ax.hist(null, bins=bins, alpha=0.5, color=colour, label=f"null {label}")
        ax.axvline(score, color=colour, lw=2, label=f"observed {label}")
    ax.set_xlabel("held-out R²")
    ax.set_ylabel("permutations")
    ax.set_title(
        f"Permutation null ({report.n_permutations} shuffles, "
        f"p ≥ {report.p_value_floor:.2g})"
    )
    ax.legend(fontsize="small", loc="best")
    return ax


@_validate(ax=AX_CONSTRAINT)
def plot_scores(report, ax=None):
    """Held-out R² with bootstrap intervals against the tolerance."""
    ax = axes_or_new(ax, layout="constrained")
    a, b = report.names
    labels = [f"{a}→{b}", f"{b}→{a}"]
    scores = np.array([report.score_ab, report.score_ba])
    intervals = np.array([report.interval_ab, report.interval_ba], dtype=float)
    has_interval = np.all(np.isfinite(intervals), axis=1)
    low = np.where(has_interval, scores - intervals[:, 0], 0.0)
    high = np.where(has_interval, intervals[:, 1] - scores, 0.0)
    ax.errorbar([0, 1], scores, yerr=[low, high], fmt="o", capsize=8, color="k")
    ax.axhline(report.tolerance, color="C3", ls="--")
    for x, status in enumerate((report.status_ab, report.status_ba)):
        ax.annotate(status, (x, scores[x]), xytext=(12, 0), textcoords="offset points")
    ax.set_xticks([0, 1], labels)
    ax.set_xlim(-0.5, 1.5)
    # the points, their intervals and the tolerance, none on the frame
    values = np.r_[scores - low, scores + high, report.tolerance]
    lo, hi = np.min(values), np.max(values)
    pad = 0.1 * max(hi - lo, 0.01)
    ax.set_ylim(lo - pad, hi + pad)
    # labelled where it is drawn: a legend box could cover a point
    ax.annotate(
        f"tolerance {report.tolerance:g}",
        (1.5, report.tolerance),
        xytext=(-3, 3),
        textcoords="offset points",
        ha="right",
        va="bottom",
        color="C3",
        fontsize="small",
    )
    ax.set_ylabel(f"held-out R² ({100 * report.confidence_level:g}% interval)")
    ax.set_title(f"Verdict: {report.verdict}")
    return ax


@_validate(ax=AX_CONSTRAINT)
def plot_candidates(report, ax=None):
    """Inner-CV R² of each candidate map, both directions; the chosen marked."""
    ax = axes_or_new(ax, layout="constrained")
    a, b = report.names
    directions = (
        (f"{a}→{b}", report.candidate_scores_ab, report.selected_ab),
        (f"{b}→{a}", report.candidate_scores_ba, report.selected_ba),
    )
    names = list(directions[0][1])
    width = 0.8 / 2
    for i, (label, scores, chosen) in enumerate(directions):
        values = [scores.get(n, np.nan) for n in names]
        bars = ax.bar(
            np.arange(len(names)) + (i - 0.5) * width, values, width, label=label
        )
        for bar, name in zip(bars, names, strict=True):
            if name == chosen:
                bar.set_edgecolor("k")
                bar.set_linewidth(2)
    ax.set_xticks(np.arange(len(names)), [n.replace("_", " ") for n in names])
    finite = [v for _, s, _ in directions for v in s.values() if np.isfinite(v)]
    low = min([0.0, *finite])
    # R² stops at 1: the band above it holds the legend, clear of the bars
    ax.set_ylim(low, 1.0 + 0.22 * (1.0 - low))
    ax.set_yticks([t for t in ax.get_yticks() if low <= t <= 1.0])
    ax.set_ylabel("inner cross-validated R² (training pairs)")
    ax.set_title("Candidate maps (chosen: outlined)")
    ax.legend(fontsize="small", loc="upper center", ncols=2)
    if not finite:
        ax.text(
            0.5,
            0.5,
            f"one candidate ({', '.join(names)}):\nno inner cross-validation",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    return ax


def _has_candidate_scores(report):
    return any(
        np.isfinite(v)
        for scores in (report.candidate_scores_ab, report.candidate_scores_ba)
        for v in scores.values()
    )


@validate_params(
    {
        "report": [EquivalenceReport, None],
        "ax": AX_CONSTRAINT,
        "scores": ["array-like", dict, None],
        "target": [str, None],
    },
    prefer_skip_nested_validation=True,
)
def plot_score_curve(report, ax=None, scores=None, target=None):
    """Score of the selected-neuron reconstruction against the number of neurons.

    Parameters
    ----------
    report : EquivalenceReport or None
        Its selectors' ``scores_`` are drawn, both directions.
    ax : matplotlib axes, default=None
    scores : array-like or dict, default=None
        A selector's ``scores_`` to draw instead of the report's.
    target : str, default=None
        Legend label of ``scores``.
    """
    ax = axes_or_new(ax)
    a, b = report.names if report is not None else ("A", "B")
    curves = []
    if scores is not None:
        curves.append((scores, target or "target"))
    elif report is not None:
        curves.append((report.selector_scores_ab, f"{a}→{b}"))
        curves.append((report.selector_scores_ba, f"{b}→{a}"))
    drawn = False
    lowest = 1.0
    for s, label in curves:
        curve = score_curve(s)
        if curve is not None:
            ax.plot(*curve, marker="o", label=label)
            drawn = True
            finite = curve[1][np.isfinite(curve[1])]
            if finite.size:
                lowest = min(lowest, float(finite.min()))
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    # a flat curve near 1 must not be blown up into noise by autoscaling
    ax.set_ylim(min(lowest - 0.05, 0.9), 1.01)
    ax.set_xlabel("number of selected neurons k")
    ax.set_ylabel("cross-validated R²")
    ax.set_title("Score against k")
    if drawn:
        ax.legend(loc="lower right")
    else:
        ax.text(
            0.5,
            0.5,
            "no neuron selection",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    return ax


@_validate(kind=[StrOptions(set(KINDS))], **_COLOURING)
def plot_report(
    report, kind="summary", color=None, color_label=None, cmap=None, **fig_kwargs
):
    """One figure of ``kind`` (see :meth:`EquivalenceReport.plot`)."""
    plt = import_pyplot()
    colouring = {"color": color, "color_label": color_label, "cmap": cmap}
    if kind in ("embeddings", "reconstruction"):
        fig = plt.figure(
            **{"figsize": (10, 4.2), "layout": "constrained", **fig_kwargs}
        )
        axes = fig.subplots(1, 2)
        if kind == "embeddings":
            plot_embeddings(report, axes, **colouring)
        else:
            plot_reconstruction(report, axes)
        return fig
    if kind != "summary":
        fig = plt.figure(**{"layout": "constrained", **fig_kwargs})
        _SINGLE[kind](report, fig.add_subplot())
        return fig
    return _summary(report, colouring, fig_kwargs)


def _summary(report, colouring, fig_kwargs):
    """Every panel the report has data for, and no empty one."""
    plt = import_pyplot()
    panels = [plot_scores]
    if _has_candidate_scores(report):
        panels.append(plot_candidates)
    if report.n_permutations:
        panels.append(plot_null)
    if report.spectrum_a is not None or report.spectrum_b is not None:
        panels.append(plot_spectra)
    if any(
        score_curve(s) is not None
        for s in (report.selector_scores_ab, report.selector_scores_ba)
    ):
        panels.append(plot_score_curve)
    pairs = [plot_reconstruction]
    if report.coords_a is not None and report.coords_b is not None:
        pairs.append(plot_embeddings)
    n_cols = max(len(panels), 2)
    fig = plt.figure(
        **{
            "figsize": (4.6 * n_cols, 4.2 * (1 + len(pairs))),
            "layout": "constrained",
            **fig_kwargs,
        }
    )
    rows = fig.subfigures(1 + len(pairs), 1)
    top = rows[0].subplots(1, len(panels), squeeze=False)[0]
    for ax, panel in zip(top, panels, strict=True):
        panel(report, ax)
    for row, pair in zip(rows[1:], pairs, strict=True):
        axes = row.subplots(1, 2)
        if pair is plot_embeddings:
            pair(report, axes, **colouring)
        else:
            pair(report, axes)
    fig.suptitle(report.verdict_sentence(), wrap=True)
    return fig


_SINGLE = {
    "scores": plot_scores,
    "null": plot_null,
    "candidates": plot_candidates,
    "spectra": plot_spectra,
    "selection": plot_score_curve,
}
