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
X, X_test, x_test = data.X_train[:400], data.X_test, data.intrinsic_test[:, 0]

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
# Spectra side by side, embeddings coloured by the true input x, and the
# held-out reconstruction. The embedding of each output folds the interval in
# two: x and 1 − x (for x > 0) give the same sin(πx).
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
).fit(X, data.intrinsic_train[:400])
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
# The score against the number of selected neurons, and the input
# reconstructed from them.
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
plot_score_curve(
    None,
    axes[0],
    scores=selected.selector_.scores_,
    target="A's neurons → B's hidden layer",
)
axes[1].scatter(x_test, to_input.predict(X_test).ravel(), s=5)
axes[1].plot([-1, 1], [-1, 1], color="k", lw=1)
axes[1].set_xlabel("input x")
axes[1].set_ylabel("x reconstructed from 3 neurons of A")
save_or_show()

# %%
# The output-only transform, by contrast, averages the two branches x and
# 1 − x: its predictions of B's hidden units scatter around the truth.
truth = hidden_b.fit(X_test).transform(X_test)
fig, ax = plt.subplots(figsize=(5, 4))
ax.scatter(truth[:, 0], output_only.predict(X_test)[:, 0], s=5, label="output only")
ax.scatter(truth[:, 0], selected.predict(X_test)[:, 0], s=5, label="3 neurons")
ax.plot(*[np.array([truth[:, 0].min(), truth[:, 0].max()])] * 2, color="k", lw=1)
ax.set_xlabel("B's hidden unit 0 (true)")
ax.set_ylabel("predicted")
ax.legend()
save_or_show()
