"""KnowledgeIsomorphism: time to converge, time per epoch and peak memory.

Issue 13, "Done when" 4: fit time and peak memory for dense features
(n = 4,096 … 65,536, p = 64 … 512) and conv features (n = 2,048, 64×8×8).

Three parts, every row in a fresh subprocess that makes its data itself:

- ``converge``: the defaults (early stopping) on n = 4,096 samples of
  p = 8 and 64 features, until they stop; seconds, epochs and held-out R².
  A = Z (p = 8, full rank) or a redundant 64-feature mixture of 16 latent
  factors Z; B = ReLU(Z·W), half as wide. Each at the paper's hidden width
  and at ``hidden_channels=4p``.
- ``dense``: two epochs without early stopping (A = B's width = p), so the
  cost of an epoch at scale; seconds per epoch and peak memory.
- ``conv``: the same for (2,048, 64, 8, 8) maps on both sides, 3×3 kernels.

The machine is shared: every row also times an anchor in the same
subprocess just before the fit (one epoch of scikit-learn's
``MLPRegressor``, 64 hidden units, batch 64, on 4,096 × 64 → 32 data), and
reports ``seconds / anchor`` beside the load averages, which compare across
rows and runs where raw seconds do not. Peak memory is the resident set size
during the fit minus the size just before it, sampled every 0.5 ms.

Usage::

    python benchmarks/bench_isomorphism.py             # everything (~15 min)
    python benchmarks/bench_isomorphism.py --parts converge --out /tmp/x

Writes ``isomorphism.json`` and ``isomorphism.md`` to ``--out`` (default
``benchmarks/results``).
"""

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from bench_network_sources import _PeakRSS  # RSS sampled by a thread

HERE = Path(__file__).resolve().parent
PARTS = {
    "converge": [
        {"part": "converge", "n": 4096, "p": p, "hidden": h}
        for p in (8, 64)
        for h in (None, 4 * p)
    ],
    "dense": [
        {"part": "dense", "n": n, "p": p, "epochs": 2}
        for p in (64, 512)
        for n in (4096, 16384, 65536)
    ],
    "conv": [{"part": "conv", "n": 2048, "p": 64, "hw": 8, "epochs": 2}],
}


def _anchor_seconds():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(4096, 64))
    y = np.tanh(X @ rng.normal(size=(64, 32)) / 8)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPRegressor(
            hidden_layer_sizes=(64,), batch_size=64, max_iter=1, random_state=0
        ).fit(X, y)
    return time.perf_counter() - start


