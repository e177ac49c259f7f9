"""Speed of the equivalence test: the README example and reports on classifier logits.

Each case runs in a fresh subprocess twice, side by side: with one BLAS/OpenMP
thread (``OPENBLAS_NUM_THREADS=1`` and friends) and with the default threads,
so that the ratio shows whether the library is immune to BLAS threading (the
targets of issue 10, item 6). Timings exclude imports and network training,
which are reported separately.

Cases:

- ``readme``: the two ``equivalence_report`` calls of the README's example
  (the scalar task on 400 inputs, two digit classifiers' logits on 600).
- ``logits_N``: ``equivalence_report`` with its defaults on N paired samples of
  two digit classifiers' logits (the 1,797 digits, then copies with pixel
  noise of standard deviation 0.05 up to N).

Usage::

    python benchmarks/bench_equivalence.py [--cases readme,logits_2000,logits_10000]

Results go to ``benchmarks/results/equivalence.md`` and ``.json``.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
TARGETS = {
    "readme": "≤ 1.5× its one-thread time, < 10 s",
    "logits_2000": "< 30 s",
    "logits_10000": "< 180 s",
}


def _readme():
    from skequiv import NetworkActivations, equivalence_report
    from skequiv.datasets import load_experiment

    start = time.perf_counter()
    exp = load_experiment("scalar", random_state=0)
    digits = load_experiment("digits", random_state=0)
    training = time.perf_counter() - start
    start = time.perf_counter()
    out_a = NetworkActivations(exp.net_a, layers=("output",))
    out_b = NetworkActivations(exp.net_b, layers=("output",))
    first = equivalence_report(out_a, out_b, exp.X_train[:400], random_state=0)
    logits_a = NetworkActivations(digits.net_a, layers=("output",))
    logits_b = NetworkActivations(digits.net_b, layers=("output",))
    second = equivalence_report(
        logits_a, logits_b, digits.X_train[:600], random_state=0
    )
    return {
        "seconds": time.perf_counter() - start,
        "training_seconds": training,
        "verdicts": [first.verdict, second.verdict],
        "selected": [first.selected_ab, second.selected_ab],
    }


def _logits(n):
    import numpy as np

    from skequiv import NetworkActivations, equivalence_report
    from skequiv.datasets import load_experiment

    start = time.perf_counter()
    digits = load_experiment("digits", random_state=0)
    training = time.perf_counter() - start
    images = np.vstack([digits.X_train, digits.X_test])
    rng = np.random.default_rng(0)
    copies = images[rng.integers(0, len(images), max(0, n - len(images)))]
    noisy = copies + 0.05 * rng.normal(size=copies.shape).astype(np.float32)
    X = np.vstack([images, np.clip(noisy, 0, 1)])[:n]
    a = NetworkActivations(digits.net_a, layers=("output",)).fit(X).transform(X)
    b = NetworkActivations(digits.net_b, layers=("output",)).fit(X).transform(X)
    start = time.perf_counter()
    report = equivalence_report(a, b, random_state=0)
    return {
        "seconds": time.perf_counter() - start,
        "training_seconds": training,
        "verdicts": [report.verdict],
        "selected": [report.selected_ab, report.selected_ba],
        "r2": [report.score_ab, report.score_ba],
    }


def _child(case):
    import warnings

    warnings.simplefilter("ignore")
    start = time.process_time()
    if case == "readme":
        result = _readme()
    else:
        result = _logits(int(case.split("_")[1]))
    result["cpu_seconds"] = time.process_time() - start
    print(json.dumps(result))


def _run(case, one_thread):
    env = dict(os.environ)
    for name in THREAD_VARIABLES:
        env.pop(name, None)
        if one_thread:
            env[name] = "1"
    out = subprocess.run(
        [sys.executable, __file__, "--child", case],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _markdown(rows, load):
    lines = [
        "# Equivalence test: speed",
        "",
        "Written by `benchmarks/bench_equivalence.py`; every number below was "
        "measured by it. Compute time excludes imports and network training. "
        "Each case ran in a fresh process, with one BLAS thread and with the "
        "default threads, side by side.",
        "",
        f"Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f} (1/5/15 min) at the start"
        + (
            ": the machine was shared, so absolute times are inflated; the ratio "
            "is the comparable number."
            if load[0] > os.cpu_count() / 2
            else " (quiet)."
        ),
        "",
        "| case | target | one thread (s) | default threads (s) | ratio | "
        "CPU time, default (s) | verdict | map chosen |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case, one, default in rows:
        ratio = default["seconds"] / one["seconds"]
        lines.append(
            f"| {case} | {TARGETS.get(case, '')} | {one['seconds']:.1f} | "
            f"{default['seconds']:.1f} | {ratio:.2f}× | "
            f"{default['cpu_seconds']:.1f} | {', '.join(default['verdicts'])} | "
            f"{', '.join(map(str, default['selected']))} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="readme,logits_2000,logits_10000")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return 0
    load = os.getloadavg()
    rows = []
    for case in args.cases.split(","):
        one = _run(case, one_thread=True)
        default = _run(case, one_thread=False)
        print(case, "one thread", one, "default", default, flush=True)
        rows.append((case, one, default))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "equivalence.json").write_text(
        json.dumps(
            {
                "load_average": load,
                "rows": [
                    {"case": c, "one_thread": o, "default": d} for c, o, d in rows
                ],
            },
            indent=2,
        )
        + "\n"
    )
    (RESULTS / "equivalence.md").write_text(_markdown(rows, load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
