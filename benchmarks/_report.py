"""Write the results: JSON, CSV, plots and the markdown table RESULTS.md."""

import csv
import json
import math
from pathlib import Path

# "Matching" means: every one of the first n_components non-trivial eigenvalues has
# |lambda - lambda_ref| <= EIG_TOL * (1 - lambda_ref) (relative error of the
# generator eigenvalue, the part that carries the geometry, since lambda -> 1), and
# every eigenvector has |corr| >= CORR_TOL with the reference's.
EIG_TOL = 1e-3
CORR_TOL = 0.999
GB = 1e9 / 2**20  # 4 GB target, in MiB (decimal GB, the stricter reading)

LABEL = {
    "skequiv": "skequiv",
    "skequiv_sparse": "skequiv, sparse k = 160",
    "datafold": "datafold 2.0.2",
    "pydiffmap": "pyDiffMap 0.2.0.1",
    "sklearn": "scikit-learn SpectralEmbedding",
}
CSV_FIELDS = [
    "case",
    "impl",
    "n",
    "status",
    "n_runs",
    "time_median_s",
    "time_min_s",
    "time_max_s",
    "cpu_median_s",
    "peak_rss_mb",
    "rss_before_fit_mb",
    "ratio_vs_skequiv",
    "max_eig_rel_err",
    "min_abs_corr",
    "own_problem_residual",
    "epsilon",
    "k",
    "load1",
    "note",
]


def matches(row):
    e, c = row.get("max_eig_rel_err"), row.get("min_abs_corr")
    if e is None or c is None:
        return None
    return bool(e <= EIG_TOL and c >= CORR_TOL)


def _fmt_t(row):
    if row.get("status") != "ok":
        return f"{row.get('status')}"
    t = row["time_median_s"]
    if row["n_runs"] > 1:
        return f"{t:.3g} ({row['time_min_s']:.3g}–{row['time_max_s']:.3g})"
    return f"{t:.3g} (1 run)"


def _fmt(v, f):
    return (
        "–" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, f)
    )


