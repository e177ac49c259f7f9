"""K × K similarity matrices: per-network caching against per-pair recomputation.

Issue 14, "Done when" 4: the pairwise matrix of K = 10 ... 100 networks,
timed with skequiv's per-network caching (each network's activations prepared
once: centring, whitening, factors) against the per-pair recomputation netrep's
``pairwise_distances`` does (both representations re-prepared for every
pair), side by side; and on a 2-worker ``dask.distributed.LocalCluster``
against joblib's default backend (loky) and a serial run.

Data: K "networks" of float32 ReLU units reading 64 shared latent factors
(each with its own seeded weights and noise), made in the process. Both
variants run through :func:`skequiv.population.pairwise_similarity`; the
recomputing variant wraps the measure so that ``prepare`` only stores the
array and ``compare`` prepares both sides again, so only caching differs.
Every row records ``max_abs_diff`` between the two matrices.

Rows whose recomputation would exceed ``--stop-after`` seconds are timed on
the pairs of two networks only and extrapolated to all pairs
(``extrapolated`` says so). The machine is shared: ``uptime``'s load
averages are recorded with every row, and only ratios measured side by side
mean anything. A run replaces the rows it measures (same section, measure,
K, n, units, backend) and keeps the others of ``--out``'s population.json,
so the table can be measured in parts. Usage::

    python benchmarks/bench_population.py --quick --out /tmp/x
    python benchmarks/bench_population.py --sections backends  # rerun one part
    python benchmarks/bench_population.py --sections directed  # directed score
    # at the issue's size (n = 10,000, 512 units), in parts, e.g.
    python benchmarks/bench_population.py --ks 10,20 --stop-after 100000
    python benchmarks/bench_population.py --sections caching --ks 50 --stop-after 0

The parts that made the recorded table are listed, with their arguments,
under ``meta.runs`` of population.json (``--stop-after 0``: recomputation
extrapolated). Writes ``population.json`` and ``population.md`` to ``--out``
(default ``benchmarks/results``).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import joblib
import numpy as np

from skequiv.population import pairwise_similarity
from skequiv.similarity import get_measure

HERE = Path(__file__).resolve().parent
LATENT = 64


class Recompute:
    """netrep's per-pair pattern: both sides prepared again for every pair."""

    def __init__(self, measure):
        self.measure = measure
        self.symmetric = measure.symmetric

    def prepare(self, X):
        return X

    def compare(self, x, y):
        return self.measure.compare(self.measure.prepare(x), self.measure.prepare(y))


def population(k, n, units, seed=0):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, LATENT)).astype(np.float32)
    nets = []
    for _ in range(k):
        W = rng.normal(size=(LATENT, units)).astype(np.float32) / np.sqrt(LATENT)
        noise = 0.3 * rng.normal(size=(n, units)).astype(np.float32)
        nets.append(np.maximum(Z @ W + noise, 0))
    return nets


def load():
    return [round(v, 2) for v in os.getloadavg()]


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def n_pairs(k, symmetric):
    return k * (k + 1) // 2 if symmetric else k * k


