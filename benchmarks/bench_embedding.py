"""Embedding on real networks: peak memory of a wide conv layer, threads side by side.

Issue 10, item 6 (the parts owned by the embedding):

- peak memory of ``MahalanobisDiffusionMap(metric=NetworkActivations(cnn,
  layers=("act_1",))).fit(X)`` on a 1,024-unit conv layer (16 x 8 x 8) of a
  digits CNN at 2,000 inputs (target: under 2 GB). The Jacobians are reduced
  chunk by chunk to their local spectra, never held whole. The anchor is the
  same fit from the whole Jacobians (``metric_data(X)`` then
  ``fit(Y, jacobians=J)``), run in its own process;
- fit time of the default ``MahalanobisDiffusionMap`` and of
  ``GeometricHarmonicsRegressor`` on the CNN's logits, with the default BLAS
  threads and under ``threadpool_limits(1)``, interleaved in one process.

Each memory case runs in a fresh process (``multiprocessing`` spawn) and
reports ``peak_rss_mb`` (``ru_maxrss`` of that process, minus its RSS after the
imports and the network were loaded) and ``tracemalloc_peak_mb`` (numpy's
allocations; torch's own are not traced). ``python benchmarks/bench_embedding.py``
prints markdown and writes ``benchmarks/results/embedding.{md,json}``. Timings
on a shared machine are noisy: compare the ratios, measured side by side.
"""

import json
import multiprocessing as mp
import os
import resource
import statistics
import sys
import time
import tracemalloc
from functools import partial
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
N_INPUTS = 2000
LAYER = "act_1"  # 16 channels x 8 x 8 = 1,024 units


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _inputs(n, seed=0):
    """All 1,797 digit images, topped up to ``n`` with jittered copies."""
    from sklearn.datasets import load_digits

    X = (load_digits().data / 16.0).astype(np.float32)
    rng = np.random.default_rng(seed)
    extra = X[rng.integers(0, X.shape[0], max(0, n - X.shape[0]))]
    extra = np.clip(extra + rng.normal(0, 0.02, extra.shape), 0, 1)
    return np.vstack([X, extra.astype(np.float32)])[:n]


def _network():
    from skequiv.datasets import load_experiment

    return load_experiment("digits", architecture="cnn", random_state=0).net_a


def _memory_case(case, queue):
    from skequiv import MahalanobisDiffusionMap, NetworkActivations

    net = _network()
    X = _inputs(N_INPUTS)
    source = NetworkActivations(net, layers=(LAYER,)).fit(X[:10])
    source.metric_data(X[:4])  # warm torch.func up before the baseline
    base = _rss_mb()
    tracemalloc.start()
    start = time.perf_counter()
    dmap = MahalanobisDiffusionMap(random_state=0)
    if case == "chunked spectra (metric=NetworkActivations)":
        dmap.set_params(metric=source).fit(X)
    else:
        data = source.metric_data(X)
        dmap.fit(data.observations, jacobians=data.jacobians)
    seconds = time.perf_counter() - start
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    queue.put(
        {
            "case": case,
            "n": N_INPUTS,
            "units": 1024,
            "seconds": seconds,
            "peak_rss_mb": peak - base,
            "tracemalloc_peak_mb": traced,
            "n_components": int(dmap.n_components_),
            "epsilon": float(dmap.epsilon_),
        }
    )


def memory(cases=None):
    cases = cases or (
        "chunked spectra (metric=NetworkActivations)",
        "whole Jacobians (anchor)",
    )
    rows = []
    ctx = mp.get_context("spawn")
    for case in cases:
        queue = ctx.Queue()
        proc = ctx.Process(target=_memory_case, args=(case, queue))
        proc.start()
        rows.append(queue.get())
        proc.join()
    return rows


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def threads(repeats=3):
    """Default BLAS threads against one thread, interleaved, on the CNN's logits."""
    from threadpoolctl import threadpool_limits

    from skequiv import (
        GeometricHarmonicsRegressor,
        MahalanobisDiffusionMap,
        NetworkActivations,
    )

    net = _network()
    rows = []
    for n in (600, N_INPUTS):
        X = _inputs(n)
        source = NetworkActivations(net, layers=("output",)).fit(X)
        data = source.metric_data(X)
        logits, J = data.observations, data.jacobians
        half = n // 2
        tasks = {
            "MahalanobisDiffusionMap().fit(logits, jacobians=J)": partial(
                MahalanobisDiffusionMap(random_state=0).fit, logits, jacobians=J
            ),
            "GeometricHarmonicsRegressor().fit(logits[:n/2], logits[n/2:])": partial(
                GeometricHarmonicsRegressor().fit, logits[:half], logits[half:]
            ),
        }
        for name, fn in tasks.items():
            fn()  # warm-up
            default, one = [], []
            for _ in range(repeats):  # interleaved: the same load for both
                default.append(_median_time(fn, 1))
                with threadpool_limits(limits=1):
                    one.append(_median_time(fn, 1))
            rows.append(
                {
                    "task": name,
                    "n": n,
                    "default_threads_s": statistics.median(default),
                    "one_thread_s": statistics.median(one),
                    "ratio": statistics.median(default) / statistics.median(one),
                }
            )
    return rows


def report(mem, thr):
    lines = [
        "# Embedding on real networks",
        "",
        "Measured by `python benchmarks/bench_embedding.py` on the shared 2-core "
        "machine while other engineers ran tests (timings are noisy; the "
        "ratios are measured side by side). Digits CNN of "
        "`load_experiment('digits', architecture='cnn')`, layer `act_1` "
        "(16 x 8 x 8 = 1,024 units), 2,000 inputs (all 1,797 digits plus "
        "jittered copies).",
        "",
        "## Peak memory of the embedding fit (target: under 2 GB)",
        "",
        "| case | n | seconds | peak RSS above start (MB) | numpy peak, "
        "tracemalloc (MB) | n_components_ |",
        "|---|---|---|---|---|---|",
    ]
    for r in mem:
        lines.append(
            f"| {r['case']} | {r['n']} | {r['seconds']:.1f} | "
            f"{r['peak_rss_mb']:.0f} | {r['tracemalloc_peak_mb']:.0f} | "
            f"{r['n_components']} |"
        )
    lines += [
        "",
        "## Fit time, default BLAS threads against one thread (side by side)",
        "",
        "| task | n | default threads (s) | one thread (s) | default / one |",
        "|---|---|---|---|---|",
    ]
    for r in thr:
        lines.append(
            f"| `{r['task']}` | {r['n']} | {r['default_threads_s']:.2f} | "
            f"{r['one_thread_s']:.2f} | {r['ratio']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main():
    mem = memory()
    thr = threads()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "embedding.json").write_text(
        json.dumps({"memory": mem, "threads": thr}, indent=2) + "\n"
    )
    text = report(mem, thr)
    (RESULTS / "embedding.md").write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
