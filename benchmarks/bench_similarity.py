"""Representation similarity beside ckatorch and cca-zoo: speed and values.

Issue 12: linear CKA against ``ckatorch.cka_base`` (and its unbiased form),
CCA against ``cca_zoo.linear.CCA``, and skequiv's streaming accumulator at
sizes no in-memory reference reaches (up to 10^6 samples).

Every (case, implementation) runs in a fresh subprocess of the benchmark
environment ``benchmarks/.envs/similarity`` (ckatorch and cca-zoo are
installed there only; ``benchmarks/envs/similarity.txt`` pins it), with the
repository on ``sys.path`` so that skequiv runs on the same numpy and BLAS.
The worker makes the data itself: two "networks" reading 64 shared latent
factors, ReLU(Z A + noise) and ReLU(Z B + noise), float64, generated in
seeded batches of 10^4 rows, so the streaming rows see exactly the rows the
in-memory rows see. Reported per row: wall seconds of the call (data
generation excluded, except in streaming rows, which generate each batch as
they go and report the generation time separately), process CPU seconds,
peak RSS above the RSS before the call, the value, and its difference from
skequiv's in-memory value on the same data.

The machine is shared: ``uptime``'s load averages are recorded with every
row; compare the implementations by their ratio in the same table.

Usage::

    python benchmarks/bench_similarity.py                 # every case
    python benchmarks/bench_similarity.py --quick --out /tmp/x   # seconds

Creates the environment on first use (``--no-setup`` to skip the
references instead). Writes ``similarity.json`` and ``similarity.md``.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ENV = HERE / ".envs" / "similarity"
REQUIREMENTS = HERE / "envs" / "similarity.txt"
LATENT = 64
BATCH = 10_000

# (case, n, p, implementations); p = q
CASES = [
    ("linear CKA", 2_500, 512, ("skequiv", "ckatorch")),
    ("linear CKA", 5_000, 512, ("skequiv", "ckatorch")),
    ("linear CKA", 10_000, 512, ("skequiv", "ckatorch")),
    ("linear CKA", 10_000, 4_096, ("skequiv", "ckatorch")),
    ("debiased linear CKA", 10_000, 512, ("skequiv", "ckatorch")),
    ("CCA (mean ρ)", 10_000, 256, ("skequiv", "cca-zoo")),
    ("CCA (mean ρ)", 10_000, 512, ("skequiv", "cca-zoo")),
    ("CCA (mean ρ)", 100_000, 512, ("skequiv", "cca-zoo")),
    ("CCA (mean ρ)", 200_000, 512, ("skequiv", "cca-zoo")),
    ("streaming, 6 measures", 100_000, 1_024, ("skequiv stream", "skequiv")),
    ("streaming, 6 measures", 1_000_000, 512, ("skequiv stream",)),
    ("streaming, 6 measures", 1_000_000, 4_096, ("skequiv stream",)),
]
QUICK_CASES = [
    ("linear CKA", 300, 16, ("skequiv", "ckatorch")),
    ("debiased linear CKA", 300, 16, ("skequiv", "ckatorch")),
    ("CCA (mean ρ)", 300, 16, ("skequiv", "cca-zoo")),
    ("streaming, 6 measures", 30_000, 16, ("skequiv stream", "skequiv")),
]
STREAMED = ("linear_cka", "debiased_linear_cka", "cca", "svcca", "pwcca", "procrustes")


# -- the worker (runs in the benchmark environment) ---------------------------


def batches(n, p, seed=0):
    """Paired activations in seeded batches: the same rows for every caller."""
    weights = np.random.default_rng(seed)
    A = weights.normal(size=(LATENT, p)) / np.sqrt(LATENT)
    B = weights.normal(size=(LATENT, p)) / np.sqrt(LATENT)
    for start in range(0, n, BATCH):
        rng = np.random.default_rng([seed, start])
        rows = min(BATCH, n - start)
        Z = rng.normal(size=(rows, LATENT))
        X = np.maximum(Z @ A + 0.5 * rng.normal(size=(rows, p)), 0)
        Y = np.maximum(Z @ B + 0.5 * rng.normal(size=(rows, p)), 0)
        yield X, Y


def _in_memory(n, p):
    pairs = list(batches(n, p))
    return np.vstack([x for x, _ in pairs]), np.vstack([y for _, y in pairs])


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _call(case, impl, X, Y):
    """The timed call: returns a dict of measure name -> value."""
    if impl == "skequiv":
        from skequiv.similarity import cca, cka, get_measure

        if case == "linear CKA":
            return {"linear_cka": cka(X, Y)}
        if case == "debiased linear CKA":
            return {"debiased_linear_cka": cka(X, Y, debiased=True)}
        if case.startswith("CCA"):
            return {"cca": cca(X, Y)}
        return {name: get_measure(name)(X, Y) for name in STREAMED}
    if impl == "ckatorch":
        import ckatorch
        import torch

        unbiased = case.startswith("debiased")
        value = ckatorch.cka_base(
            torch.from_numpy(X), torch.from_numpy(Y), unbiased=unbiased
        )
        return {("debiased_" if unbiased else "") + "linear_cka": float(value)}
    if impl == "cca-zoo":
        from cca_zoo.linear import CCA

        model = CCA(n_components=min(X.shape[1], Y.shape[1])).fit([X, Y])
        return {"cca": float(model.score([X, Y]))}
    raise ValueError(impl)


def worker(spec):
    case, n, p, impl = spec["case"], spec["n"], spec["p"], spec["impl"]
    sys.path.insert(0, str(ROOT))
    import skequiv.similarity  # noqa: F401  (imports are not timed)

    if impl == "ckatorch":
        import ckatorch  # noqa: F401
    elif impl == "cca-zoo":
        import cca_zoo.linear  # noqa: F401

    if impl == "skequiv stream":
        return _stream(n, p, spec.get("budget_s"))
    X, Y = _in_memory(n, p)
    before = _rss_mb()
    cpu, wall = time.process_time(), time.perf_counter()
    values = _call(case, impl, X, Y)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    reference = {}
    if impl != "skequiv":
        reference = _call(case, "skequiv", X, Y)
    return {
        "seconds": wall,
        "cpu_seconds": cpu,
        "peak_extra_mb": max(peak - before, 0.0),
        "input_mb": (X.nbytes + Y.nbytes) / 2**20,
        "values": values,
        "reference": reference,
    }


def _stream(n, p, budget_s=None):
    """Accumulate the seeded batches; stop early (honestly) past ``budget_s``."""
    from skequiv.similarity import SimilarityAccumulator

    before = _rss_mb()
    acc = SimilarityAccumulator(batch_size=BATCH)
    cpu, wall = time.process_time(), time.perf_counter()
    generation = 0.0
    source = batches(n, p)
    while budget_s is None or time.perf_counter() - wall < budget_s:
        t0 = time.perf_counter()
        pair = next(source, None)
        generation += time.perf_counter() - t0
        if pair is None:
            break
        acc.update(*pair)
        _progress(acc.n_samples_seen_, n, wall, generation, before)
    accumulate = time.perf_counter() - wall - generation
    t0 = time.perf_counter()
    values = {name: acc.score(name) for name in STREAMED}
    finish = time.perf_counter() - t0
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "rows_streamed": acc.n_samples_seen_,
        "seconds": wall - generation,
        "accumulate_seconds": accumulate,
        "finish_seconds": finish,
        "generation_seconds": generation,
        "cpu_seconds": cpu,
        "peak_extra_mb": max(peak - before, 0.0),
        "input_mb": 2 * acc.n_samples_seen_ * p * 8 / 2**20,
        "values": values,
        "reference": {},
        "first_batch_check": _first_batch_check(n, p),
    }


def _progress(seen, n, wall, generation, before):
    """One line on stderr per batch: long runs can be followed (and cut short)."""
    elapsed = time.perf_counter() - wall
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    print(
        f"{seen:,}/{n:,} rows, {elapsed:.0f} s ({generation:.0f} s generating), "
        f"peak extra {peak:.0f} MB, load {os.getloadavg()[0]:.1f}",
        file=sys.stderr,
        flush=True,
    )


def _first_batch_check(n, p):
    """Accumulator vs the in-memory functions on the first batch, regenerated.

    No in-memory reference exists at 10^6 rows, so the accumulated products are
    checked where one does: the CKA pair reads every accumulated sum.
    """
    from skequiv.similarity import SimilarityAccumulator, cka

    X, Y = next(batches(n, p))
    acc = SimilarityAccumulator(batch_size=BATCH).update(X, Y)
    return {
        "rows": X.shape[0],
        "linear_cka": acc.score("linear_cka") - cka(X, Y),
        "debiased_linear_cka": acc.score("debiased_linear_cka")
        - cka(X, Y, debiased=True),
    }


# -- the driver ---------------------------------------------------------------


def ensure_env(setup):
    python = ENV / "bin" / "python"
    if python.exists() or not setup:
        return python if python.exists() else None
    subprocess.run([sys.executable, "-m", "venv", str(ENV)], check=True)
    pins = ["-c", str(ROOT / "constraints.txt"), "-r", str(REQUIREMENTS)]
    subprocess.run([str(python), "-m", "pip", "install", "-q", *pins], check=True)
    return python


def run_one(python, spec, timeout, log):
    """One worker; its stderr (streaming progress, errors) goes to ``log``."""
    cmd = [str(python), str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    with open(log, "a") as err:
        err.write(f"== {json.dumps(spec)}\n")
        err.flush()
        try:
            out = subprocess.run(
                cmd, stdout=subprocess.PIPE, stderr=err, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return {"error": f"killed after {timeout} s"}
    if out.returncode != 0:
        lines = Path(log).read_text().strip().splitlines() or ["?"]
        return {"error": lines[-1][:300]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def versions(python):
    code = (
        "import importlib.metadata as m, json; print(json.dumps({k: m.version(k) "
        "for k in ('numpy', 'scipy', 'torch', 'ckatorch', 'cca-zoo')}))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 else {}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--no-setup", action="store_true")
    parser.add_argument("--timeout", type=int, default=1200)
    parser.add_argument(
        "--only",
        metavar="N,P",
        action="append",
        help="run only the cases of this size (repeatable), e.g. 1000000,4096",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="replace the rows run in --out's similarity.json, keep the others",
    )
    parser.add_argument(
        "--stream-budget",
        type=float,
        help="seconds after which a streaming row stops taking batches "
        "(the row then reports the rows it streamed)",
    )
    parser.add_argument("--worker")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite similarity.md from --out's similarity.json",
    )
    parser.add_argument(
        "--add-rows",
        type=Path,
        metavar="FILE",
        help="with --report-only: first merge the rows a run printed (its "
        "stdout, one JSON row a line) into --out's similarity.json",
    )
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    if args.report_only:
        results = json.loads((args.out / "similarity.json").read_text())
        if args.add_rows:
            printed = args.add_rows.read_text().splitlines()
            new = [json.loads(line) for line in printed if line.startswith("{")]
            results["rows"] = _merged(args.out / "similarity.json", new)
            (args.out / "similarity.json").write_text(json.dumps(results, indent=1))
        (args.out / "similarity.md").write_text(report(**results))
        return
    env_python = ensure_env(not args.no_setup)
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "similarity.log"
    only = {tuple(int(v) for v in size.split(",")) for size in args.only or ()}
    rows = []
    for case, n, p, impls in QUICK_CASES if args.quick else CASES:
        if only and (n, p) not in only:
            continue
        for impl in impls:
            python = env_python
            if impl not in ("ckatorch", "cca-zoo") and python is None:
                python = sys.executable
            spec = {"case": case, "n": n, "p": p, "impl": impl}
            if impl == "skequiv stream" and args.stream_budget:
                spec["budget_s"] = args.stream_budget
            load = os.getloadavg()
            result = (
                {"error": "benchmark environment absent (--no-setup)"}
                if python is None
                else run_one(python, spec, args.timeout, log)
            )
            rows.append({**spec, **result, "load": load, "load_end": os.getloadavg()})
            print(json.dumps(rows[-1]), flush=True)
    meta = {
        "versions": versions(env_python) if env_python else {},
        "cpus": os.cpu_count(),
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    if args.merge:
        rows = _merged(args.out / "similarity.json", rows)
    (args.out / "similarity.json").write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=1)
    )
    (args.out / "similarity.md").write_text(report(meta, rows))


def _merged(path, new_rows):
    """The stored rows with those just run replaced (or added), in CASES order."""
    key = lambda row: (row["case"], row["n"], row["p"], row["impl"])  # noqa: E731
    merged = {key(row): row for row in json.loads(path.read_text())["rows"]}
    merged.update({key(row): row for row in new_rows})
    order = [(case, n, p, impl) for case, n, p, impls in CASES for impl in impls]
    rank = {k: i for i, k in enumerate(order)}
    return sorted(merged.values(), key=lambda row: rank.get(key(row), len(rank)))


def report(meta, rows):
    lines = [
        "# Representation similarity: skequiv beside ckatorch and cca-zoo",
        "",
        f"Measured by `benchmarks/bench_similarity.py` ({meta['finished']}) on a "
        f"shared {meta['cpus']}-core machine; versions {meta['versions']}. "
        "The 1-minute load average is given per row (at its start, and at "
        "its end where recorded: start → end): other jobs ran at the same "
        "time, so compare implementations by the ratio within a case. Rows "
        "may come from several runs merged with `--merge`.",
        "",
        "| case | n | p = q | implementation | seconds | CPU s | peak extra MB "
        "| value | − skequiv | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    in_memory = {
        (row["case"], row["n"], row["p"]): row["values"]
        for row in rows
        if row["impl"] == "skequiv" and "error" not in row
    }
    for row in rows:
        if row["impl"] == "skequiv stream" and "error" not in row:
            row["reference"] = in_memory.get((row["case"], row["n"], row["p"]), {})
        n = row.get("rows_streamed", row["n"])
        head = f"| {row['case']} | {n:,} | {row['p']:,} | {row['impl']} |"
        load = f"{row['load'][0]:.1f}"
        if "load_end" in row:
            load += f" → {row['load_end'][0]:.1f}"
        if "error" in row:
            lines.append(f"{head} — | — | — | {row['error']} | — | {load} |")
            continue
        for i, (name, value) in enumerate(row["values"].items()):
            ref = row["reference"].get(name)
            diff = f"{value - ref:.1e}" if ref is not None else "—"
            timing = (
                f"{row['seconds']:.2f} | {row['cpu_seconds']:.1f} | "
                f"{row['peak_extra_mb']:.0f}"
                if i == 0
                else " | | "
            )
            label = f"{name} = " if len(row["values"]) > 1 else ""
            lines.append(
                f"{head if i == 0 else '| | | |'} {timing} | {label}{value:.10f} "
                f"| {diff} | {load} |"
            )
    lines += ["", *_ratios(rows), *_reference_memory(rows), *_stream_notes(rows)]
    return "\n".join(lines) + "\n"


def _ratios(rows):
    out = ["## Reference / skequiv time (same data, same environment)", ""]
    by_case = {}
    for row in rows:
        if "error" not in row:
            by_case.setdefault((row["case"], row["n"], row["p"]), {})[row["impl"]] = row
    for (case, n, p), impls in by_case.items():
        base = impls.get("skequiv")
        for impl, row in impls.items():
            if impl != "skequiv" and base is not None:
                wall = row["seconds"] / base["seconds"]
                cpu = row["cpu_seconds"] / base["cpu_seconds"]
                # the stream computes all six measures from one pass; the
                # in-memory row calls each measure on the whole arrays
                what = (
                    " (one accumulation for all six against six in-memory calls)"
                    if impl == "skequiv stream"
                    else ""
                )
                out.append(
                    f"- {case}, n = {n:,}, p = {p:,}: {impl} / skequiv = "
                    f"{wall:.2f}× wall time, {cpu:.2f}× CPU time{what}"
                )
    return [*out, ""]


def _stream_notes(rows):
    out = ["## Streaming", ""]
    for row in rows:
        if row["impl"] == "skequiv stream" and "error" not in row:
            seen = row.get("rows_streamed", row["n"])
            cut = (
                f" (stopped by `--stream-budget {row['budget_s']:.0f}` after "
                f"{seen:,} of the {row['n']:,} rows asked for)"
                if seen < row["n"]
                else ""
            )
            out.append(
                f"- n = {seen:,}, p = q = {row['p']:,}{cut}: accumulation "
                f"{row['accumulate_seconds']:.1f} s, all six measures from the "
                f"accumulated products {row['finish_seconds']:.1f} s (data "
                f"generation {row['generation_seconds']:.1f} s, not counted); "
                f"peak memory above the start {row['peak_extra_mb']:.0f} MB for "
                f"{row['input_mb']:.0f} MB of activations streamed."
                + _first_batch_note(row.get("first_batch_check"))
            )
    return out


def _first_batch_note(check):
    if not check:
        return ""
    return (
        f" No in-memory reference fits at this size; on the first "
        f"{check['rows']:,} rows (regenerated) the accumulator minus the "
        f"in-memory `cka` is {check['linear_cka']:.1e} (linear) and "
        f"{check['debiased_linear_cka']:.1e} (debiased; the CKA pair reads "
        "every accumulated sum). One batch is centred and multiplied the same "
        "way in both, so this checks the bookkeeping; agreement across many "
        "batches is the 10^5 × 1,024 row above and tests/similarity (1e-10)."
    )


def _reference_memory(rows):
    """Peak memory of the references, extrapolated to 10^6 × 4,096.

    ckatorch forms n × n Gram matrices (memory ∝ n², whatever p); cca-zoo
    holds copies of the data (∝ n p). Each is extrapolated from its largest
    measured row.
    """
    out = ["## Reference memory at 10^6 samples × 4,096 units", ""]
    growth = {"ckatorch": (2, 0), "cca-zoo": (1, 1)}
    for impl, (power, p_power) in growth.items():
        measured = [r for r in rows if r["impl"] == impl and "error" not in r]
        if not measured:
            continue
        trend = ", ".join(
            f"{r['peak_extra_mb']:,.0f} MB at {r['n']:,} × {r['p']:,}" for r in measured
        )
        top = max(measured, key=lambda r: (r["n"], -r["p"]))
        scale = (1e6 / top["n"]) ** power * (4096 / top["p"]) ** p_power
        law = "n²" if power == 2 else "n·p"
        out.append(
            f"- {impl}: peak extra memory {trend}; growing as {law}: "
            f"{top['peak_extra_mb'] * scale / 1024:,.0f} GB at 10^6 × 4,096 "
            f"(from the {top['n']:,} × {top['p']:,} row), against this machine's "
            f"{_total_memory_gb():.0f} GB: not runnable here."
        )
    return [*out, ""]


def _total_memory_gb():
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


if __name__ == "__main__":
    main()
