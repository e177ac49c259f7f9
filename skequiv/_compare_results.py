"""What ``skequiv compare`` found: one report, or a report per pair of many models.

Each result prints itself, gives the JSON fields and says whether every verdict
is "equivalent" (what ``--check`` asks). :func:`report_record` is the one place
where an :class:`~skequiv.EquivalenceReport` becomes JSON.
"""

import math
from dataclasses import dataclass

import numpy as np


def report_record(report):
    """The JSON fields of one :class:`~skequiv.EquivalenceReport`."""

    def number(value):
        value = float(value)
        return value if math.isfinite(value) else None

    return {
        "names": list(report.names),
        "verdict": report.verdict,
        "direction": report.direction,
        "r2_ab": number(report.score_ab),
        "r2_ba": number(report.score_ba),
        "r2_ab_interval": [number(v) for v in report.interval_ab],
        "r2_ba_interval": [number(v) for v in report.interval_ba],
        "confidence_level": report.confidence_level,
        "p_value_ab": number(report.p_value_ab),
        "p_value_ba": number(report.p_value_ba),
        "p_value_floor": report.p_value_floor,
        "tolerance": report.tolerance,
        "significance_level": report.significance_level,
        "status_ab": report.status_ab,
        "status_ba": report.status_ba,
        "selected_ab": report.selected_ab,
        "selected_ba": report.selected_ba,
        "candidate_scores_ab": {
            k: number(v) for k, v in report.candidate_scores_ab.items()
        },
        "candidate_scores_ba": {
            k: number(v) for k, v in report.candidate_scores_ba.items()
        },
        "cycle_error_a": number(report.cycle_error_a),
        "cycle_error_b": number(report.cycle_error_b),
        "transform_ab": _transform_record(report.transform_ab),
        "transform_ba": _transform_record(report.transform_ba),
        "n_train": report.n_train,
        "n_test": report.n_test,
        "n_permutations": report.n_permutations,
        "n_bootstrap": report.n_bootstrap,
    }


def _transform_record(transform):
    """Which candidate map the fitted transform chose, and its steps."""
    record = {"candidate": getattr(transform, "selected_transform_", None)}
    for step in ("selector", "embedding", "regressor"):
        fitted = getattr(transform, f"{step}_", None)
        # a pipeline (the ridge candidates) is named by its final estimator
        fitted = getattr(fitted, "steps", [[None, fitted]])[-1][1]
        record[step] = None if fitted is None else type(fitted).__name__
    embedding = getattr(transform, "embedding_", None)
    coordinates = getattr(embedding, "n_components", None)
    record["n_coordinates"] = coordinates if isinstance(coordinates, int) else None
    return record


@dataclass
class PairResult:
    """Two models: one report."""

    report: object

    @property
    def text(self):
        return str(self.report)

    @property
    def all_equivalent(self):
        return self.report.verdict == "equivalent"

    def record(self):
        return report_record(self.report)


@dataclass
class PopulationResult:
    """More than two models: the matrix of directed scores and a report per pair."""

    names: list
    matrix: np.ndarray  # [i, j]: held-out R² of the transform i → j
    reports: dict  # (i, j) with i < j -> EquivalenceReport

    @property
    def all_equivalent(self):
        return all(r.verdict == "equivalent" for r in self.reports.values())

    def classes(self):
        """Groups of models joined by "equivalent" verdicts (connected components)."""
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import connected_components

        k = len(self.names)
        links = np.zeros((k, k), dtype=bool)
        for (i, j), report in self.reports.items():
            links[i, j] = links[j, i] = report.verdict == "equivalent"
        _, labels = connected_components(csr_matrix(links), directed=False)
        groups = {}
        for index, label in enumerate(labels):
            groups.setdefault(label, []).append(index)
        return sorted(groups.values(), key=lambda g: (-len(g), g[0]))

    @property
    def text(self):
        width = max(len(n) for n in self.names)
        cell = max(8, min(width, 14))  # columns: names cut at 14 characters
        lines = [
            f"Pairwise equivalence of {len(self.names)} models: held-out R² of "
            "the transform row → column",
            " " * (width + 3) + " ".join(f"{n[:cell]:>{cell}}" for n in self.names),
        ]
        for name, row in zip(self.names, self.matrix, strict=True):
            cells = " ".join(f"{v:{cell}.4f}" for v in row)
            lines.append(f"  {name:<{width}} {cells}")
        lines.append("verdicts")
        for (i, j), report in sorted(self.reports.items()):
            lines.append(
                f"  {self.names[i]} vs {self.names[j]}: {report.verdict_sentence()}"
            )
        groups = [", ".join(self.names[i] for i in g) for g in self.classes()]
        lines.append("equivalence classes (joined by 'equivalent' verdicts)")
        lines += [f"  {{{group}}}" for group in groups]
        return "\n".join(lines)

    def record(self):
        def number(value):
            return float(value) if math.isfinite(value) else None

        return {
            "names": list(self.names),
            "matrix": [[number(v) for v in row] for row in self.matrix],
            "matrix_meaning": "held-out R² of the transform row -> column",
            "all_equivalent": self.all_equivalent,
            "classes": [[self.names[i] for i in g] for g in self.classes()],
            "pairs": [report_record(r) for _, r in sorted(self.reports.items())],
        }


def pairwise_equivalence(sources, X, names, options, say):
    """The (K, K) directed matrix of held-out R², and the report of every pair.

    Per-network work is done once (as in :mod:`skequiv.population`): each
    model's activations and Jacobians at ``X`` are computed once, and every
    unordered pair's :func:`~skequiv.equivalence_report` (both directions at
    once) runs on those arrays, so K models cost K forward passes and
    Jacobians, not K(K - 1).
    """
    from skequiv import equivalence_report

    k = len(sources)
    say(f"activations and Jacobians of the {k} models, once each")
    data = [source.metric_data(X) for source in sources]
    # what the network path colours a report's plots with: a scalar input
    color = X[:, 0] if X.ndim == 2 and X.shape[1] == 1 else None
    matrix = np.full((k, k), np.nan)
    np.fill_diagonal(matrix, 1.0)
    reports = {}
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    for count, (i, j) in enumerate(pairs, start=1):
        say(f"pair {count} of {len(pairs)}: {names[i]} vs {names[j]}")
        report = equivalence_report(
            data[i].observations,
            data[j].observations,
            jacobians_a=data[i].jacobians,
            jacobians_b=data[j].jacobians,
            color=color,
            **options((names[i], names[j])),
        )
        matrix[i, j], matrix[j, i] = report.score_ab, report.score_ba
        reports[(i, j)] = report
    return matrix, reports
