"""The HTML page and figures of ``skequiv compare``."""

import warnings

import numpy as np

from skequiv import _html

_VERDICT_CLASS = {"equivalent": "good", "not equivalent": "bad"}


def html_report(record, result):
    """The page for one run: ``record`` is the JSON record, ``result`` the results."""
    if "matrix" in record:
        title = f"skequiv compare: {len(record['names'])} models"
        sections = _population_sections(record, result)
    else:
        a, b = record["names"]
        title = f"skequiv compare: {a} vs {b}"
        sections = _pair_sections(record, result.report)
    return _html.page(title, [*sections, ("How it was run", _run_section(record))])


def _pair_sections(record, report):
    a, b = record["names"]
    css = f"verdict {_VERDICT_CLASS.get(report.verdict, 'other')}"
    verdict = _html.paragraph(report.verdict_sentence(), css)
    level = f"{100 * record['confidence_level']:g}% interval"
    rows = []
    for src, dst, key in ((a, b, "ab"), (b, a, "ba")):
        rows.append(
            [
                f"{src} → {dst}",
                _fmt(record[f"r2_{key}"]),
                _interval(record[f"r2_{key}_interval"]),
                _p_value(record[f"p_value_{key}"], record["n_permutations"]),
                _transform(record[f"transform_{key}"]),
            ]
        )
    numbers = _html.table(
        rows, ["transform", "held-out R²", level, "permutation p", "steps"]
    )
    details = _html.paragraph(
        f"{record['n_train']} training / {record['n_test']} held-out samples; "
        f"tolerance R² ≥ {record['tolerance']:g}; {record['n_permutations']} "
        f"permutations (smallest possible p = {record['p_value_floor']:.3g}); "
        f"cycle errors {a}→{b}→{a} {_fmt(record['cycle_error_a'])}, "
        f"{b}→{a}→{b} {_fmt(record['cycle_error_b'])} (relative RMSE)."
    )
    return [
        ("Verdict", verdict),
        ("Held-out scores", numbers + details),
        ("Figures", _figures(_pair_figures, report)),
        ("Full report", _html.preformatted(str(report))),
    ]


def _population_sections(record, result):
    names = record["names"]
    if record["all_equivalent"]:
        summary = _html.paragraph("every pair is equivalent", "verdict good")
    else:
        summary = _html.paragraph("not every pair is equivalent", "verdict bad")
    classes = _html.table(
        [[i + 1, ", ".join(group)] for i, group in enumerate(record["classes"])],
        ["class", "models (joined by 'equivalent' verdicts)"],
    )
    matrix = _html.table(
        [
            [name, *(_fmt(v) for v in row)]
            for name, row in zip(names, record["matrix"], strict=True)
        ],
        ["R² row → column", *names],
    )
    pairs = _html.table(
        [
            [
                f"{p['names'][0]} vs {p['names'][1]}",
                p["verdict"],
                _fmt(p["r2_ab"]),
                _fmt(p["r2_ba"]),
                _p_value(p["p_value_ab"], p["n_permutations"]),
                _p_value(p["p_value_ba"], p["n_permutations"]),
            ]
            for p in record["pairs"]
        ],
        ["pair", "verdict", "R² a → b", "R² b → a", "p a → b", "p b → a"],
    )
    reports = "\n".join(
        _html.preformatted(str(r)) for _, r in sorted(result.reports.items())
    )
    return [
        ("Summary", summary + classes),
        ("Figures", _figures(_population_figures, result)),
        ("Held-out R² of every transform", matrix),
        ("Pairs", pairs),
        ("Reports of the pairs", reports),
    ]


def _run_section(record):
    models = _html.table(
        [
            [m["name"], m["path"], m["format"], m["layer"], m["n_activations"]]
            for m in record["models"]
        ],
        ["model", "file", "read as", "layer", "activations"],
    )
    inputs = record["inputs"]
    origin = inputs.get("file") or f"built-in experiment {inputs.get('dataset')!r}"
    return (
        _html.preformatted(" ".join(record["command"]))
        + models
        + _html.paragraph(
            f"Inputs: {inputs['n_samples']} samples of shape "
            f"{tuple(inputs['sample_shape'])} from {origin}. skequiv "
            f"{record['skequiv_version']}, torch {record['torch_version']}, seed "
            f"{record['seed']}."
        )
    )


