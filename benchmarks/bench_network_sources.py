"""Network sources: NetworkActivations against bare torch calls, side by side.

Issue 4, "Done when" 5:

- activation throughput of ``NetworkActivations.transform`` against a bare
  ``torch.no_grad()`` forward of the same net over the same batches (target:
  at least 0.8 of the bare throughput);
- Jacobian time of ``NetworkActivations.jacobian`` against a bare
  ``torch.func.vmap(jacrev/jacfwd)`` call over the same chunks (target: within
  1.5x);
- peak memory beyond the returned array stays flat as n grows.

``run(n_samples=10_000, repeats=3) -> list[dict]`` is what ``benchmarks/run.py``
calls; ``python benchmarks/bench_network_sources.py`` prints a markdown table and
writes ``benchmarks/results/network_sources.json``.

Each row: ``name``, ``n``, ``seconds`` (median of ``repeats``), ``anchor``,
``anchor_seconds`` (median, measured interleaved with ours in the same run),
``ratio`` (ours relative to the anchor in the sense of the target:
throughput ratio ``anchor_seconds / seconds`` for activations, time ratio
``seconds / anchor_seconds`` for Jacobians), ``target``, ``meets_target`` (on
the medians), ``seconds_min``, ``anchor_seconds_min`` and ``ratio_of_minima``
(the same ratio from the fastest runs, less sensitive to a busy machine),
``peak_mb`` (peak RSS above the RSS before the call, sampled every 0.5 ms in
a separate, untimed call),
``output_mb`` (size of the returned array) and ``transient_mb`` (``peak_mb``
minus ``output_mb``: what the chunking must keep bounded).
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

D_IN, WIDTH, D_OUT = 32, 256, 16
BATCH = 256


class _PeakRSS:
    """Peak resident set size while the block runs, sampled by a thread."""

    _page = os.sysconf("SC_PAGE_SIZE")

    @classmethod
    def now(cls):
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * cls._page

    def __enter__(self):
        self.before = self.now()
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            time.sleep(0.0005)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())
        self.extra_mb = (self.peak - self.before) / 2**20


def _net(torch):
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(D_IN, WIDTH),
        torch.nn.Tanh(),
        torch.nn.Linear(WIDTH, WIDTH),
        torch.nn.Tanh(),
        torch.nn.Linear(WIDTH, D_OUT),
    )
    net.requires_grad_(False)
    return net.eval()


def _seconds(fn):
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    del result
    return seconds


def _peak_mb(fn):
    """Peak RSS above the RSS before the call, in a run of its own (the
    sampling thread would otherwise take time from the timed runs)."""
    with _PeakRSS() as peak:
        result = fn()
    del result
    return peak.extra_mb


def _pair(ours, anchor, repeats):
    """Median seconds of ours and of the anchor, interleaved, after a warm-up."""
    ours()
    anchor()
    ours_t, anchor_t = [], []
    for _ in range(repeats):
        anchor_t.append(_seconds(anchor))
        ours_t.append(_seconds(ours))
    return (
        {
            "seconds": statistics.median(ours_t),
            "anchor_seconds": statistics.median(anchor_t),
            "seconds_min": min(ours_t),
            "anchor_seconds_min": min(anchor_t),
        },
        _peak_mb(ours),
    )


def run(n_samples=10_000, repeats=3, threads=None):
    """Benchmark rows (see the module docstring).

    ``threads``: torch intra-op threads, default 1: both sides of each ratio
    run under the same setting, and a single thread keeps the ratios stable on
    a shared machine (with 2 threads on an oversubscribed 2-core machine,
    repeat timings varied several-fold).
    """
    import torch

    from skequiv import NetworkActivations

    torch.set_num_threads(threads or 1)
    net = _net(torch)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_samples, D_IN)).astype(np.float32)
    X_t = torch.from_numpy(X)
    rows = []

    def row(name, n, times, anchor_name, kind, peak_mb, output_mb):
        def ratio(ours_s, anchor_s):
            return anchor_s / ours_s if kind == "throughput" else ours_s / anchor_s

        value = ratio(times["seconds"], times["anchor_seconds"])
        ok = value >= 0.8 if kind == "throughput" else value <= 1.5
        rows.append(
            {
                "name": name,
                "n": int(n),
                **times,
                "anchor": anchor_name,
                "ratio": value,
                "ratio_of_minima": ratio(
                    times["seconds_min"], times["anchor_seconds_min"]
                ),
                "ratio_kind": kind,
                "target": ">= 0.8" if kind == "throughput" else "<= 1.5",
                "meets_target": bool(ok),
                "peak_mb": peak_mb,
                "output_mb": output_mb,
                "transient_mb": peak_mb - output_mb,
                "torch_threads": torch.get_num_threads(),
            }
        )

    # -- activations: output layer, and three layers at once -----------------
    def bare_forward():
        with torch.no_grad():
            return [net(chunk) for chunk in X_t.split(BATCH)]

    for layers, anchor in [
        (("output",), bare_forward),
        (("1", "3", "output"), bare_forward),
    ]:
        acts = NetworkActivations(net, layers=layers, batch_size=BATCH).fit(X)
        times, peak = _pair(lambda a=acts: a.transform(X), anchor, repeats)
        m = len(acts.neuron_indices_)
        row(
            f"transform layers={'+'.join(layers)} (m={m})",
            n_samples,
            times,
            f"torch.no_grad() forward, batches of {BATCH}",
            "throughput",
            peak,
            n_samples * m * 4 / 2**20,
        )

    # -- Jacobians: output (reverse mode), a wide hidden layer (forward mode)
    # and 8 neurons of it (reverse mode over the 8 rows only) ----------------
    def bare_jacobian(module, transform, chunk, first=None):
        def one(x):
            y = module(x.unsqueeze(0)).squeeze(0)
            return y if first is None else y[:first]

        jac = torch.func.vmap(transform(one))
        return lambda: [jac(c) for c in X_t.split(chunk)]

    cases = [
        ("output", None, net, torch.func.jacrev, "jacrev"),
        ("3", None, net[:4], torch.func.jacfwd, "jacfwd"),
        ("3", 8, net[:4], torch.func.jacrev, "jacrev"),
    ]
    for layer, first, truncated, transform, mode in cases:
        neurons = None if first is None else list(range(first))
        acts = NetworkActivations(
            net, layers=layer, neurons=neurons, batch_size=BATCH
        ).fit(X)
        m = len(acts.neuron_indices_)
        times, peak = _pair(
            lambda a=acts: a.jacobian(X),
            bare_jacobian(truncated, transform, BATCH, first),
            repeats,
        )
        row(
            f"jacobian layer={layer} ({mode}, m={m}, d={D_IN})",
            n_samples,
            times,
            f"torch.func.vmap({mode}), chunks of {BATCH}",
            "time",
            peak,
            n_samples * m * D_IN * 8 / 2**20,
        )

    # -- memory as n grows: the result grows, the transient memory must not ---
    acts = NetworkActivations(net, layers="output", batch_size=BATCH).fit(X)
    m = len(acts.neuron_indices_)
    for factor in (1, 2, 4):
        n = n_samples * factor
        Xn = np.tile(X, (factor, 1))
        with _PeakRSS() as peak:
            start = time.perf_counter()
            acts.jacobian(Xn)
            seconds = time.perf_counter() - start
        output_mb = n * m * D_IN * 8 / 2**20
        rows.append(
            {
                "name": f"memory: jacobian layer=output (m={m}, d={D_IN})",
                "n": n,
                "seconds": seconds,
                "peak_mb": peak.extra_mb,
                "output_mb": output_mb,
                "transient_mb": peak.extra_mb - output_mb,
                "torch_threads": torch.get_num_threads(),
            }
        )
    return rows


def _table(rows):
    lines = [
        "| name | n | seconds | anchor s | ratio | ratio of minima | target "
        "| peak MiB | transient MiB |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        anchor = f"{r['anchor_seconds']:.3f}" if "anchor_seconds" in r else ""
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else ""
        best = f"{r['ratio_of_minima']:.2f}" if "ratio" in r else ""
        target = r.get("target", "flat in n")
        if "meets_target" in r:
            target += " ✓" if r["meets_target"] else " ✗"
        lines.append(
            f"| {r['name']} | {r['n']} | {r['seconds']:.3f} | {anchor} | {ratio} "
            f"| {best} | {target} | {r['peak_mb']:.1f} | {r['transient_mb']:.1f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--out", type=Path, default=HERE / "results" / "network_sources.json"
    )
    args = parser.parse_args(argv)
    rows = run(n_samples=args.n, repeats=args.repeats, threads=args.threads)
    print(_table(rows))
    import platform

    import torch

    meta = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "n_samples": args.n,
        "repeats": args.repeats,
        "torch_threads": rows[0]["torch_threads"],
        "net": f"MLP {D_IN}-{WIDTH}-{WIDTH}-{D_OUT} (tanh), float32, batch {BATCH}",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
