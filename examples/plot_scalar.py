"""
=========================================================
(a) Two networks learning a scalar function: equivalent?
=========================================================

Experiment (a) of Bertalan, Dietrich & Kevrekidis (Chaos 34, 2024). Two MLPs of
different widths and seeds learn sin(πx) on [-1, 1]. We test whether their
outputs are equivalent (a transform T with f_B ≈ T ∘ f_A that generalises),
then show why internal neurons are needed: sin(πx) is not monotonic, so its
value does not determine x, and A's output cannot predict B's hidden layer,
while 2d + 1 = 3 neurons of A's hidden layers can — and recover x itself.
"""

# %%
# Two trained networks
# --------------------
# :func:`~skequiv.datasets.load_experiment` trains both networks on the spot
# (seeded, on the CPU, in seconds).
import matplotlib.pyplot as plt
import numpy as np

from skequiv import (
    NetworkActivations,
    NetworkTransform,
    WhitneyFeatureSelector,
    equivalence_report,
)
from skequiv.datasets import load_experiment
from skequiv.equivalence import plot_score_curve
from skequiv.utils import save_or_show

data = load_experiment("scalar", random_state=0)
print(data.DESCR)
# 480 samples: the transforms below choose their map by 3-fold inner
# cross-validation, and each fold keeps the 300 samples a Mahalanobis diffusion
# map needs to be reliable
X, X_test, x_test = data.X_train[:480], data.X_test, data.intrinsic_test[:, 0]

# %%
# The equivalence report on the outputs
# -------------------------------------
# Activations come from :class:`~skequiv.NetworkActivations`, which also
# computes their Jacobians for the Mahalanobis diffusion map. The report fits
# T both ways on 75% of the samples and scores it on the rest, against a
# permutation null. ``candidates="intrinsic"`` keeps the paper's construction
# (diffusion coordinates, then geometric harmonics); by default each direction
# also tries kernel ridge and ridge maps and keeps the best by inner
# cross-validation.
out_a = NetworkActivations(data.net_a)
out_b = NetworkActivations(data.net_b)
report = equivalence_report(
    out_a, out_b, X, candidates="intrinsic", n_permutations=49, random_state=0
)
print(report)

# %%
# The held-out R² of both directions with their bootstrap intervals against
# the tolerance, the permutation null far below them, the two spectra, the
# held-out reconstruction, and the embeddings coloured by the true input x.
# Each embedding is a curve parametrised by the output sin(πx), so it folds
# the interval in two: x and 1 − x (for x > 0) land on the same point, and
# points of different colours share each place on the curve.
fig = report.plot("summary", color_label="input x")
save_or_show()

# %%
# Internal neurons: 2d + 1 = 3 of them determine x
# ------------------------------------------------
# B's last hidden layer depends on x, not only on sin(πx). A's output alone
# cannot predict it; three neurons of A's hidden layers, selected greedily by
# :class:`~skequiv.WhitneyFeatureSelector`, can.
hidden_a = NetworkActivations(data.net_a, layers=data.hidden_layers)
hidden_b = NetworkActivations(data.net_b, layers=(data.hidden_layers[-1],))

output_only = NetworkTransform(source_a=out_a, source_b=hidden_b, random_state=0).fit(X)
selected = NetworkTransform(
    source_a=hidden_a,
    source_b=hidden_b,
    selector=WhitneyFeatureSelector(random_state=0),
    random_state=0,
).fit(X)
to_input = NetworkTransform(
    source_a=hidden_a,
    selector=WhitneyFeatureSelector(random_state=0),
    random_state=0,
).fit(X, data.intrinsic_train[: len(X)])
print(f"A's output -> B's hidden layer:  R² = {output_only.score(X_test):.4f}")
print(
    f"{len(selected.support_)} neurons of A -> B's hidden layer: "
    f"R² = {selected.score(X_test):.4f}"
)
print(
    f"{len(to_input.support_)} neurons of A -> x: "
    f"R² = {to_input.score(X_test, data.intrinsic_test):.4f}"
)

# %%
# The score against the number of selected neurons (one hidden neuron of A
# that is monotonic in x already determines B's hidden layer; the selector
# keeps 2d + 1 = 3), and the input reconstructed from them.
n_input = len(to_input.support_)
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
plot_score_curve(
    None,
    axes[0],
    scores=selected.selector_.scores_,
    target="A's neurons → B's hidden layer",
)
axes[1].scatter(x_test, to_input.predict(X_test).ravel(), s=5)
axes[1].plot([-1, 1], [-1, 1], color="k", lw=1)
axes[1].set_xlabel("input x, true (held out)")
axes[1].set_ylabel(f"input x, reconstructed from {n_input} neurons of A")
axes[1].set_title(f"{n_input} neurons of A → input x")
save_or_show()

# %%
# The output-only transform, by contrast, cannot tell x from 1 − x: both give
# the same sin(πx), while B's hidden unit takes different values on the two
# branches. Its prediction is one value for both, so it misses the truth
# systematically, far off the diagonal — not noise around it. The selected
# neurons of A put every point on the diagonal.
truth = hidden_b.fit(X_test).transform(X_test)
fig, ax = plt.subplots(figsize=(5.5, 4.2), layout="constrained")
n_selected = len(selected.support_)
for transform, label in (
    (output_only, "A's output"),
    (selected, f"{n_selected} neurons of A"),
):
    r2 = transform.score(X_test)
    ax.scatter(
        truth[:, 0],
        transform.predict(X_test)[:, 0],
        s=5,
        label=f"{label} (layer R² {r2:.2f})",
    )
ax.plot(*[np.array([truth[:, 0].min(), truth[:, 0].max()])] * 2, color="k", lw=1)
ax.set_xlabel("B's hidden unit 0, true (held out)")
ax.set_ylabel("B's hidden unit 0, predicted")
ax.set_title("B's hidden layer predicted from A")
ax.legend(title="predicted from")
save_or_show()
