"""``skequiv demo``: the equivalence test end to end on built-in experiments (CPU).

``scalar`` is experiment (a) of the seed paper: two small MLPs of different
widths and seeds learn sin(πx) on [-1, 1]. The demo tests whether their outputs
are equivalent, then shows why internal neurons matter: sin(πx) is not
monotonic, so A's output does not determine B's hidden layer, while 2d + 1 = 3
neurons of A's hidden layers, chosen by WhitneyFeatureSelector, do, and
reconstruct the input. ``digits`` asks the same question of two skorch digit
classifiers as researchers train them (their logits), and of a digit
classifier against a parity classifier (one-way). ``vector_field`` and
``rotating_object`` are the paper's experiments (b) and (c).

Each experiment's report is printed and written, as text and JSON, next to its
figures in ``OUTPUT/EXPERIMENT/``.
"""

import json
import sys
import time
from pathlib import Path

EXPERIMENTS = ("scalar", "vector_field", "rotating_object", "digits")
DEFAULT_EXPERIMENTS = ("scalar", "digits")

# samples used by the paper's experiments' reports (of their training inputs)
_N_REPORT = 400
_N_PERMUTATIONS = 99  # smallest attainable p-value 0.01


def _line(text=""):
    print(text, flush=True)


def run_demo(output="skequiv-demo", seed=0, plots=True, experiments=None):
    """Run the demo; print the reports; write them and their figures to ``output``.

    Parameters
    ----------
    output : str or path-like, default="skequiv-demo"
        Folder for the reports and figures (created if needed; one subfolder
        per experiment). Checked for writing before any network is trained.
    seed : int, default=0
        Seeds the data, the networks and the reports.
    plots : bool, default=True
        Write the figures (needs matplotlib). ``False`` skips matplotlib and
        writes nothing.
    experiments : sequence of str, default=None
        Which of ``"scalar"``, ``"vector_field"``, ``"rotating_object"`` and
        ``"digits"`` to run; None means ``("scalar", "digits")``.

    Returns
    -------
    int
        The exit status: 0 on success, 2 when ``output`` cannot be written.
    """
    experiments = tuple(experiments or DEFAULT_EXPERIMENTS)
    unknown = sorted(set(experiments) - set(EXPERIMENTS))
    if unknown:
        raise ValueError(
            f"Unknown experiment(s) {unknown}; choose from {list(EXPERIMENTS)}."
        )
    folder = Path(output)
    if plots:
        problem = _unwritable(folder)
        if problem:
            print(
                f"skequiv demo: cannot write to --output {folder}: {problem}. "
                "Choose a writable folder with --output, or pass --no-plots.",
                file=sys.stderr,
            )
            return 2
    start = time.perf_counter()
    _line("skequiv demo: when have two neural networks learned the same task?")
    for name in experiments:
        _line()
        written = _RUNNERS[name](seed, folder / name if plots else None)
        if written:
            _line(f"Written to {(folder / name).resolve()}:")
            for path in written:
                _line(f"  {path.name}")
    _line(f"Done in {time.perf_counter() - start:.1f} s.")
    return 0


def _unwritable(folder):
    """Why ``folder`` cannot take the demo's files, or None."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".skequiv-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _sources(data, layers):
    from skequiv import NetworkActivations

    return (
        NetworkActivations(data.net_a, layers=layers),
        NetworkActivations(data.net_b, layers=layers),
    )


def _load(name, seed, **kwargs):
    from skequiv.datasets import load_experiment

    start = time.perf_counter()
    data = load_experiment(name, random_state=seed, **kwargs)
    # the description introduces the experiment (its name, its networks and
    # their held-out scores); a heading of our own would repeat it
    _line(data.DESCR)
    _line(f"  (trained in {time.perf_counter() - start:.1f} s)")
    return data


def _report(source_a, source_b, X, seed, **kwargs):
    from skequiv import equivalence_report

    report = equivalence_report(
        source_a,
        source_b,
        X,
        n_permutations=_N_PERMUTATIONS,
        random_state=seed,
        **kwargs,
    )
    _line(str(report))
    return report


# ------------------------------------------------------------- experiments
def _scalar(seed, folder):
    data = _load("scalar", seed)
    X = data.X_train[:_N_REPORT]
    out_a, out_b = _sources(data, (data.output_layer,))
    _line("1. Are the two networks' outputs equivalent?")
    report = _report(out_a, out_b, X, seed, color=data.intrinsic_train[:_N_REPORT, 0])
    _line()
    selection = _internal_neurons(data, X, seed)
    if folder is None:
        return []
    written = _save_report(folder, report, color_label="input x")
    return [*written, _save_selection_figure(folder, data, *selection)]


def _internal_neurons(data, X, seed):
    """Why internal neurons: B's hidden layer depends on x, not only on sin(πx)."""
    from skequiv import NetworkActivations, NetworkTransform, WhitneyFeatureSelector

    hidden_a = NetworkActivations(data.net_a, layers=data.hidden_layers)
    hidden_b = NetworkActivations(data.net_b, layers=(data.hidden_layers[-1],))
    out_a = NetworkActivations(data.net_a, layers=(data.output_layer,))
    common = {"candidates": "intrinsic", "random_state": seed}
    output_only = NetworkTransform(source_a=out_a, source_b=hidden_b, **common)
    selected = NetworkTransform(
        source_a=hidden_a,
        source_b=hidden_b,
        selector=WhitneyFeatureSelector(random_state=seed),
        **common,
    )
    to_input = NetworkTransform(
        source_a=hidden_a, selector=WhitneyFeatureSelector(random_state=seed), **common
    )
    output_only.fit(X)
    selected.fit(X)
    to_input.fit(X, data.intrinsic_train[:_N_REPORT])
    X_test, x_test = data.X_test, data.intrinsic_test
    names = hidden_a.fit(X).get_feature_names_out()
    chosen = ", ".join(names[selected.support_])
    d = data.intrinsic_dimension
    _line("2. Internal neurons (sin(πx) is not monotonic: its value does not fix x)")
    _line(
        "  A's output -> B's last hidden layer:             held-out R² "
        f"{output_only.score(X_test):.4f}"
    )
    _line(
        f"  {len(selected.support_)} selected neurons of A ({chosen}) -> B's hidden "
        f"layer: held-out R² {selected.score(X_test):.4f}"
    )
    _line(
        f"  {len(to_input.support_)} selected neurons of A -> the input x:"
        f"              held-out R² {to_input.score(X_test, x_test):.4f}"
    )
    _line(f"  (intrinsic dimension d = {d}; Whitney: 2d + 1 = {2 * d + 1})")
    _line()
    return selected, to_input, hidden_b