def _data(case):
    rng = np.random.default_rng(0)
    n, p = case["n"], case["p"]
    if case["part"] == "conv":
        shape = (n, p, case["hw"], case["hw"])
        A = rng.normal(size=shape).astype(np.float32)
        B = np.maximum(A + 0.5 * np.roll(A, 1, axis=1), 0)
        return A, B, None
    n_latent = p if p <= 8 else p // 4
    Z = rng.normal(size=(n + 1024, n_latent))
    A = Z if n_latent == p else Z @ rng.normal(size=(n_latent, p))
    width = p if case["part"] == "dense" else max(p // 2, 1)
    B = np.maximum(Z @ rng.normal(size=(n_latent, width)), 0)
    return A[:n], B[:n], (A[n:], B[n:])


def run_one(case):
    """One row, in this process: anchor, then the fit."""
    import torch

    from skequiv import KnowledgeIsomorphism

    A, B, held_out = _data(case)
    anchor = _anchor_seconds()
    if case["part"] == "converge":
        model = KnowledgeIsomorphism(hidden_channels=case["hidden"], random_state=0)
    else:
        model = KnowledgeIsomorphism(
            max_epochs=case["epochs"], early_stopping=False, random_state=0
        )
    # torch's lazy start-up (seconds, once per process) is not part of a fit
    warm = np.zeros((64, 4, 4, 4)) if A.ndim == 4 else np.zeros((64, 4))
    KnowledgeIsomorphism(max_epochs=1).fit(warm + torch.randn(warm.shape).numpy(), warm)
    with _PeakRSS() as rss:
        start = time.perf_counter()
        model.fit(A, B)
        seconds = time.perf_counter() - start
    row = {
        **case,
        "seconds": seconds,
        "epochs_run": model.n_epochs_,
        "seconds_per_epoch": seconds / model.n_epochs_,
        "peak_extra_mb": rss.extra_mb,
        "input_mb": (A.nbytes + B.nbytes) / 2**20,
        "anchor_seconds": anchor,
        "ratio_to_anchor": seconds / anchor,
        "load": os.getloadavg(),
    }
    if held_out is not None:
        row["heldout_r2"] = model.score(*held_out)
        row["variance_by_order"] = model.variance_profile(*held_out)[
            "variance_by_order"
        ].tolist()
    return row


def _markdown(rows):
    lines = [
        "# KnowledgeIsomorphism: fit time and peak memory",
        "",
        "Measured by `python benchmarks/bench_isomorphism.py` on the project's "
        "shared 2-core CPU machine (no GPU) while other jobs ran: raw seconds "
        "are inflated by the load (1-minute load average in the last column), "
        "so compare `× anchor` (seconds over one epoch of scikit-learn's "
        "MLPRegressor on 4,096 × 64 → 32, timed in the same process just "
        "before). Peak memory: resident set growth during the fit.",
        "",
        "## Convergence with the defaults (early stopping), n = 4,096",
        "",
        "A = Z (p = 8) or 64 features mixing 16 latent factors Z; "
        "B = ReLU(Z·W), p/2 features; held-out R² on 1,024 further samples.",
        "",
        "| p | hidden_channels | seconds | × anchor | epochs | held-out R² | "
        "variance by order | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in (r for r in rows if r["part"] == "converge"):
        lines.append(
            f"| {r['p']} | {r['hidden'] or 'A (paper)'} | {r['seconds']:.1f} | "
            f"{r['ratio_to_anchor']:.1f} | {r['epochs_run']} | "
            f"{r['heldout_r2']:.3f} | "
            f"{', '.join(f'{v:.3f}' for v in r['variance_by_order'])} | "
            f"{r['load'][0]:.1f} |"
        )
    lines += [
        "",
        "## Cost at scale (2 epochs, no early stopping)",
        "",
        "Dense: A and B both p features; conv: (n, 64, 8, 8) maps both sides, "
        "3×3 kernels. Batch 64. The fit seconds include the least-squares "
        "start and the variance profile of the training samples.",
        "",
        "| features | n | fit seconds | × anchor | peak extra MB | input MB | load |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in (r for r in rows if r["part"] != "converge"):
        what = f"dense p = {r['p']}" if r["part"] == "dense" else "conv 64×8×8"
        lines.append(
            f"| {what} | {r['n']} | {r['seconds']:.1f} | "
            f"{r['ratio_to_anchor']:.1f} | {r['peak_extra_mb']:.0f} | "
            f"{r['input_mb']:.0f} | {r['load'][0]:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the .md from the .json"
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the rows of the other parts from the existing .json",
    )
    args = parser.parse_args()
    out = Path(args.out)
    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return
    if args.report_only:
        rows = json.loads((out / "isomorphism.json").read_text())
        (out / "isomorphism.md").write_text(_markdown(rows))
        return
    rows = []
    for part in args.parts.split(","):
        for case in PARTS[part]:
            stdout = subprocess.run(
                [sys.executable, __file__, "--one", json.dumps(case)],
                check=True,
                capture_output=True,
                text=True,
                cwd=HERE,
            ).stdout
            rows.append(json.loads(stdout.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    if args.merge and (out / "isomorphism.json").exists():
        rerun = {row["part"] for row in rows}
        old = json.loads((out / "isomorphism.json").read_text())
        rows = [row for row in old if row["part"] not in rerun] + rows
    out.mkdir(parents=True, exist_ok=True)
    (out / "isomorphism.json").write_text(json.dumps(rows, indent=1) + "\n")
    (out / "isomorphism.md").write_text(_markdown(rows))


if __name__ == "__main__":
    main()
