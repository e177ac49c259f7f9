#!/usr/bin/env python
"""Benchmark harness: skequiv side by side with datafold, pyDiffMap and scikit-learn.

    python benchmarks/run.py              # full run: envs, all cases, table, plots
    python benchmarks/run.py --quick      # tiny n, one repeat (seconds)
    python benchmarks/run.py --cases 1,2 --max-n 20000

See benchmarks/README.md for what each case measures and how.
"""

import argparse
import contextlib
import datetime as _dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _data  # noqa: E402
import _reference  # noqa: E402

ENVS_DIR = HERE / ".envs"
CACHE_DIR = HERE / ".cache"
RESULTS_DIR = HERE / "results"

# Anchors that cannot share skequiv's environment, each pinned exactly.
ANCHOR_ENVS = {
    "datafold": HERE / "envs" / "datafold.txt",
    "pydiffmap": HERE / "envs" / "pydiffmap.txt",
}
IMPL_ENV = {
    "skequiv": None,
    "skequiv_sparse": None,
    "sklearn": None,
    "datafold": "datafold",
    "pydiffmap": "pydiffmap",
}
IMPL_LABEL = {
    "skequiv": "skequiv",
    "datafold": "datafold 2.0.2",
    "pydiffmap": "pyDiffMap",
    "sklearn": "scikit-learn SpectralEmbedding",
}

M = 10  # observations per sample
N_COMPONENTS = 4
ALPHA = 1.0
K_NEIGHBORS = 32  # neighbours per point, the point itself excluded
STOP_AFTER_S = 120.0  # an anchor that passes this is not run at larger n

CASES = {
    1: {
        "name": "mahalanobis",
        "title": "Mahalanobis diffusion map vs datafold MahalanobisKernel",
        "impls": ["skequiv", "datafold"],
        "ns": [1000, 2000, 4000],
        "quick_ns": [300],
        "mahalanobis": True,
    },
    2: {
        "name": "euclidean",
        "title": "Euclidean diffusion map vs datafold, pyDiffMap, scikit-learn",
        "impls": ["skequiv", "datafold", "pydiffmap", "sklearn"],
        "ns": [1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000],
        "quick_ns": [300],
        "mahalanobis": False,
    },
    3: {
        "name": "scaling",
        "title": "skequiv Mahalanobis (sparse, m = 10, rank 2) scaling",
        "impls": ["skequiv"],
        "ns": [1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 300_000, 1_000_000],
        "quick_ns": [300],
        "mahalanobis": True,
        "reference_max_n": 100_000,
        "single_run_above": 100_000,
    },
    5: {
        "name": "mahalanobis_all_pairs",
        "title": "Mahalanobis diffusion map on all pairs vs datafold (its default "
        "dense distance)",
        "impls": ["skequiv", "skequiv_sparse", "datafold"],
        "k_sparse": 160,  # enough neighbours that truncation moves no eigenvalue
        # 2,000 left out: datafold's loop over 4M pairs costs minutes per run
        "ns": [1000, 4000],
        "quick_ns": [300],
        "mahalanobis": True,
        "all_pairs": True,
        "anchor_timeout": 1500.0,
    },
    4: {
        "name": "network",
        "title": "Network sources: activation and Jacobian throughput",
    },
}


# --------------------------------------------------------------------------
# environments
# --------------------------------------------------------------------------


def env_python(env):
    if env is None:
        return sys.executable
    return str(ENVS_DIR / env / "bin" / "python")


def env_ready(env):
    return env is None or (ENVS_DIR / env / ".ready").exists()