def targets(rows, meta):
    out = []
    by = {(r["case"], r["impl"], r["n"]): r for r in rows}

    # T1: >= 100x datafold's Mahalanobis path at n = 4000, same eigenvalues.
    for case, graph in (
        (5, "all pairs, datafold's default distance"),
        (1, f"the same k = {meta['settings']['k']} kNN graph"),
    ):
        sk, df = by.get((case, "skequiv", 4000)), by.get((case, "datafold", 4000))
        name = (
            f"≥ 100× faster than datafold Mahalanobis at n = 4,000 ({graph}), "
            "same eigenvalues"
        )
        if not (sk and df and sk.get("status") == "ok"):
            out.append((name, None, "not measured in this run"))
            continue
        ratio = df.get("ratio_vs_skequiv")
        same = matches(sk) and (matches(df) if df.get("status") == "ok" else False)
        met = ratio is not None and ratio >= 100 and bool(same)
        text = (
            f"datafold / skequiv = {_fmt(ratio, '.3g')}× (median of paired runs; "
            f"{_fmt(df.get('time_median_s'), '.3g')} s vs "
            f"{_fmt(sk.get('time_median_s'), '.3g')} s); eigenvalue rel. err skequiv "
            f"{_fmt(sk.get('max_eig_rel_err'), '.1e')}, datafold "
            f"{_fmt(df.get('max_eig_rel_err'), '.1e')}"
        )
        if df.get("status") != "ok":
            text = f"datafold: {df.get('status')} ({df.get('note')})"
        out.append((name, met, text))
        sp = by.get((case, "skequiv_sparse", 4000))
        if sp and sp.get("status") == "ok" and df.get("status") == "ok":
            r2 = df.get("ratio_vs_sparse")
            met2 = r2 is not None and r2 >= 100 and bool(matches(sp) and matches(df))
            out.append(
                (
                    "≥ 100× faster than datafold Mahalanobis at n = 4,000 (datafold on "
                    "all pairs; skequiv sparse, k = 160), same eigenvalues",
                    met2,
                    f"datafold / skequiv = {_fmt(r2, '.3g')}× "
                    f"({_fmt(df.get('time_median_s'), '.3g')} s vs "
                    f"{_fmt(sp.get('time_median_s'), '.3g')} s); both against the "
                    "all-pairs reference: eigenvalue rel. err skequiv "
                    f"{_fmt(sp.get('max_eig_rel_err'), '.1e')}, datafold "
                    f"{_fmt(df.get('max_eig_rel_err'), '.1e')}",
                )
            )

    # T2: Euclidean path at least as fast as the fastest anchor for n >= 10,000.
    ns = sorted({r["n"] for r in rows if r["case"] == 2 and r["n"] >= 10_000})
    if ns:
        parts, met = [], True
        for n in ns:
            sk = by.get((2, "skequiv", n))
            if not sk or sk.get("status") != "ok":
                met = False
                parts.append(f"n={n}: skequiv did not run")
                continue
            anchors = [
                r
                for (c, i, m), r in by.items()
                if c == 2 and m == n and i != "skequiv" and r.get("status") == "ok"
            ]
            if not anchors:
                parts.append(
                    f"n={n}: every anchor stopped "
                    f"(>{meta['settings']['stop_after_s']:.0f} s)"
                    f" or absent; skequiv {sk['time_median_s']:.3g} s"
                )
                met = met and bool(matches(sk))
                continue
            fastest = min(anchors, key=lambda r: r["time_median_s"])
            ratio = fastest.get("ratio_vs_skequiv")
            ok = ratio is not None and ratio >= 1.0 and bool(matches(sk))
            met = met and ok
            parts.append(
                f"n={n}: fastest anchor {LABEL[fastest['impl']]} "
                f"{fastest['time_median_s']:.3g} s vs skequiv "
                f"{sk['time_median_s']:.3g} s (anchor/skequiv "
                f"{_fmt(ratio, '.2f')}×; skequiv eig err "
                f"{_fmt(sk.get('max_eig_rel_err'), '.1e')})"
            )
        out.append(
            (
                "Euclidean: at least as fast as the fastest anchor for n ≥ 10,000, "
                "matching eigenvalues",
                met,
                "; ".join(parts),
            )
        )

    # T3: n = 100,000 under 60 s and 4 GB (case 3, Mahalanobis sparse).
    sk = by.get((3, "skequiv", 100_000))
    if sk and sk.get("status") == "ok":
        met = sk["time_median_s"] < 60 and sk["peak_rss_mb"] < 4 * GB
        out.append(
            (
                "n = 100,000 (m = 10, rank 2, sparse) under 60 s and 4 GB",
                met,
                f"{sk['time_median_s']:.3g} s, peak RSS {sk['peak_rss_mb']:.0f} MiB "
                f"(limit 4 GB = {4 * GB:.0f} MiB)",
            )
        )
    else:
        out.append(
            (
                "n = 100,000 under 60 s and 4 GB",
                None,
                "not measured in this run" if not sk else f"status {sk.get('status')}",
            )
        )

    # Growth: log-log slope of time against n over the case-3 series from 10k up.
    pts = [
        (r["n"], r["time_median_s"])
        for r in rows
        if r["case"] == 3 and r.get("status") == "ok" and r["n"] >= 10_000
    ]
    if len(pts) >= 2:
        import numpy as np

        x = np.log([p[0] for p in pts])
        y = np.log([p[1] for p in pts])
        slope = float(np.polyfit(x, y, 1)[0])
        cpu = [
            r.get("cpu_median_s")
            for r in rows
            if r["case"] == 3 and r.get("status") == "ok" and r["n"] >= 10_000
        ]
        cpu_slope = (
            float(np.polyfit(x, np.log(cpu), 1)[0])
            if all(c is not None and c > 0 for c in cpu)
            else None
        )
        lo, hi = pts[0][0], pts[-1][0]
        nlogn = math.log((hi * math.log(hi)) / (lo * math.log(lo))) / math.log(hi / lo)
        out.append(
            (
                "time grows no faster than ~n log n",
                slope <= nlogn + 0.15,
                f"log-log slope of wall time {slope:.2f} over n = {lo:,}…{hi:,}"
                + (f", of CPU time {cpu_slope:.2f}" if cpu_slope is not None else "")
                + f" (n log n would be {nlogn:.2f})",
            )
        )
    return out


def _codes(row):
    c = row.get("skequiv_code") or []
    return [c] if isinstance(c, str) else list(c)