def _figures(draw, result):
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        return _html.paragraph("Figures need matplotlib: pip install 'skequiv[plot]'.")
    with warnings.catch_warnings():
        # the report's embedding scatter passes a colormap also when it has no
        # values to colour by (inputs of more than one feature)
        warnings.filterwarnings("ignore", message="No data for colormapping")
        return "\n".join(
            _html.figure(_html.figure_uri(fig), caption)
            for fig, caption in draw(result)
        )


def _pair_figures(report):
    a, b = report.names
    yield (
        report.plot("summary"),
        "Spectra, embedding coordinates, held-out activations against their "
        "predictions, and (with a selector) score against the number of neurons.",
    )
    yield (
        _null_figure(report),
        f"Permutation null: held-out R² of transforms refitted after shuffling "
        f"which {b} sample goes with which {a} sample, against the observed R².",
    )


def _null_figure(report):
    import matplotlib.pyplot as plt

    a, b = report.names
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    for ax, null, observed, label in (
        (axes[0], report.null_scores_ab, report.score_ab, f"{a} → {b}"),
        (axes[1], report.null_scores_ba, report.score_ba, f"{b} → {a}"),
    ):
        if len(null):
            ax.hist(np.clip(null, -1, 1), bins=30, color="0.6", label="null")
        ax.axvline(observed, color="C3", lw=2, label=f"observed {observed:.3f}")
        ax.axvline(report.tolerance, color="k", ls="--", lw=1, label="tolerance")
        ax.set_xlabel(f"held-out R² {label} (null clipped at -1)")
        ax.set_ylabel("permutations")
        ax.legend(loc="upper left", fontsize="small")
    return fig


def _population_figures(result):
    yield (
        heat_map(result.names, result.matrix, result.classes()),
        "Held-out R² of the transform from the row's model to the column's, "
        "models ordered by equivalence class (boxes).",
    )


def heat_map(names, matrix, classes):
    """The directed score matrix as a heat map, ordered and boxed by class."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    order = [i for group in classes for i in group]
    shown = np.asarray(matrix)[np.ix_(order, order)]
    k = len(order)
    size = max(4.0, 0.6 * k + 2)
    fig, ax = plt.subplots(figsize=(size + 1.2, size), layout="constrained")
    image = ax.imshow(np.clip(shown, 0, 1), vmin=0, vmax=1, cmap="viridis")
    labels = [names[i] for i in order]
    ax.set_xticks(range(k), labels, rotation=45, ha="right")
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("to (predicted model)")
    ax.set_ylabel("from (predicting model)")
    if k <= 12:
        for i in range(k):
            for j in range(k):
                ax.text(
                    j,
                    i,
                    f"{shown[i, j]:.2f}",
                    ha="center",
                    va="center",
                    color="w" if shown[i, j] < 0.6 else "k",
                    fontsize=8,
                )
    start = 0
    for group in classes:
        ax.add_patch(
            Rectangle(
                (start - 0.5, start - 0.5),
                len(group),
                len(group),
                fill=False,
                edgecolor="r",
                lw=2,
            )
        )
        start += len(group)
    fig.colorbar(image, ax=ax, label="held-out R² (clipped to [0, 1])")
    return fig


def _fmt(value):
    return "n/a" if value is None else f"{value:.4f}"


def _interval(bounds):
    if bounds[0] is None:
        return "not computed"
    return f"[{bounds[0]:.4f}, {bounds[1]:.4f}]"


def _p_value(p, n_permutations):
    return "not run" if n_permutations == 0 else f"{p:.3g}"


def _transform(steps):
    used = [f"{k} {v}" for k, v in steps.items() if k != "n_coordinates" and v]
    return ", ".join(used) or "identity"