def setup_envs(names, log):
    """Create each anchor's venv (once) from its pinned requirements file."""
    for env in names:
        target = ENVS_DIR / env
        if (target / ".ready").exists():
            continue
        log(f"[setup] creating {target} from {ANCHOR_ENVS[env].name} (a minute or two)")
        if target.exists():
            shutil.rmtree(target)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(target)], check=True)
        pip = [str(target / "bin" / "python"), "-m", "pip", "install", "-q"]
        r = subprocess.run(
            [*pip, "-r", str(ANCHOR_ENVS[env])], capture_output=True, text=True
        )
        if r.returncode != 0:
            log(f"[setup] {env}: pip failed, anchor skipped:\n{r.stderr[-2000:]}")
            continue
        mod = {"datafold": "datafold.dynfold", "pydiffmap": "pydiffmap.diffusion_map"}[
            env
        ]
        r = subprocess.run(
            [str(target / "bin" / "python"), "-c", f"import {mod}"],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            log(f"[setup] {env}: import failed, anchor skipped:\n{r.stderr[-2000:]}")
            continue
        (target / ".ready").write_text(_dt.datetime.now(_dt.UTC).isoformat())


def env_freeze(env):
    r = subprocess.run(
        [env_python(env), "-m", "pip", "freeze", "--all"],
        capture_output=True,
        text=True,
    )
    return r.stdout.split()


# --------------------------------------------------------------------------
# data, kernel settings and references (cached; never timed)
# --------------------------------------------------------------------------


def data_file(n, seed=0):
    path = CACHE_DIR / f"data_sc_n{n}_m{M}_s{seed}.npz"
    if not path.exists():
        x, y, J = _data.singer_coifman(n, M, seed=seed)
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, x=x, y=y, jacobians=J)
        tmp.replace(path)
    return path


