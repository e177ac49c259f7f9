"""Neuron correlation and mutual information at scale, beside numpy.

Issue 11, "Done when" 6: correlation and mutual-information matrices for
n = 10^4 ... 10^6 samples x 512 units a side, time and peak memory, with
``np.corrcoef`` on the full arrays as the side-by-side reference.

Every (implementation, n) runs in a fresh subprocess that makes the data
itself (float32 ReLU activations of two "networks" reading 64 shared latent
factors, seeded), then times one call and samples its resident memory every
0.5 ms. Reported per row:

- ``seconds``: wall time of the call;
- ``peak_extra_mb``: peak RSS during the call minus RSS just before it, i.e.
  the working memory on top of the inputs (the two float32 inputs are
  ``2 * n * 512 * 4`` bytes: 41 MB at 10^4, 4.1 GB at 10^6);
- ``input_mb``;
- ``max_abs_diff``: skequiv against the reference on the same data
  (``np.corrcoef`` for correlation; for mutual information, an independent
  per-pair ``np.histogram2d`` estimate on a 16 x 16 block of unit pairs).

Implementations:

- ``corr skequiv``: :func:`skequiv.neuron_correlation` (streamed, float64);
- ``corr numpy``: ``np.corrcoef(A, B, rowvar=False)[:512, 512:]``, which
  needs both arrays as one float64 copy (and computes the within-network
  blocks too). It is run only where the machine's available memory covers
  its estimated need; otherwise the row says why;
- ``MI skequiv``: :func:`skequiv.neuron_mutual_information` (10 bins,
  Miller–Madow);
- ``MI naive``: ``np.histogram2d`` pair by pair, timed on a 16 x 16 block
  of pairs and extrapolated to all 512 x 512 (marked as extrapolated).

The machine is shared: ``uptime``'s load averages are recorded beside every
row. Usage::

    python benchmarks/bench_correspondence.py            # 10^4, 10^5, 10^6
    python benchmarks/bench_correspondence.py --ns 10000,30000 --out /tmp/x
    python benchmarks/bench_correspondence.py --ns 300000 --merge  # add a size

Writes ``correspondence.json`` and ``correspondence.md`` to ``--out``
(default ``benchmarks/results``).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from bench_network_sources import _PeakRSS  # RSS sampled by a thread

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
UNITS = 512
LATENT = 64
BLOCK = 16  # unit pairs of the naive MI block: BLOCK x BLOCK
IMPLS = ("corr skequiv", "corr numpy", "MI skequiv", "MI naive")


# -- measured in the worker ------------------------------------------------


def make_data(n, units=UNITS, seed=0):
    """Two float32 ReLU layers reading shared latent factors, in chunks."""
    rng = np.random.default_rng(seed)
    mix_a = rng.normal(size=(LATENT, units)).astype(np.float32) / np.sqrt(LATENT)
    mix_b = rng.normal(size=(LATENT, units)).astype(np.float32) / np.sqrt(LATENT)
    A = np.empty((n, units), dtype=np.float32)
    B = np.empty((n, units), dtype=np.float32)
    for start in range(0, n, 65536):
        stop = min(start + 65536, n)
        z = rng.standard_normal((stop - start, LATENT), dtype=np.float32)
        noise = rng.standard_normal((stop - start, units), dtype=np.float32)
        np.maximum(z @ mix_a + 0.5 * noise, 0, out=A[start:stop])
        noise = rng.standard_normal((stop - start, units), dtype=np.float32)
        np.maximum(z @ mix_b + 0.5 * noise, 0, out=B[start:stop])
    return A, B


def naive_mi(a, b, n_bins=10):
    """Plug-in MI with Miller-Madow, one pair, by np.histogram2d."""

    def codes(x):
        zeros = x == 0
        q = np.arange(1, n_bins - 1) / (n_bins - 1)
        edges = np.quantile(x[~zeros], q, method="averaged_inverted_cdf")
        return np.where(zeros, 0, 1 + np.searchsorted(edges, x, side="right"))

    h, _, _ = np.histogram2d(codes(a), codes(b), bins=np.arange(n_bins + 1) - 0.5)
    n = h.sum()
    p = h / n
    pa, pb = p.sum(1), p.sum(0)
    nz = p > 0
    mi = np.sum(p[nz] * np.log(p[nz] / np.outer(pa, pb)[nz]))
    return mi - ((h > 0).sum() - (pa > 0).sum() - (pb > 0).sum() + 1) / (2 * n)


def worker(impl, n, out):
    sys.path.insert(0, str(ROOT))
    from skequiv import neuron_correlation, neuron_mutual_information

    A, B = make_data(n)
    input_mb = (A.nbytes + B.nbytes) / 2**20
    calls = {
        "corr skequiv": lambda: neuron_correlation(A, B),
        "corr numpy": lambda: np.corrcoef(A, B, rowvar=False)[:UNITS, UNITS:].copy(),
        "MI skequiv": lambda: neuron_mutual_information(A, B),
        "MI naive": lambda: np.array(
            [[naive_mi(A[:, i], B[:, j]) for j in range(BLOCK)] for i in range(BLOCK)]
        ),
    }
    with _PeakRSS() as peak:
        start = time.perf_counter()
        result = calls[impl]()
        seconds = time.perf_counter() - start
    np.save(out, result)
    row = {
        "seconds": seconds,
        "peak_extra_mb": peak.extra_mb,
        "input_mb": input_mb,
        "maxrss_mb": _maxrss_mb(),
    }
    if impl == "MI naive":
        row["extrapolated_seconds"] = seconds * (UNITS / BLOCK) ** 2
    print(json.dumps(row))


def _maxrss_mb():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- driven from the parent ------------------------------------------------


def load_average():
    return os.getloadavg()


def available_mb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return float("inf")


def corrcoef_need_mb(n):
    """Memory np.corrcoef(A, B) needs: the float32 inputs, plus its float64
    copies (measured at n = 10^5: 1.9 times the float64 size of [A | B])."""
    return (2 * n * UNITS * 4 + 1.9 * 2 * n * UNITS * 8) / 2**20


def run_one(impl, n, tmp):
    out = tmp / f"{impl.replace(' ', '_')}_{n}.npy"
    load = load_average()
    started = time.strftime("%Y-%m-%d %H:%M")
    # leave a fifth of the free memory to the other users of the machine
    if impl == "corr numpy" and corrcoef_need_mb(n) > 0.8 * available_mb():
        return {
            "impl": impl,
            "n": n,
            "status": (
                f"not run: needs about {corrcoef_need_mb(n) / 1024:.1f} GB with "
                f"its inputs; {available_mb() / 1024:.1f} GB free on the shared "
                "24 GB machine, of which it may take 80%"
            ),
            "load": load,
            "started": started,
        }, None
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", impl, str(n), str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        return {
            "impl": impl,
            "n": n,
            "status": f"failed: {proc.stderr.strip().splitlines()[-1:]}",
            "load": load,
            "started": started,
        }, None
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row.update(
        impl=impl,
        n=n,
        status="ok",
        load=load,
        load_after=load_average(),
        started=started,
    )
    return row, np.load(out)


def compare(rows, results):
    for n in {row["n"] for row in rows}:
        pairs = [
            ("corr skequiv", "corr numpy", lambda x: x),
            ("MI skequiv", "MI naive", lambda x: x[:BLOCK, :BLOCK]),
        ]
        for ours, anchor, view in pairs:
            if (ours, n) in results and (anchor, n) in results:
                diff = np.abs(view(results[ours, n]) - results[anchor, n]).max()
                for row in rows:
                    if row["n"] == n and row["impl"] in (ours, anchor):
                        row["max_abs_diff"] = float(diff)


def markdown(rows, meta):
    lines = [
        "# Neuron correlation and mutual information at scale",
        "",
        f"{UNITS} float32 units a side (ReLU activations reading {LATENT} shared "
        "latent factors); each row is one call in a fresh process. "
        "`extra MB` is the peak RSS during the call above the RSS before it "
        "(the inputs are already in memory: `input MB`). `load` is the 1/5/15-"
        "minute load average of the shared 2-core machine when the row started. "
        f"`max |diff|`: skequiv against the reference on the same data "
        f"(MI: on a {BLOCK} x {BLOCK} block of unit pairs).",
        "",
        f"Written {meta['date']} on {meta['machine']}; numpy {meta['numpy']}; "
        "each row's start time is in correspondence.json.",
        "",
        "| n | implementation | seconds | extra MB | input MB | max abs diff "
        "| load (1/5/15 min) | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in sorted(rows, key=lambda r: (r["n"], IMPLS.index(r["impl"]))):
        seconds = row.get("seconds")
        if seconds is None:
            shown = "–"
        elif "extrapolated_seconds" in row:
            shown = (
                f"{row['extrapolated_seconds']:.3g} (extrapolated from "
                f"{seconds:.3g} s for {BLOCK}x{BLOCK} pairs)"
            )
        else:
            shown = f"{seconds:.3g}"
        extra = row.get("peak_extra_mb")
        diff = row.get("max_abs_diff")
        cells = [
            f"{row['n']:,}",
            row["impl"],
            shown,
            "–" if extra is None else f"{extra:.0f}",
            f"{row['input_mb']:.0f}" if "input_mb" in row else "–",
            "–" if diff is None else f"{diff:.1e}",
            " / ".join(f"{x:.1f}" for x in row["load"]),
            row["status"],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Side by side (same n, rows run one after the other):", ""]
    by = {(row["impl"], row["n"]): row for row in rows if row["status"] == "ok"}
    for ours, anchor in (("corr skequiv", "corr numpy"), ("MI skequiv", "MI naive")):
        for n in sorted({n for impl, n in by if impl == ours}):
            if (anchor, n) not in by:
                continue
            a, b = by[ours, n], by[anchor, n]
            seconds = b.get("extrapolated_seconds", b["seconds"])
            lines.append(
                f"- n = {n:,}: {ours} takes {a['seconds'] / seconds:.2g}x the time "
                f"of {anchor} and {a['peak_extra_mb']:.0f} MB against "
                f"{b['peak_extra_mb']:.0f} MB of working memory."
            )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ns", default="10000,100000,1000000")
    parser.add_argument("--impls", default=",".join(IMPLS))
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the rows of --out's correspondence.json for other (impl, n)",
    )
    parser.add_argument("--worker", nargs=3, metavar=("IMPL", "N", "OUT"))
    args = parser.parse_args(argv)
    if args.worker:
        impl, n, out = args.worker
        worker(impl, int(n), out)
        return

    import platform
    import tempfile

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ns = [int(n) for n in args.ns.split(",")]
    impls = [impl.strip() for impl in args.impls.split(",")]
    rows, results = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in ns:
            for impl in impls:
                row, result = run_one(impl, n, Path(tmp))
                rows.append(row)
                if result is not None:
                    results[impl, n] = result
                print(json.dumps(row), flush=True)
    compare(rows, results)
    previous = out / "correspondence.json"
    if args.merge and previous.exists():
        done = {(row["impl"], row["n"]) for row in rows}
        rows += [
            row
            for row in json.loads(previous.read_text())["rows"]
            if (row["impl"], row["n"]) not in done
        ]
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "numpy": np.__version__,
    }
    (out / "correspondence.json").write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=1)
    )
    (out / "correspondence.md").write_text(markdown(rows, meta))
    print(markdown(rows, meta))


if __name__ == "__main__":
    main()