def _vector_field(seed, folder):
    data = _load("vector_field", seed)
    out_a, out_b = _sources(data, (data.output_layer,))
    report = _report(out_a, out_b, data.X_train[:_N_REPORT], seed)
    return [] if folder is None else _save_report(folder, report)


def _rotating_object(seed, folder):
    import numpy as np

    data = _load("rotating_object", seed)
    code_a, code_b = _sources(data, (data.code_layer,))
    angle = np.asarray(data.intrinsic_train)[:, 0]
    report = _report(code_a, code_b, data.X_train, seed, color=angle)
    if folder is None:
        return []
    return _save_report(folder, report, color_label="angle (rad)", cmap="twilight")


def _digits(seed, folder):
    data = _load("digits", seed)
    out_a, out_b = _sources(data, (data.output_layer,))
    _line("1. Two digit classifiers (different seeds and widths), their logits:")
    report = _report(out_a, out_b, data.X_train, seed, color=data.digit_train)
    _line()
    _line("2. A digit classifier against a parity classifier, their logits:")
    parity = _load("digits", seed, task_b="parity")
    par_a, par_b = _sources(parity, (parity.output_layer,))
    one_way = _report(par_a, par_b, parity.X_train, seed, names=("digit", "parity"))
    _line()
    if folder is None:
        return []
    written = _save_report(folder, report, color_label="digit", cmap="tab10")
    return written + _save_report(
        folder, one_way, stem="digit_vs_parity", color_label="digit", cmap="tab10"
    )


_RUNNERS = {
    "scalar": _scalar,
    "vector_field": _vector_field,
    "rotating_object": _rotating_object,
    "digits": _digits,
}


# ------------------------------------------------------------------ output
def _save_report(folder, report, *, stem="report", **plot_kwargs):
    """The report as text and JSON, and its summary figure, in ``folder``."""
    from skequiv._compare_results import report_record

    _agg()
    folder.mkdir(parents=True, exist_ok=True)
    text = folder / f"{stem}.txt"
    text.write_text(str(report) + "\n", encoding="utf-8")
    record = folder / f"{stem}.json"
    record.write_text(json.dumps(report_record(report), indent=2) + "\n")
    figure = folder / f"{stem}.png"
    _save_figure(report.plot("summary", **plot_kwargs), figure)
    return [text, record, figure]


def _save_figure(fig, path):
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _agg():
    # the demo writes files; it never opens windows
    import matplotlib

    matplotlib.use("Agg")


def _save_selection_figure(folder, data, selected, to_input, hidden_b):
    _agg()
    import matplotlib.pyplot as plt

    from skequiv.equivalence import plot_score_curve

    X_test, x_test = data.X_test, data.intrinsic_test
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), layout="constrained")
    plot_score_curve(
        None,
        axes[0],
        scores=getattr(selected.selector_, "scores_", None),
        target="A's hidden neurons → B's hidden layer",
    )
    truth_b = hidden_b.fit(X_test).transform(X_test)
    pred_b = selected.transform(X_test)
    for j in range(min(truth_b.shape[1], 6)):
        axes[1].scatter(truth_b[:, j], pred_b[:, j], s=5, alpha=0.6)
    axes[1].set_xlabel("B's hidden activation, true (held out)")
    axes[1].set_ylabel("predicted from A's selected neurons")
    axes[1].set_title(f"{len(selected.support_)} neurons of A → B's hidden layer")
    axes[2].scatter(x_test[:, 0], to_input.predict(X_test).ravel(), s=5)
    axes[2].plot([-1, 1], [-1, 1], color="k", lw=1)
    axes[2].set_xlabel("input x, true (held out)")
    axes[2].set_ylabel("input x, reconstructed")
    axes[2].set_title(f"{len(to_input.support_)} neurons of A → input x")
    return _save_figure(fig, folder / "selected_neurons.png")