def load(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def kernel_settings(n, mahalanobis, data, k=K_NEIGHBORS):
    """The same epsilon and k for every implementation (skequiv conventions).

    epsilon = median, over up to 5,000 points, of the squared distance to the
    8th neighbour (Mahalanobis among the k candidates in case 1/3, which are the
    nearest in the sample-averaged Mahalanobis metric).
    """
    path = CACHE_DIR / f"eps_n{n}_{'mahal' if mahalanobis else 'eucl'}_k{k}.json"
    if path.exists():
        return json.loads(path.read_text())
    from sklearn.neighbors import NearestNeighbors

    Y = data["y"]
    rng = np.random.default_rng(1)
    q = rng.choice(n, size=min(n, 5000), replace=False)
    Z = _reference.search_space(Y, data["jacobians"] if mahalanobis else None)
    nn = NearestNeighbors(n_neighbors=min(k + 1, n)).fit(Z)
    dist, ind = nn.kneighbors(Z[q])
    dist, ind = dist[:, 1:], ind[:, 1:]  # drop the point itself
    if mahalanobis:
        rows = np.repeat(q, ind.shape[1])
        d2 = _reference.mahalanobis_sq(Y, data["jacobians"], rows, ind.ravel())
        d2 = np.sort(d2.reshape(ind.shape), axis=1)
    else:
        d2 = dist**2
    eps = float(np.median(d2[:, _reference.K_EPSILON - 1]))
    out = {
        "epsilon": eps,
        "k": k,
        "alpha": ALPHA,
        "n_components": N_COMPONENTS,
        "mahalanobis": mahalanobis,
        "rank": 2,
    }
    path.write_text(json.dumps(out))
    return out


def reference(n, mahalanobis, data, params):
    path = (
        CACHE_DIR / f"ref_n{n}_{'mahal' if mahalanobis else 'eucl'}_k{params['k']}.npz"
    )
    if path.exists():
        z = load(path)
        ref = {"vals": z["vals"], "vecs": z["vecs"], "time_s": float(z["time_s"])}
    else:
        t0 = time.perf_counter()
        rows, cols, d2 = _reference.graph(
            data["y"], params["k"], data["jacobians"] if mahalanobis else None
        )
        Wa, deg = _reference.diffusion_operator(
            n, rows, cols, d2, params["epsilon"], ALPHA
        )
        vals, vecs = _reference.eigenpairs(Wa, deg, params["n_components"])
        ref = {"vals": vals, "vecs": vecs, "time_s": time.perf_counter() - t0}
        if params["k"] is None:  # all pairs: too big to keep; vectors only
            rows = cols = d2 = np.zeros(0)
        np.savez(
            path,
            vals=vals,
            vecs=vecs,
            time_s=ref["time_s"],
            rows=rows,
            cols=cols,
            d2=d2,
        )
    return ref


def reference_operator(n, mahalanobis, params):
    """W_alpha and degrees of the reference (for scoring vectors without values)."""
    z = load(
        CACHE_DIR / f"ref_n{n}_{'mahal' if mahalanobis else 'eucl'}_k{params['k']}.npz"
    )
    return _reference.diffusion_operator(
        n, z["rows"], z["cols"], z["d2"], params["epsilon"], ALPHA
    )


# --------------------------------------------------------------------------
# one measurement = one worker process
# --------------------------------------------------------------------------


def measure(impl, data_path, params, timeout, workdir, memory_limit_gb=None):
    tag = f"{impl}_{os.getpid()}_{time.monotonic_ns()}"
    task = {
        "impl": impl,
        "data": str(data_path),
        "params": params,
        "eigenvectors_out": str(workdir / f"{tag}_vecs.npy"),
        "result_out": str(workdir / f"{tag}.json"),
        "memory_limit_gb": memory_limit_gb,
    }
    task_path = workdir / f"{tag}_task.json"
    task_path.write_text(json.dumps(task))
    env = dict(os.environ)
    env["PYTHONWARNINGS"] = "ignore"
    load1 = os.getloadavg()[0]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(
            [env_python(IMPL_ENV[impl]), str(HERE / "_worker.py"), str(task_path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=str(workdir),
        )
    except subprocess.TimeoutExpired:
        return {
            "status": "timeout",
            "time_s": None,
            "wall_s": time.perf_counter() - t0,
            "load1": load1,
            "error": f"killed after {timeout:.0f} s",
        }
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        err = (r.stderr or r.stdout).strip().splitlines()
        return {
            "status": "error",
            "time_s": None,
            "wall_s": wall,
            "load1": load1,
            "error": " | ".join(err[-3:])[-600:],
        }
    res = json.loads(Path(task["result_out"]).read_text())
    res["vecs"] = np.load(task["eigenvectors_out"])
    res["wall_s"] = wall
    res["load1"] = load1
    for p in (task_path, Path(task["result_out"]), Path(task["eigenvectors_out"])):
        p.unlink(missing_ok=True)
    return res


def run_spectral_case(cid, args, log, workdir):
    case = CASES[cid]
    ns = case["quick_ns"] if args.quick else case["ns"]
    ns = [n for n in ns if n <= args.max_n]
    impls = [
        i for i in case["impls"] if i in args.impls or i.split("_")[0] in args.impls
    ]
    runs, rows = [], []
    stopped = {}
    last_time = {}
    for impl in impls:
        if not env_ready(IMPL_ENV[impl]):
            stopped[impl] = f"environment benchmarks/.envs/{IMPL_ENV[impl]} absent"
            log(f"[case {cid}] {impl}: skipped ({stopped[impl]})")
    mahal = case["mahalanobis"]
    for n in ns:
        path = data_file(n)
        data = load(path)
        params = kernel_settings(n, mahal, data)
        if case.get("all_pairs"):
            # the same epsilon, every pair an edge
            params = dict(params, k=None, k_sparse=case["k_sparse"])
        ref = None
        if n <= case.get("reference_max_n", np.inf):
            ref = reference(n, mahal, data, params)
        del data
        if args.prepare:
            log(f"[case {cid}] n={n}: data, epsilon and reference cached")
            continue
        for impl, (n_last, t_last) in last_time.items():
            # skip a size whose projected time (n log n from the last size) is past
            # the per-run timeout: a run that would be killed measures nothing
            proj = t_last * (n / n_last) * np.log(n) / np.log(n_last)
            if case.get("all_pairs"):
                proj = t_last * (n / n_last) ** 2
            limit = (
                max(args.anchor_timeout, case.get("anchor_timeout", 0))
                if not impl.startswith("skequiv")
                else args.timeout
            )
            if impl not in stopped and proj > limit:
                stopped[impl] = (
                    f"n={n} skipped: projected {proj:.0f} s from "
                    f"{t_last:.0f} s at n={n_last} exceeds the {limit:.0f} s "
                    "timeout"
                )
                log(f"[case {cid}] {impl}: {stopped[impl]}")
        active = [i for i in impls if i not in stopped]
        if not active:
            break
        repeats = 1 if n > case.get("single_run_above", np.inf) else args.repeats
        log(
            f"[case {cid}] n={n}: eps={params['epsilon']:.3g} k={params['k']} "
            f"impls={active} repeats={repeats} load={os.getloadavg()[0]:.2f}"
        )
        per_impl = {i: [] for i in active}
        done = set()
        for rep in range(repeats):
            order = active[rep % len(active) :] + active[: rep % len(active)]
            for impl in order:
                if impl in done:
                    continue
                is_anchor = not impl.startswith("skequiv")
                timeout = (
                    max(args.anchor_timeout, case.get("anchor_timeout", 0))
                    if is_anchor
                    else args.timeout
                )
                memlim = args.memory_limit_gb if not is_anchor else None
                res = measure(impl, path, params, timeout, workdir, memlim)
                res.update(case=cid, impl=impl, n=n, repeat=rep)
                if res["status"] == "ok" and ref is not None:
                    res["agreement"] = score(res, ref, n, mahal, params)
                res.pop("vecs", None)
                runs.append(res)
                per_impl[impl].append(res)
                t = res.get("time_s")
                log(
                    f"  {impl:9s} rep {rep}: "
                    + (
                        f"{t:8.3f} s (cpu {res.get('cpu_s', 0):7.2f}), "
                        f"peak {res['peak_rss_mb']:7.0f} MiB"
                        + _agree_str(res.get("agreement"))
                        if res["status"] == "ok"
                        else f"{res['status']}: {res.get('error')}"
                    )
                )
                if res["status"] != "ok" or (is_anchor and t > args.stop_after):
                    done.add(impl)
                    stopped[impl] = (
                        f"passed {args.stop_after:.0f} s at n={n}"
                        if res["status"] != "error"
                        else f"error at n={n}"
                    )
        for impl in active:
            row = summarise(
                cid,
                impl,
                n,
                per_impl[impl],
                per_impl.get("skequiv"),
                params,
                ref,
                per_impl.get("skequiv_sparse"),
            )
            rows.append(row)
            if row["status"] == "ok":
                last_time[impl] = (n, row["time_median_s"])
    return runs, rows, stopped


def score(res, ref, n, mahal, params):
    vals = res.get("eigenvalues")
    agree = _reference.agreement(ref["vals"], ref["vecs"], vals, res["vecs"])
    if vals is None:  # scikit-learn: score the vectors on the reference operator
        Wa, deg = reference_operator(n, mahal, params)
        implied = _reference.rayleigh_eigenvalues(Wa, deg, res["vecs"])
        a2 = _reference.agreement(ref["vals"], ref["vecs"], implied, res["vecs"])
        agree["eig_rel_err"] = a2["eig_rel_err"]
        agree["max_eig_rel_err"] = a2["max_eig_rel_err"]
        agree["eigenvalues_from"] = "Rayleigh quotients of the returned vectors"
        # scikit-learn's normalised Laplacian ignores the affinity's diagonal
        # (the self-loops W_ii), so it solves a slightly different problem; check
        # that it solves that one.
        own = _reference.own_problem_residual(
            Wa, deg, res["vecs"], drop_self_loops=True
        )
        agree["own_problem_residual"] = float(own.max())
    return agree


def _agree_str(a):
    if not a:
        return ""
    s = f", |corr|>={a['min_abs_corr']:.4f}"
    if "max_eig_rel_err" in a:
        s += f", eig err {a['max_eig_rel_err']:.1e}"
    return s


def summarise(cid, impl, n, runs, sk_runs, params, ref, sp_runs=None):
    ok = [r for r in runs if r["status"] == "ok"]
    row = {
        "case": cid,
        "impl": impl,
        "n": n,
        "n_runs": len(ok),
        "epsilon": params["epsilon"],
        "k": params["k"],
        "status": "ok" if ok else (runs[0]["status"] if runs else "skipped"),
    }
    if not ok:
        row["note"] = runs[0].get("error") if runs else ""
        return row
    times = [r["time_s"] for r in ok]
    row.update(
        time_median_s=float(np.median(times)),
        time_min_s=float(np.min(times)),
        time_max_s=float(np.max(times)),
        times_s=times,
        cpu_median_s=float(np.median([r.get("cpu_s", np.nan) for r in ok])),
        peak_rss_mb=float(np.median([r["peak_rss_mb"] for r in ok])),
        rss_before_fit_mb=float(np.median([r["rss_before_fit_mb"] for r in ok])),
        load1=float(np.median([r["load1"] for r in ok])),
        versions=ok[0].get("versions"),
        skequiv_code=sorted({r["skequiv_code"] for r in ok if "skequiv_code" in r})
        or None,
    )
    if ok[0].get("eigenvalues") is not None:
        row["eigenvalues"] = ok[0]["eigenvalues"]
    if ref is not None:
        row["reference_eigenvalues"] = [float(v) for v in ref["vals"]]
        a = ok[0].get("agreement", {})
        row["min_abs_corr"] = a.get("min_abs_corr")
        row["max_eig_rel_err"] = a.get("max_eig_rel_err")
        if "own_problem_residual" in a:
            row["own_problem_residual"] = a["own_problem_residual"]
    for base, key in ((sk_runs, "ratio_vs_skequiv"), (sp_runs, "ratio_vs_sparse")):
        if impl.startswith("skequiv") or not base:
            continue
        sk = {r["repeat"]: r["time_s"] for r in base if r["status"] == "ok"}
        ratios = [r["time_s"] / sk[r["repeat"]] for r in ok if r["repeat"] in sk]
        if not ratios and sk:  # a single anchor run: against the median
            ratios = [ok[0]["time_s"] / float(np.median(list(sk.values())))]
        if ratios:
            row[key] = float(np.median(ratios))
            row[key.replace("ratio", "ratios")] = ratios
    return row


# --------------------------------------------------------------------------
# case 4: network sources (helper module owned by the network-sources issue)
# --------------------------------------------------------------------------


def run_network_case(args, log):
    if not (HERE / "bench_network_sources.py").exists():
        log("[case 4] benchmarks/bench_network_sources.py not present: skipped")
        return [], "bench_network_sources.py not present"
    n, reps = (256, 1) if args.quick else (10_000, max(3, args.repeats))
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]);"
        "import bench_network_sources as b;"
        f"rows = b.run(n_samples={n}, repeats={reps});"
        "print('@@JSON@@' + json.dumps(rows, default=float))"
    )
    log(f"[case 4] bench_network_sources.run(n_samples={n}, repeats={reps})")
    try:
        r = subprocess.run(
            [sys.executable, "-c", code, str(HERE)],
            capture_output=True,
            text=True,
            timeout=args.timeout,
        )
    except subprocess.TimeoutExpired:
        return [], f"timed out after {args.timeout} s"
    if r.returncode != 0 or "@@JSON@@" not in r.stdout:
        err = (r.stderr or r.stdout).strip().splitlines()[-3:]
        log(f"[case 4] failed: {' | '.join(err)}")
        return [], "failed: " + " | ".join(err)[-500:]
    rows = json.loads(r.stdout.split("@@JSON@@", 1)[1].strip())
    for row in rows:
        log(f"  {row}")
    return rows, None


