"""
==================================================
(b) Two networks learning a planar vector field
==================================================

Experiment (b) of Bertalan, Dietrich & Kevrekidis (Chaos 34, 2024). Two MLPs of
different widths and seeds learn the Duffing vector field
(x, v) ↦ (v, x − x³ − 0.2v) on [-1, 1]². The inputs form a d = 2 dimensional
manifold, so by Whitney's theorem 2d + 1 = 5 generic neurons determine the
input — while the output, which is not injective, does not.
"""

# %%
# Two trained networks and their equivalence
# ------------------------------------------
import matplotlib.pyplot as plt

from skequiv import (
    NetworkActivations,
    NetworkTransform,
    WhitneyFeatureSelector,
    equivalence_report,
)
from skequiv.datasets import load_experiment
from skequiv.equivalence import plot_score_curve
from skequiv.utils import save_or_show

data = load_experiment("vector_field", random_state=0)
print(data.DESCR)
X, X_test = data.X_train[:1000], data.X_test
inputs_test = data.intrinsic_test

out_a = NetworkActivations(data.net_a)
out_b = NetworkActivations(data.net_b)
report = equivalence_report(
    out_a,
    out_b,
    X,
    candidates="intrinsic",
    n_permutations=49,
    color=X[:, 0],
    random_state=0,
)
print(report)

# %%
# The embeddings of the two outputs, coloured by the first input coordinate,
# and the held-out reconstruction of each output from the other.
report.plot("embeddings", color_label="first input coordinate")
report.plot("reconstruction")
save_or_show()

# %%
# Five neurons determine the input
# --------------------------------
# The Duffing field is not injective (x − x³ takes some values three times),
# so A's output does not determine B's hidden layer; five neurons of A's last
# hidden layer, chosen by greedy forward selection, do.
hidden_a = NetworkActivations(data.net_a, layers=(data.hidden_layers[-1],))
hidden_b = NetworkActivations(data.net_b, layers=(data.hidden_layers[-1],))
X_sel = data.X_train[:800]

output_only = NetworkTransform(source_a=out_a, source_b=hidden_b, random_state=0).fit(
    X_sel
)
selected = NetworkTransform(
    source_a=hidden_a,
    source_b=hidden_b,
    selector=WhitneyFeatureSelector(random_state=0),
    random_state=0,
).fit(X_sel)
to_input = NetworkTransform(
    source_a=hidden_a,
    selector=WhitneyFeatureSelector(random_state=0),
    random_state=0,
).fit(X_sel, data.intrinsic_train[:800])
print(f"A's output -> B's hidden layer: R² = {output_only.score(X_test):.4f}")
print(
    f"{len(selected.support_)} neurons -> B's hidden layer: "
    f"R² = {selected.score(X_test):.4f}"
)
print(
    f"{len(to_input.support_)} neurons -> (x, v): "
    f"R² = {to_input.score(X_test, inputs_test):.4f}"
)

# %%
# Score against the number of neurons, and the input reconstructed from the
# selected ones.
predicted = to_input.predict(X_test)
fig, axes = plt.subplots(1, 3, figsize=(14, 4), layout="constrained")
plot_score_curve(
    None,
    axes[0],
    scores=selected.selector_.scores_,
    target="A's neurons → B's hidden layer",
)
for j, name in enumerate(("x", "v")):
    axes[j + 1].scatter(inputs_test[:, j], predicted[:, j], s=4)
    axes[j + 1].plot([-1, 1], [-1, 1], color="k", lw=1)
    axes[j + 1].set_xlabel(f"input {name}, true (held out)")
    axes[j + 1].set_ylabel(
        f"input {name}, reconstructed from {len(to_input.support_)} neurons"
    )
    axes[j + 1].set_title(f"{len(to_input.support_)} neurons of A → input {name}")
save_or_show()
