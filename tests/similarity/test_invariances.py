"""Every claimed invariance holds, every unclaimed one fails on a witness.

The claims are the library's own (``Measure.invariances``, ``Measure.symmetric``);
the invariance table of the user guide (docs/similarity_invariances.inc) is
rendered from them, and ``test_user_guide_table_is_current`` keeps it in step.
Regenerate it with ``python -m tests.similarity.test_invariances``.
"""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skequiv.similarity import TRANSFORMS, get_measure
from skequiv.similarity._measures import _Procrustes

TABLE = Path(__file__).parents[2] / "docs" / "similarity_invariances.inc"

# table row label -> measure (shape rows: the cosine of shape_distance's angle)
ROWS = {
    "linear CKA": get_measure("linear_cka"),
    "RBF CKA (median bandwidth)": get_measure("rbf_cka"),
    "debiased linear CKA": get_measure("debiased_linear_cka"),
    "debiased RBF CKA": get_measure("debiased_rbf_cka"),
    "CCA (mean ρ or ρ²)": get_measure("cca"),
    "SVCCA (99 % of variance)": get_measure("svcca"),
    "PWCCA, weights from X": get_measure("pwcca"),
    "PWCCA, symmetric weights": get_measure("pwcca", weights="symmetric"),
    "Procrustes (= shape, α = 1)": get_measure("procrustes"),
    "shape distance, α = 0.5": _Procrustes(0.5),
    "shape distance, α = 0": _Procrustes(0.0),
}
COLUMNS = {
    "orthogonal": "orthogonal",
    "isotropic_scaling": "isotropic scale",
    "translation": "translation",
    "permutation": "permutation",
    "invertible_linear": "invertible linear",
}

# float64 rounding of centring, SVD and sums on well-conditioned data
TOL = 1e-10


def _orthogonal(rng, p):
    Q, R = np.linalg.qr(rng.normal(size=(p, p)))
    return Q * np.sign(np.diag(R))


def transform(name, X, rng):
    """Apply a random transform of kind ``name`` to the units of X."""
    p = X.shape[1]
    if name == "orthogonal":
        return X @ _orthogonal(rng, p)
    if name == "isotropic_scaling":
        return X * 10 ** rng.uniform(-2, 2)
    if name == "translation":
        return X + rng.normal(scale=10, size=p)
    if name == "permutation":
        return X[:, rng.permutation(p)]
    # invertible, condition number at most 25
    s = rng.uniform(0.2, 5.0, size=p)
    return X @ (_orthogonal(rng, p) * s) @ _orthogonal(rng, p)


@st.composite
def pairs(draw):
    """Paired representations: Y depends on X, plus noise, with n > p + q."""
    seed = draw(st.integers(0, 2**32 - 1))
    p = draw(st.integers(1, 6))
    q = draw(st.integers(1, 6))
    n = draw(st.integers(p + q + 8, 60))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.3, 3.0, size=p) + rng.normal(size=p)
    Y = X @ rng.normal(size=(p, q)) + rng.normal(size=(n, q))
    return X, Y, rng


def _claims():
    for label, measure in ROWS.items():
        for name in TRANSFORMS:
            yield pytest.param(
                measure, name, name in measure.invariances, id=f"{label}-{name}"
            )


@pytest.mark.parametrize(
    ("measure", "name"),
    [p.values[:2] for p in _claims() if p.values[2]],
    ids=[p.id for p in _claims() if p.values[2]],
)
@settings(max_examples=15, deadline=None)
@given(data=pairs())
def test_claimed_invariance_holds_on_either_side(measure, name, data):
    X, Y, rng = data
    value = measure(X, Y)
    assert measure(transform(name, X, rng), Y) == pytest.approx(value, abs=TOL)
    assert measure(X, transform(name, Y, rng)) == pytest.approx(value, abs=TOL)


@pytest.mark.parametrize(
    "measure", [m for m in ROWS.values() if m.symmetric], ids=lambda m: repr(m)
)
@settings(max_examples=15, deadline=None)
@given(data=pairs())
def test_claimed_symmetry_holds(measure, data):
    X, Y, _ = data
    assert measure(Y, X) == pytest.approx(measure(X, Y), abs=TOL)


@pytest.mark.parametrize("name", ["orthogonal", "invertible_linear"])
@settings(max_examples=15, deadline=None)
@given(data=pairs())
def test_pwcca_is_invariant_on_the_side_that_does_not_weight(name, data):
    X, Y, rng = data
    measure = get_measure("pwcca", weights="x")
    value = measure(X, Y)
    assert measure(X, transform(name, Y, rng)) == pytest.approx(value, abs=TOL)


def _witness():
    """Data on which every unclaimed invariance visibly fails.

    A decaying spectrum, so that SVCCA's truncation keeps fewer directions than
    units and a linear map changes which ones.
    """
    rng = np.random.default_rng(0)
    n, p, q = 120, 6, 5
    X = rng.normal(size=(n, p)) * np.logspace(0, -1.5, p)
    Y = X[:, :q] @ rng.normal(size=(q, q)) + 0.3 * rng.normal(size=(n, q))
    return X, Y, rng


@pytest.mark.parametrize(
    ("measure", "name"),
    [p.values[:2] for p in _claims() if not p.values[2]],
    ids=[p.id for p in _claims() if not p.values[2]],
)
def test_unclaimed_invariance_fails_on_a_witness(measure, name):
    X, Y, rng = _witness()
    changed = measure(transform(name, X, rng), Y)
    assert abs(changed - measure(X, Y)) > 1e-4


@pytest.mark.parametrize(
    "measure", [m for m in ROWS.values() if not m.symmetric], ids=lambda m: repr(m)
)
def test_unclaimed_symmetry_fails_on_a_witness(measure):
    X, Y, _ = _witness()
    assert abs(measure(Y, X) - measure(X, Y)) > 1e-4


def render_table():
    """The user guide's invariance table, from the measures' claims."""
    header = ["measure", *COLUMNS.values(), "symmetric"]
    rows = [
        [
            label,
            *("✓" if t in m.invariances else "✗" for t in COLUMNS),
            "✓✗"[not m.symmetric],
        ]
        for label, m in ROWS.items()
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append(rule)
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows
    ]
    lines.append(rule)
    comment = (
        ".. Generated by `python -m tests.similarity.test_invariances` from the\n"
        "   measures' claims, which tests/similarity/test_invariances.py checks.\n"
    )
    return comment + "\n" + "\n".join(line.rstrip() for line in lines) + "\n"


def test_user_guide_table_is_current():
    assert TABLE.read_text(encoding="utf-8") == render_table()


if __name__ == "__main__":
    TABLE.write_text(render_table(), encoding="utf-8")
    print(f"wrote {TABLE}")
