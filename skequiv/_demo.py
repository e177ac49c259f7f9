"""``skequiv demo``: experiment (a) of the seed paper, end to end, on the CPU.

Two small MLPs of different widths and seeds learn sin(πx) on [-1, 1]. The demo
tests whether they are equivalent (the report, with its permutation null and
verdict), then shows why internal neurons matter: sin(πx) is not monotonic, so
A's output does not determine B's hidden layer, while 2d + 1 = 3 neurons of A's
hidden layers, chosen by WhitneyFeatureSelector, do — and reconstruct the input.
"""

import time
from pathlib import Path

# samples used by the report and by the selection (of the 1,000 training inputs)
_N_REPORT = 400
_N_PERMUTATIONS = 99  # smallest attainable p-value 0.01


def _line(text=""):
    print(text, flush=True)


def run_demo(output="skequiv-demo", seed=0, plots=True):
    """Run the demo; print the report; write figures to ``output``.

    Parameters
    ----------
    output : str or path-like, default="skequiv-demo"
        Folder for the figures (created if needed).
    seed : int, default=0
        Seeds the data, the networks and the report.
    plots : bool, default=True
        Write the figures (needs matplotlib). ``False`` skips matplotlib.

    Returns
    -------
    int
        The exit status, 0 on success.
    """
    from threadpoolctl import threadpool_limits

    # The demo's linear algebra is hundreds of small (few-hundred-square)
    # eigendecompositions, for which one BLAS thread is fastest; several
    # threads per call mostly wait on each other, badly so on a busy machine.
    with threadpool_limits(limits=1):
        return _run(output, seed, plots)


def _run(output, seed, plots):
    from skequiv import (
        NetworkActivations,
        NetworkTransform,
        WhitneyFeatureSelector,
        equivalence_report,
    )
    from skequiv.datasets import load_experiment

    start = time.perf_counter()
    _line("skequiv demo: when have two neural networks learned the same task?")
    _line("Experiment (a): two MLPs learn sin(πx) on [-1, 1] (CPU, seeded).")
    data = load_experiment("scalar", random_state=seed)
    _line(data.DESCR)
    _line(f"  (trained in {time.perf_counter() - start:.1f} s)")
    _line()

    X = data.X_train[:_N_REPORT]
    X_test = data.X_test
    x_test = data.intrinsic_test
    out_a = NetworkActivations(data.net_a, layers=(data.output_layer,))
    out_b = NetworkActivations(data.net_b, layers=(data.output_layer,))
    report = equivalence_report(
        out_a,
        out_b,
        X,
        n_permutations=_N_PERMUTATIONS,
        n_jobs=2,
        names=("A", "B"),
        random_state=seed,
    )
    _line("1. Are the two networks' outputs equivalent?")
    _line(str(report))
    _line()

    # 2. internal neurons: B's last hidden layer depends on x, not only on sin(πx)
    hidden_a = NetworkActivations(data.net_a, layers=data.hidden_layers)
    hidden_b = NetworkActivations(data.net_b, layers=(data.hidden_layers[-1],))
    d = data.intrinsic_dimension
    output_only = NetworkTransform(
        source_a=out_a,
        source_b=hidden_b,
        random_state=seed,
    ).fit(X)
    selected = NetworkTransform(
        source_a=hidden_a,
        source_b=hidden_b,
        selector=WhitneyFeatureSelector(random_state=seed),
        random_state=seed,
    ).fit(X)
    to_input = NetworkTransform(
        source_a=hidden_a,
        selector=WhitneyFeatureSelector(random_state=seed),
        random_state=seed,
    ).fit(X, data.intrinsic_train[:_N_REPORT])
    score_output_only = output_only.score(X_test)
    score_selected = selected.score(X_test)
    score_input = to_input.score(X_test, x_test)
    names = hidden_a.fit(X).get_feature_names_out()
    chosen = ", ".join(names[selected.support_])
    _line("2. Internal neurons (sin(πx) is not monotonic: its value does not fix x)")
    _line(
        "  A's output -> B's last hidden layer:             held-out R² "
        f"{score_output_only:.4f}"
    )
    _line(
        f"  {len(selected.support_)} selected neurons of A ({chosen}) -> B's hidden "
        f"layer: held-out R² {score_selected:.4f}"
    )
    _line(
        f"  {len(to_input.support_)} selected neurons of A -> the input x:"
        f"              held-out R² {score_input:.4f}"
    )
    _line(f"  (intrinsic dimension d = {d}; Whitney: 2d + 1 = {2 * d + 1})")
    _line()

    if plots:
        paths = _write_figures(
            Path(output), report, selected, to_input, X_test, x_test, hidden_b
        )
        _line(f"Figures written to {Path(output).resolve()}:")
        for path in paths:
            _line(f"  {path.name}")
    _line(f"Done in {time.perf_counter() - start:.1f} s.")
    return 0


def _write_figures(folder, report, selected, to_input, X_test, x_test, hidden_b):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skequiv.equivalence import _plotting

    folder.mkdir(parents=True, exist_ok=True)
    paths = []

    def save(fig, name):
        path = folder / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)

    save(report.plot("summary"), "equivalence_report.png")
    save(report.plot("spectra"), "spectra.png")
    save(report.plot("embeddings"), "embeddings.png")
    save(report.plot("reconstruction"), "reconstruction.png")

    fig, axes = plt.subplots(1, 3, figsize=(14, 4), layout="constrained")
    _plotting.plot_score_curve(
        None,
        axes[0],
        scores=getattr(selected.selector_, "scores_", None),
        target="A's hidden neurons → B's hidden layer",
    )
    truth_b = hidden_b.fit(X_test).transform(X_test)
    pred_b = selected.transform(X_test)
    for j in range(min(truth_b.shape[1], 6)):
        axes[1].scatter(truth_b[:, j], pred_b[:, j], s=5, alpha=0.6)
    axes[1].set_xlabel("B's hidden activation (true)")
    axes[1].set_ylabel("predicted from selected neurons of A")
    axes[1].set_title(f"{len(selected.support_)} neurons of A → B's hidden layer")
    axes[2].scatter(x_test[:, 0], to_input.predict(X_test).ravel(), s=5)
    axes[2].plot([-1, 1], [-1, 1], color="k", lw=1)
    axes[2].set_xlabel("input x (true)")
    axes[2].set_ylabel("reconstructed x")
    axes[2].set_title(f"{len(to_input.support_)} neurons of A → input")
    save(fig, "selected_neurons.png")
    return paths