# --------------------------------------------------------------------------


def machine_info():
    info = {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["mem_gib"] = round(int(line.split()[1]) / 2**20, 1)
    return info


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        la = os.getloadavg()
        return f"load average: {la[0]:.2f}, {la[1]:.2f}, {la[2]:.2f}"


def skequiv_fingerprint():
    """Short hash of skequiv's embedding and metric sources (the tree is shared and
    uncommitted while it is being written, so the commit alone does not say which
    code produced a row)."""
    import hashlib

    h = hashlib.sha256()
    pkg = HERE.parent / "skequiv"
    for sub in ("embedding", "metric"):
        for f in sorted((pkg / sub).glob("*.py")):
            h.update(f.read_bytes())
    return h.hexdigest()[:10]


def git_commit():
    r = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=HERE,
        capture_output=True,
        text=True,
    )
    return r.stdout.strip() or None


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument(
        "--cases",
        default="1,5,3,4,2",
        help="comma-separated case ids (1-5), run in this order",
    )
    p.add_argument("--quick", action="store_true", help="tiny n, one repeat")
    p.add_argument("--max-n", type=int, default=10**9, help="skip sizes above this")
    p.add_argument("--repeats", type=int, default=None, help="runs per row (default 3)")
    p.add_argument("--impls", default="skequiv,datafold,pydiffmap,sklearn")
    p.add_argument(
        "--no-setup",
        action="store_true",
        help="never create anchor envs; skip anchors whose env is absent",
    )
    p.add_argument("--setup-only", action="store_true")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite RESULTS.md and the plots from --out/results.json (and "
        "benchmarks/analysis.md), measuring nothing",
    )
    p.add_argument(
        "--prepare",
        action="store_true",
        help="only generate and cache the data, epsilon and reference eigenpairs",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results folder (default benchmarks/results; "
        "benchmarks/.cache/quick with --quick)",
    )
    p.add_argument("--timeout", type=float, default=600.0, help="per skequiv run (s)")
    p.add_argument(
        "--anchor-timeout", type=float, default=180.0, help="per anchor run (s)"
    )
    p.add_argument(
        "--stop-after",
        type=float,
        default=STOP_AFTER_S,
        help="stop an anchor for larger n once a run passes this (s)",
    )
    p.add_argument(
        "--memory-limit-gb",
        type=float,
        default=16.0,
        help="address-space cap for skequiv workers (protects a shared machine)",
    )
    p.add_argument("--no-plots", action="store_true")
    p.add_argument(
        "--no-merge",
        dest="merge",
        action="store_false",
        help="do not keep the other cases' rows from an earlier results.json "
        "in --out (by default a partial rerun replaces only its cases)",
    )
    p.add_argument(
        "--envs-dir",
        type=Path,
        default=ENVS_DIR,
        help="where the anchor venvs live (default benchmarks/.envs)",
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=CACHE_DIR,
        help="cached data, kernel settings and references",
    )
    args = p.parse_args(argv)
    args.cases = [int(c) for c in args.cases.split(",") if c.strip()]
    args.max_n_given = args.max_n < 10**9
    args.impls = [i.strip() for i in args.impls.split(",") if i.strip()]
    if args.quick:
        args.merge = False
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.out is None:
        args.out = args.cache_dir / "quick" if args.quick else RESULTS_DIR
    return args


def main(argv=None):
    global ENVS_DIR, CACHE_DIR
    args = parse_args(argv)
    ENVS_DIR, CACHE_DIR = args.envs_dir.resolve(), args.cache_dir.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    log_path = args.out / "run.log"
    logf = log_path.open("a")  # partial reruns append

    def log(msg):
        print(msg, flush=True)
        logf.write(msg + "\n")
        logf.flush()

    if args.report_only:
        import _report

        old = json.loads((args.out / "results.json").read_text())
        old["meta"]["cases"] = {int(c): v for c, v in old["meta"]["cases"].items()}
        _report.write_all(
            args.out,
            old["meta"],
            old["rows"],
            old["runs"],
            old.get("network"),
            plots_enabled=not args.no_plots,
        )
        log(f"[done] report rewritten in {args.out}")
        return 0
    wanted_envs = sorted({IMPL_ENV[i] for i in args.impls if IMPL_ENV.get(i)})
    if not args.no_setup:
        setup_envs(wanted_envs, log)
    if args.setup_only:
        return 0
    if args.prepare:
        for cid in args.cases:
            if cid != 4:
                run_spectral_case(cid, args, log, CACHE_DIR)
        return 0
    meta = {
        "started_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "quick": args.quick,
        "repeats": args.repeats,
        "git_commit": git_commit(),
        "machine": machine_info(),
        "skequiv_code": skequiv_fingerprint(),
        "uptime_start": uptime(),
        "settings": {
            "m": M,
            "n_components": N_COMPONENTS,
            "alpha": ALPHA,
            "k": K_NEIGHBORS,
            "stop_after_s": args.stop_after,
        },
        "envs": {e: env_freeze(e) for e in wanted_envs if env_ready(e)},
        "cases": {},
    }
    log(f"[start] {meta['started_utc']}  {meta['uptime_start']}")
    all_runs, all_rows, network = [], [], None
    with tempfile.TemporaryDirectory(prefix="skequiv-bench-") as tmp:
        workdir = Path(tmp)
        for cid in args.cases:
            up0 = uptime()
            if cid == 4:
                rows, note = run_network_case(args, log)
                network = {"rows": rows, "note": note}
                meta["cases"][cid] = {"uptime_start": up0, "uptime_end": uptime()}
                continue
            runs, rows, stopped = run_spectral_case(cid, args, log, workdir)
            all_runs += runs
            all_rows += rows
            meta["cases"][cid] = {
                "uptime_start": up0,
                "uptime_end": uptime(),
                "stopped": stopped,
            }
    for r in all_rows + all_runs:
        r["run_utc"] = meta["started_utc"]
    meta["finished_utc"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    meta["uptime_end"] = uptime()
    log(f"[end] {meta['finished_utc']}  {meta['uptime_end']}")
    meta["history"] = [
        {
            k: meta[k]
            for k in (
                "command",
                "started_utc",
                "finished_utc",
                "uptime_start",
                "uptime_end",
                "skequiv_code",
            )
        }
        | {"cases": args.cases}
    ]
    previous = args.out / "results.json"
    if args.merge and previous.exists():
        # A partial rerun replaces the (case, n) rows it measured and keeps the
        # rest; each row says which run (and which skequiv code) produced it.
        old = json.loads(previous.read_text())
        fresh = {(r["case"], r["n"]) for r in all_rows}
        redone = set(args.cases) if not args.max_n_given else set()

        def keep(r):
            return r["case"] not in redone and (r["case"], r["n"]) not in fresh

        all_rows = [r for r in old["rows"] if keep(r)] + all_rows
        all_runs = [r for r in old["runs"] if keep(r)] + all_runs
        if network is None:
            network = old.get("network")
        for c, v in old["meta"].get("cases", {}).items():
            if int(c) not in args.cases:
                meta["cases"][int(c)] = v
            elif int(c) not in redone:
                # partly rerun case: keep the earlier run's notes beside the new ones
                meta["cases"][int(c)]["earlier"] = v
        meta["history"] = old["meta"].get("history", []) + meta["history"]
        meta["envs"] = old["meta"].get("envs", {}) | meta["envs"]
        all_rows.sort(key=lambda r: (r["case"], r["n"]))
    import _report

    _report.write_all(
        args.out, meta, all_rows, all_runs, network, plots_enabled=not args.no_plots
    )
    log(f"[done] results in {args.out}")
    logf.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