def caching_rows(name, ks, n, units, stop_after):
    rows = []
    measure = get_measure(name)
    for k in ks:
        acts = population(k, n, units)
        row = {"measure": name, "K": k, "n": n, "units": units, "load": load()}
        cached, row["cached_s"] = timed(
            lambda a=acts: pairwise_similarity(a, measure=measure, progress=False)
        )
        pairs = n_pairs(k, measure.symmetric)
        # per-pair cost from a few pairs decides whether the full run fits
        probe = acts[:2]
        _, probe_s = timed(
            lambda p=probe: pairwise_similarity(
                p, measure=Recompute(measure), progress=False
            )
        )
        per_pair = probe_s / n_pairs(2, measure.symmetric)
        if per_pair * pairs <= stop_after:
            recomputed, row["recompute_s"] = timed(
                lambda a=acts: pairwise_similarity(
                    a, measure=Recompute(measure), progress=False
                )
            )
            row["extrapolated"] = False
            row["max_abs_diff"] = float(np.max(np.abs(recomputed - cached)))
        else:
            row["recompute_s"] = per_pair * pairs
            row["extrapolated"] = (
                f"from the {n_pairs(2, measure.symmetric)} pairs of 2 networks"
            )
            row["max_abs_diff"] = None
        row["speedup"] = row["recompute_s"] / row["cached_s"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def blas_rows(name, n, units, repeats=5):
    """One network's prepare and one pair's compare, BLAS on all cores vs one."""
    from threadpoolctl import threadpool_limits

    x, y = population(2, n, units)
    measure = get_measure(name)
    sx, sy = measure.prepare(x), measure.prepare(y)
    row = {"measure": name, "n": n, "units": units}
    for limit, label in ((None, "default"), (1, "one")):
        with threadpool_limits(limit):
            _, prep = timed(lambda: [measure.prepare(x) for _ in range(repeats)])
            _, comp = timed(lambda: [measure.compare(sx, sy) for _ in range(repeats)])
        row[f"prepare_{label}_s"] = prep / repeats
        row[f"compare_{label}_s"] = comp / repeats
    row["load"] = load()
    print(json.dumps(row), flush=True)
    return [row]


def backend_rows(name, k, n, units):
    from dask.distributed import Client, LocalCluster

    acts = population(k, n, units)
    measure = get_measure(name)
    base = {"measure": name, "K": k, "n": n, "units": units}
    rows = []
    serial, seconds = timed(
        lambda: pairwise_similarity(acts, measure=measure, n_jobs=1, progress=False)
    )
    rows.append({**base, "backend": "serial (n_jobs=1)", "seconds": seconds})
    with joblib.parallel_config(backend="loky"):
        loky, seconds = timed(
            lambda: pairwise_similarity(acts, measure=measure, n_jobs=2, progress=False)
        )
    rows.append(
        {**base, "backend": "joblib default (loky, n_jobs=2)", "seconds": seconds}
    )
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster),
        joblib.parallel_config(backend="dask"),
    ):
        dask, seconds = timed(
            lambda: pairwise_similarity(
                acts, measure=measure, n_jobs=-1, progress=False
            )
        )
    rows.append(
        {
            **base,
            "backend": "dask LocalCluster (2 workers x 1 thread)",
            "seconds": seconds,
        }
    )
    for row, matrix in zip(rows, (serial, loky, dask), strict=True):
        row["equal_to_serial"] = bool(np.array_equal(matrix, serial))
        row["max_abs_diff"] = float(np.max(np.abs(matrix - serial)))
        row["ratio_vs_serial"] = row["seconds"] / rows[0]["seconds"]
        row["load"] = load()
        print(json.dumps(row), flush=True)
    return rows


def row_key(row):
    """What a row measured; a later run's row with the same key replaces it."""
    return tuple(row.get(k) for k in ("measure", "K", "n", "units", "backend"))


def merge(kept, new):
    """Kept rows not measured again, then the new ones, in table order."""
    measured = {row_key(r) for r in new}
    rows = [r for r in kept if row_key(r) not in measured] + new
    # stable: the backends of one setting stay in the order they ran
    return sorted(rows, key=lambda r: (r["measure"], r["n"], r["units"], r.get("K", 0)))