def _table(rows, case):
    lines = [
        "| n | implementation | fit time, s: median (min–max) | CPU s | "
        "peak RSS, MiB | "
        "anchor / skequiv (paired) | max rel. err of 1−λ | min abs corr | matches |",
        "|---:|---|---:|---:|---:|---:|---:|---:|:-:|",
    ]
    runs = {r.get("run_utc") for r in rows if r["case"] == case}
    codes = {
        tuple(_codes(r))
        for r in rows
        if r["case"] == case and r["impl"].startswith("skequiv")
    }
    for r in sorted(
        (r for r in rows if r["case"] == case),
        key=lambda r: (r["n"], r["impl"] != "skequiv", r["impl"]),
    ):
        m = matches(r)
        mstr = "–" if m is None else ("yes" if m else "NO")
        if r.get("own_problem_residual") is not None:
            mstr = f"other operator† (own residual {r['own_problem_residual']:.0e})"
        lines.append(
            f"| {r['n']:,}"
            + (f" (run {str(r.get('run_utc'))[11:16]})" if len(runs) > 1 else "")
            + f" | {LABEL.get(r['impl'], r['impl'])}"
            + (
                f" (code {', '.join(_codes(r)) or '?'})"
                if len(codes) > 1 and r["impl"].startswith("skequiv")
                else ""
            )
            + f" | {_fmt_t(r)} | "
            f"{_fmt(r.get('cpu_median_s'), '.3g')} | "
            f"{_fmt(r.get('peak_rss_mb'), '.0f')} | "
            f"{_fmt(r.get('ratio_vs_skequiv'), '.1f')}"
            + (
                f" (vs sparse: {r['ratio_vs_sparse']:.0f})"
                if r.get("ratio_vs_sparse") is not None
                else ""
            )
            + " | "
            f"{_fmt(r.get('max_eig_rel_err'), '.1e')} | "
            f"{_fmt(r.get('min_abs_corr'), '.4f')} | "
            f"{mstr} |"
        )
    if any(
        r.get("own_problem_residual") is not None for r in rows if r["case"] == case
    ):
        lines.append(
            "\n† scikit-learn's normalised Laplacian ignores the affinity's diagonal "
            "(the self-loops W_ii = 1 of the diffusion kernel), so it solves a "
            "slightly "
            "different eigenproblem; its eigenvalues are the Rayleigh quotients of its "
            "vectors on the diffusion operator, and *own residual* is its relative "
            "residual on the operator it does solve "
            "(max |W'ψ − λD'ψ| / (|D'ψ|∞ (1−λ)))."
        )
    return "\n".join(lines)


def _network_table(network):
    rows = network.get("rows") or []
    if not rows:
        return f"_Not run: {network.get('note') or 'no rows returned'}._"
    keys = []
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        cells = []
        for k in keys:
            v = r.get(k, "")
            cells.append(f"{v:.4g}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def make_plots(out, rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    for what, key, ylabel, fname in [
        ("time", "time_median_s", "fit time (s, median)", "time_vs_n.png"),
        ("memory", "peak_rss_mb", "peak RSS of the process (MiB)", "memory_vs_n.png"),
    ]:
        cases = [c for c in (1, 5, 2, 3) if any(r["case"] == c for r in rows)]
        if not cases:
            continue
        fig, axes = plt.subplots(
            1, len(cases), figsize=(5.2 * len(cases), 4.2), squeeze=False
        )
        for ax, c in zip(axes[0], cases, strict=True):
            for impl in (
                "skequiv",
                "skequiv_sparse",
                "datafold",
                "pydiffmap",
                "sklearn",
            ):
                pts = sorted(
                    (r["n"], r[key])
                    for r in rows
                    if r["case"] == c and r["impl"] == impl and r.get("status") == "ok"
                )
                if pts:
                    ax.loglog(*zip(*pts, strict=True), "o-", label=LABEL[impl])
            if what == "time" and c == 3:
                pts = sorted(
                    (r["n"], r[key])
                    for r in rows
                    if r["case"] == 3
                    and r["impl"] == "skequiv"
                    and r.get("status") == "ok"
                )
                if pts:
                    import numpy as np

                    n0, t0 = pts[0]
                    ns = np.array([p[0] for p in pts], dtype=float)
                    ax.loglog(
                        ns,
                        t0 * ns * np.log(ns) / (n0 * np.log(n0)),
                        "k:",
                        label="∝ n log n",
                    )
                ax.axhline(60, color="r", lw=0.8, ls="--", label="60 s target")
            if what == "memory" and c == 3:
                ax.axhline(4 * GB, color="r", lw=0.8, ls="--", label="4 GB target")
            ax.set_xlabel("n (points)")
            ax.set_ylabel(ylabel)
            ax.set_title(
                {
                    1: "case 1: Mahalanobis, kNN graph",
                    5: "case 1b: Mahalanobis, all pairs",
                    2: "case 2: Euclidean",
                    3: "case 3: skequiv scaling",
                }[c],
                fontsize=10,
            )
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / fname, dpi=110)
        plt.close(fig)
        files.append(fname)
    return files


