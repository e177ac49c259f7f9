"""Figures of an equivalence report. matplotlib is imported only when drawing."""

import numpy as np

KINDS = ("summary", "spectra", "embeddings", "reconstruction", "selection")


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised without matplotlib
        raise ImportError(
            "Plotting needs matplotlib: pip install 'skequiv[plot]'."
        ) from exc
    return plt


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


def plot_spectra(report, ax=None):
    """Eigenvalues of A's and B's embeddings side by side."""
    plt = _pyplot()
    ax = ax if ax is not None else plt.figure().add_subplot()
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
    ax.set_xlabel("eigenvector k")
    ax.set_ylabel("eigenvalue λ_k")
    ax.set_title("Spectra of the embeddings")
    ax.legend()
    return ax


def plot_embeddings(report, axes=None, color=None):
    """A's and B's embedding coordinates of the training samples, coloured."""
    plt = _pyplot()
    if axes is None:
        axes = plt.figure(figsize=(9, 4)).subplots(1, 2)
    color = report.color if color is None else np.asarray(color, dtype=float)
    c = None if color is None else color[report.train_index]
    for ax, coords, name in zip(
        axes, (report.coords_a, report.coords_b), report.names, strict=True
    ):
        if coords is None:
            ax.set_axis_off()
            continue
        if coords.shape[1] >= 2:
            xs, ys, ylabel = coords[:, 0], coords[:, 1], "ψ₂"
        else:
            xs, ys, ylabel = (
                coords[:, 0],
                (c if c is not None else coords[:, 0]),
                ("colour value"),
            )
        sc = ax.scatter(xs, ys, c=c, s=6, cmap="viridis")
        ax.set_xlabel("ψ₁")
        ax.set_ylabel(ylabel)
        ax.set_title(f"Embedding of {name}")
        if c is not None:
            plt.colorbar(sc, ax=ax, label="true input")
    return axes


def plot_reconstruction(report, axes=None, max_features=6):
    """Predicted against true held-out activations, both directions."""
    plt = _pyplot()
    if axes is None:
        axes = plt.figure(figsize=(9, 4)).subplots(1, 2)
    a, b = report.names
    for ax, true, pred, title, score in (
        (axes[0], report.test_b, report.predicted_b, f"{a}→{b}", report.score_ab),
        (axes[1], report.test_a, report.predicted_a, f"{b}→{a}", report.score_ba),
    ):
        true = np.asarray(true).reshape(true.shape[0], -1)
        pred = np.asarray(pred).reshape(pred.shape[0], -1)
        for j in range(min(true.shape[1], max_features)):
            ax.scatter(true[:, j], pred[:, j], s=6, alpha=0.6)
        lo = min(true.min(), pred.min())
        hi = max(true.max(), pred.max())
        ax.plot([lo, hi], [lo, hi], color="k", lw=1)
        ax.set_xlabel("true (held out)")
        ax.set_ylabel("predicted")
        ax.set_title(f"{title}: R² = {score:.3f}")
    return axes


def plot_score_curve(report, ax=None, scores=None, target=None):
    """Score of the selected-neuron reconstruction against the number of neurons."""
    plt = _pyplot()
    ax = ax if ax is not None else plt.figure().add_subplot()
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
        ax.legend()
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


def plot_report(report, kind="summary", color=None, **fig_kwargs):
    """One figure of ``kind`` (see :meth:`EquivalenceReport.plot`)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}.")
    plt = _pyplot()
    has_selection = any(
        score_curve(s) is not None
        for s in (report.selector_scores_ab, report.selector_scores_ba)
    )
    if kind == "spectra":
        fig = plt.figure(**fig_kwargs)
        plot_spectra(report, fig.add_subplot())
    elif kind == "embeddings":
        fig = plt.figure(**{"figsize": (9, 4), **fig_kwargs})
        plot_embeddings(report, fig.subplots(1, 2), color=color)
    elif kind == "reconstruction":
        fig = plt.figure(**{"figsize": (9, 4), **fig_kwargs})
        plot_reconstruction(report, fig.subplots(1, 2))
    elif kind == "selection":
        fig = plt.figure(**fig_kwargs)
        plot_score_curve(report, fig.add_subplot())
    else:
        fig = plt.figure(**{"figsize": (13, 8), "layout": "constrained", **fig_kwargs})
        grid = fig.subplots(2, 3)
        plot_spectra(report, grid[0, 0])
        plot_embeddings(report, grid[0, 1:], color=color)
        plot_reconstruction(report, grid[1, :2])
        if has_selection:
            plot_score_curve(report, grid[1, 2])
        else:
            grid[1, 2].set_axis_off()
        fig.suptitle(report.verdict_sentence())
    return fig