def markdown(result):
    lines = [
        "# Populations: K × K matrices",
        "",
        f"Machine: {result['meta']['machine']}. Load averages (1, 5, 15 min) "
        "beside each row; the machine was shared, so only the ratios measured "
        "side by side mean anything. Generated by `benchmarks/bench_population.py`.",
        "",
        "## Per-network caching against per-pair recomputation (netrep's pattern)",
        "",
        "| measure | K | n | units | cached (s) | recomputed per pair (s) | "
        "speed-up | max abs diff | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["caching"]:
        extra = " (extrapolated)" if r["extrapolated"] else ""
        diff = "—" if r["max_abs_diff"] is None else f"{r['max_abs_diff']:.1e}"
        lines.append(
            f"| {r['measure']} | {r['K']} | {r['n']:,} | {r['units']} | "
            f"{r['cached_s']:.2f} | {r['recompute_s']:.2f}{extra} | "
            f"{r['speedup']:.1f}× | {diff} | {r['load']} |"
        )
    lines += [
        "",
        "Extrapolated rows: timed on the pairs of 2 networks and multiplied by "
        "the number of pairs (the per-pair work does not depend on K).",
        "",
        "## BLAS threads inside one task (why each task runs single-threaded)",
        "",
        "| measure | n | units | prepare, default threads (s) | prepare, one "
        "thread (s) | compare, default (s) | compare, one (s) | load |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {r['measure']} | {r['n']:,} | {r['units']} | "
            f"{r['prepare_default_s']:.3f} | {r['prepare_one_s']:.3f} | "
            f"{r['compare_default_s']:.3f} | {r['compare_one_s']:.3f} | {r['load']} |"
            for r in result["blas"]
        ),
        "",
        "## Backends (the same call, the same matrix)",
        "",
        "| measure | K | n | units | backend | seconds | vs serial | equal to serial "
        "| max abs diff | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["backends"]:
        lines.append(
            f"| {r['measure']} | {r['K']} | {r['n']:,} | {r['units']} | "
            f"{r['backend']} | {r['seconds']:.2f} | {r['ratio_vs_serial']:.2f} | "
            f"{r['equal_to_serial']} | {r.get('max_abs_diff', float('nan')):.1e} | "
            f"{r['load']} |"
        )
    return "\n".join(lines) + "\n" + directed_markdown(result.get("directed", []))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", default="10,20,50,100")
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument(
        "--large",
        default="",
        help="n x units x K of one more caching row ('' to skip)",
    )
    parser.add_argument("--measures", default="linear_cka,cca")
    parser.add_argument("--backend-k", type=int, default=20)
    parser.add_argument("--stop-after", type=float, default=120.0)
    parser.add_argument(
        "--sections",
        default="caching,blas,backends",
        help="sections to run; other rows are kept from --out's population.json",
    )
    parser.add_argument("--directed-ks", default="8")
    parser.add_argument("--directed-repeats", type=int, default=2)
    parser.add_argument("--directed-n", type=int, default=600)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    if args.quick:
        args.ks, args.n, args.units, args.large, args.backend_k = "3,4", 60, 8, "", 3
    ks = [int(k) for k in args.ks.split(",")]
    measures = args.measures.split(",")
    out = Path(args.out)
    sections = args.sections.split(",")
    previous = out / "population.json"
    kept = json.loads(previous.read_text()) if previous.exists() else {}
    run = {
        "argv": sys.argv[1:],
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    result = {
        "meta": {
            "machine": f"{os.cpu_count()} cores, {sys.platform}",
            "runs": [*kept.get("meta", {}).get("runs", []), run],
        },
        **{name: [] for name in ("caching", "blas", "backends")},
        "directed": kept.get("directed", []),
    }
    for name in measures:
        if "caching" in sections:
            result["caching"] += caching_rows(
                name, ks, args.n, args.units, args.stop_after
            )
            if args.large:
                n, units, k = (int(v) for v in args.large.split("x"))
                result["caching"] += caching_rows(name, [k], n, units, args.stop_after)
        if "blas" in sections:
            result["blas"] += blas_rows(name, args.n, args.units)
    if "backends" in sections:
        for name in measures:
            result["backends"] += backend_rows(name, args.backend_k, args.n, args.units)
    if "directed" in sections:
        result["directed"] = directed_rows(
            args.directed_ks, args.directed_n, args.directed_repeats
        )
    for name in ("caching", "blas", "backends"):
        result[name] = merge(kept.get(name, []), result[name])
    out.mkdir(parents=True, exist_ok=True)
    (out / "population.json").write_text(json.dumps(result, indent=1))
    (out / "population.md").write_text(markdown(result))
    print(f"wrote {out / 'population.md'}")


# --------------------------------------------------------------------------
# Directed score: network i's side once, against the per-pair refit
#
# EquivalenceScore() (a NetworkTransform per ordered pair, with the Mahalanobis
# metric from each network's Jacobians) through pairwise_similarity, against a
# measure that refits the whole NetworkTransform for every pair (the
# embeddings of i on its training rows and on every inner fold included).
# Both read each network's activations and Jacobians once, so only the
# per-network embedding cache differs. Networks: skorch MLP digit
# classifiers trained on the spot (skequiv.datasets, digits), one of them a
# parity classifier, on n digit images (3/4 train, 1/4 held out).


class RefitPerPair:
    """The directed score without the cache: the transform refitted whole per pair."""

    symmetric = False
    uses_metric_data = True

    def __init__(self, score):
        self.score = score

    def prepare(self, X, *, jacobians):
        return X, jacobians

    def compare(self, x, y):
        from skequiv import NetworkTransform

        (X, jac), (Y, _) = x, y
        train, test = self.score.split(len(X))
        T = NetworkTransform(random_state=self.score.random_state)
        T.fit(X[train], Y[train], jacobians=jac[train])
        return float(T.score(X[test], Y[test], jacobians=jac[test]))


def digit_networks(k):
    """``k - 1`` digit MLPs (other seeds and widths) and a parity classifier."""
    from skequiv.datasets import load_experiment

    nets = []
    for seed in range(k // 2):
        data = load_experiment("digits", architecture="mlp", random_state=seed)
        nets += [data.net_a, data.net_b]
    parity = load_experiment(
        "digits", architecture="mlp", random_state=k, task_b="parity"
    )
    return nets[: k - 1], parity.net_b, np.vstack([data.X_train, data.X_test])


def directed_rows(ks, n, repeats):
    import warnings

    from skequiv.population import EquivalenceScore

    ks = [int(k) for k in str(ks).split(",")]
    digits, parity, X = digit_networks(max(ks))
    X = X[:n]
    score = EquivalenceScore()
    with warnings.catch_warnings():  # first calls (imports, torch set-up) untimed
        warnings.simplefilter("ignore")
        pairwise_similarity([digits[0], parity], X[:200], measure=score, progress=False)
    rows = []
    for k in ks:
        row = {"K": k, "n": n, "pairs": k * k, "load": load()}
        nets = [*digits[: k - 1], parity]
        variants = {"cached": score, "refit": RefitPerPair(score)}
        times = {name: [] for name in variants}
        matrices = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # small-sample notes of the diffusion map
            # alternated, best of `repeats`: the load on a shared machine drifts
            for _ in range(repeats):
                for name, measure in variants.items():
                    matrix, seconds = timed(
                        lambda nets=nets, m=measure: pairwise_similarity(
                            nets, X, measure=m, progress=False
                        )
                    )
                    times[name].append(seconds)
                    matrices[name] = matrix
        row["cached_s"], row["refit_s"] = min(times["cached"]), min(times["refit"])
        row["all_times_s"] = times
        row["speedup"] = row["refit_s"] / row["cached_s"]
        cached = matrices["cached"]
        row["max_abs_diff"] = float(np.max(np.abs(cached - matrices["refit"])))
        # parity from the digit nets, and the digit nets from parity
        row["to_parity"] = [round(float(v), 3) for v in cached[:-1, -1]]
        row["from_parity"] = [round(float(v), 3) for v in cached[-1, :-1]]
        row["load_after"] = load()
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def directed_markdown(rows):
    if not rows:
        return ""
    lines = [
        "",
        "## Directed score: network i's side once vs the whole transform per pair",
        "",
        "`EquivalenceScore()` (NetworkTransform with its defaults, Mahalanobis metric "
        "from each network's Jacobians) through `pairwise_similarity`, n_jobs=1, "
        "which does network i's target-free work once (on its training rows and "
        "every inner fold: the diffusion-map embeddings, geometric harmonics' "
        "kernel eigenpairs, the Nyström features and standardisation), against a "
        "measure refitting the whole NetworkTransform for each ordered pair. "
        "Networks: skorch MLP digit classifiers (the last one predicts parity); "
        "both variants read activations and Jacobians once per network.",
        "",
        "Best of the alternated repeats (all times in `population.json`).",
        "",
        "| K | n | pairs | cached (s) | refit per pair (s) | speed-up | "
        "max abs diff | digit → parity (min) | parity → digit (max) | "
        "load before / after |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['K']} | {r['n']:,} | {r['pairs']} | {r['cached_s']:.1f} | "
            f"{r['refit_s']:.1f} | {r['speedup']:.1f}× | {r['max_abs_diff']:.1e} | "
            f"{min(r['to_parity']):.3f} | {max(r['from_parity']):.3f} | "
            f"{r['load']} / {r['load_after']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