def write_all(out, meta, rows, runs, network, *, plots_enabled=True):
    out = Path(out)
    clean_runs = [{k: v for k, v in r.items() if k != "vecs"} for r in runs]
    (out / "results.json").write_text(
        json.dumps(
            {"meta": meta, "rows": rows, "runs": clean_runs, "network": network},
            indent=1,
            default=float,
        )
    )
    with (out / "results.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    figs = make_plots(out, rows) if plots_enabled and rows else []
    md = render(meta, rows, network, figs)
    (out / "RESULTS.md").write_text(md)
    return md


def render(meta, rows, network, figs):
    mi = meta["machine"]
    s = meta["settings"]
    L = [
        "# skequiv benchmark results",
        "",
        "Generated by `python benchmarks/run.py` (see [README](../README.md)); "
        "do not edit by hand.",
        "",
        "- Runs (`uptime` at start and end of each; the machine is shared):",
        *[
            f"  - {h['started_utc']} → {h.get('finished_utc')} UTC, cases "
            f"{', '.join(str(c) for c in h.get('cases', []))} (skequiv code "
            f"{h.get('skequiv_code')}): `{h['command']}`; start "
            f"`{h['uptime_start']}`; end `{h.get('uptime_end')}`"
            for h in meta.get("history", [])
        ],
        f"- Commit `{meta.get('git_commit')}`"
        + (" (**quick mode: tiny n, not a measurement**)" if meta.get("quick") else ""),
        f"- Machine: {mi.get('cpu', '?')}, {mi.get('cpus')} CPUs, "
        f"{mi.get('mem_gib', '?')} GiB RAM, {mi.get('platform')}, "
        f"Python {mi.get('python')}",
        "- The machine is shared with other jobs; every row is the median of "
        f"{meta['repeats']} runs (one process per run), implementations interleaved "
        "run by run, and *anchor / skequiv* is the median of per-run ratios of "
        "adjacent runs.",
        f"- Data: the Singer–Coifman rectangle map lifted to m = {s['m']} observations "
        "(`benchmarks/_data.py`). Every implementation gets the same data, the same "
        f"k = {s['k']} neighbours (union-symmetrised kNN graph) and the same ε "
        "(converted to its own kernel convention); α = "
        f"{s['alpha']:g}; {s['n_components']} non-trivial eigenpairs.",
        "- Agreement: against an independent scipy reference "
        "(`benchmarks/_reference.py`). "
        f"*matches* = every eigenvalue within {EIG_TOL:g} relative error of 1−λ and "
        f"every eigenvector |corr| ≥ {CORR_TOL}.",
        "- Peak RSS is the worker process's `ru_maxrss` (interpreter, imports and the "
        "data included).",
        "",
        "## Targets",
        "",
        "| target | met | numbers |",
        "|---|:-:|---|",
    ]
    for name, met, text in targets(rows, meta):
        verdict = "–" if met is None else ("yes" if met else "**NO**")
        L.append(f"| {name} | {verdict} | {text} |")
    for c in (1, 5, 2, 3):
        if any(r["case"] == c for r in rows):
            L += [
                "",
                f"## Case {'1b' if c == 5 else c}: "
                + {
                    1: "Mahalanobis diffusion map vs datafold `MahalanobisKernel` "
                    "(kNN graph)",
                    5: "Mahalanobis diffusion map on all pairs vs datafold "
                    "`MahalanobisKernel` with its default dense distance",
                    2: "Euclidean diffusion map vs datafold, pyDiffMap, scikit-learn",
                    3: "skequiv's own scaling (Mahalanobis, m = 10, rank 2, sparse)",
                }[c],
                "",
            ]
            L.append(_table(rows, c))
            cm = meta["cases"].get(c, {})
            chain = []
            while cm:
                chain.append(cm)
                cm = cm.get("earlier")
            for cm in chain:
                for impl, why in (cm.get("stopped") or {}).items():
                    L.append(f"\n- {LABEL.get(impl, impl)}: not run further ({why}).")
            for cm in chain:
                L.append(
                    f"\nLoad before: `{cm.get('uptime_start')}`; after: "
                    f"`{cm.get('uptime_end')}`."
                )
    if network is not None:
        L += [
            "",
            "## Case 4: network sources (activation and Jacobian throughput)",
            "",
            _network_table(network),
        ]
    if figs:
        L += ["", "## Plots", ""] + [f"![{f}]({f})" for f in figs]
    if meta.get("envs"):
        L += ["", "## Anchor environments", ""]
        for env, pkgs in meta["envs"].items():
            L.append(f"- `{env}`: " + ", ".join(p for p in pkgs if "==" in p))
    analysis = Path(__file__).with_name("analysis.md")
    if analysis.exists() and not meta.get("quick"):
        L += ["", analysis.read_text().strip()]
    return "\n".join(L) + "\n"
