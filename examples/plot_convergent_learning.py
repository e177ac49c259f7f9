"""
=====================================================================
Convergent learning: do two digit classifiers learn the same units?
=====================================================================

Li, Yosinski, Clune, Lipson & Hopcroft (*Convergent Learning*, ICLR 2016)
ask whether two networks trained on the same task from different random
initialisations learn the same units. They align the units at three
granularities: one to one (correlation or mutual information, matched by
semi-matching and by bipartite matching), one to many (each unit of one net
predicted by a sparse combination of units of the other) and many to many
(clusters of units shared by both nets), each against a within-network
baseline.

Here two small ReLU networks learn the 8×8 digits of scikit-learn from two
seeds. For conv layers, pass the ``(n, channels, height, width)``
activations (or ``spatial_shape=`` for flattened ones): the channels are the
units and every (image, position) pair is a sample, as in the paper.
"""

# %%
# Two classifiers from two seeds
# ------------------------------
# :func:`~skequiv.datasets.train_mlp` trains each network on the spot (a few
# seconds on a CPU), here by regression onto one-hot labels, with two hidden
# layers of 64 ReLU units. The seed fixes the initial weights and nothing
# else differs.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skequiv import (
    NetworkActivations,
    NeuronCoclustering,
    NeuronMatching,
    SparseNeuronPrediction,
    plot_coclusters,
    plot_matched_similarity,
    plot_similarity_matrix,
    plot_sparse_prediction_path,
    sparse_prediction_path,
)
from skequiv.datasets import train_mlp
from skequiv.utils import save_or_show

digits = load_digits()
X_train, X_test, y_train, y_test = train_test_split(
    digits.data / 16.0, digits.target, test_size=0.4, random_state=0
)


def train(seed):
    net = train_mlp(
        X_train,
        np.eye(10)[y_train],
        hidden_layer_sizes=(64, 64),
        activation="relu",
        max_epochs=400,
        random_state=seed,
    )
    accuracy = np.mean(
        NetworkActivations(net).fit(X_test).transform(X_test).argmax(1) == y_test
    )
    print(f"seed {seed}: test accuracy {accuracy:.3f}")
    return net


net_a, net_b = train(seed=0), train(seed=1)

# %%
# Activations of the held-out images
# ----------------------------------
# :class:`~skequiv.NetworkActivations` reads both hidden layers (``act_0``
# and ``act_1``, after the ReLU) on the 719 held-out images.
layers = {"hidden 1": "act_0", "hidden 2": "act_1"}
acts = {
    name: tuple(
        NetworkActivations(net, layers=layer).fit(X_test).transform(X_test)
        for net in (net_a, net_b)
    )
    for name, layer in layers.items()
}

# %%
# One to one: matching units
# -----------------------------
# :class:`~skequiv.NeuronMatching` correlates every unit of A with every
# unit of B and matches them, one to one (bipartite) or each to its best
# partner (semi); ``baseline=True`` also matches each net with itself, the
# diagonal excluded: the most similar *other* unit of the same net.
A, B = acts["hidden 1"]
bipartite = NeuronMatching(baseline=True).fit(A, B)
semi = NeuronMatching(assignment="semi").fit(A, B)

fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
plot_similarity_matrix(bipartite, which="a", ax=axes[0])
plot_similarity_matrix(bipartite, order="none", ax=axes[1])
plot_similarity_matrix(bipartite, ax=axes[2])
axes[1].set_title("A vs B, units in their own order")
axes[2].set_title("A vs B, B reordered by bipartite matching")
fig.tight_layout()
save_or_show()

# %%
# Sorted best-match correlations: between the nets (semi and bipartite) and
# within each net. The paper's reading: a unit whose best match in the
# other net beats its best match in its own net has a counterpart there.
ax = plot_matched_similarity(bipartite)
plot_matched_similarity(semi, ax=ax, baseline=False)
save_or_show()

same = np.mean(semi.matching_ == bipartite.matching_)
print(
    f"mean matched correlation: semi {np.mean(semi.match_similarity_):.3f}, "
    f"bipartite {np.mean(bipartite.match_similarity_):.3f}, within-A baseline "
    f"{np.mean(bipartite.baseline_similarity_a_):.3f}; same partner for "
    f"{same:.0%} of the units"
)

# %%
# Dead units
# ----------
# A few ReLU units of the second hidden layer never fire on these images.
# Their correlation is undefined; skequiv warns once per network and gives
# them similarity 0, so they are matched last. The warning is silenced below
# now that we know.
import warnings

from skequiv.correspondence import ConstantUnitWarning

NeuronMatching().fit(*acts["hidden 2"])
warnings.simplefilter("ignore", ConstantUnitWarning)

# %%
# Per layer, as in the paper's figure of mean matched correlation per layer;
# the matchings are also scored on held-out images (fit on one half of the
# images, :meth:`~skequiv.NeuronMatching.score` on the other), and by mutual
# information (nats, 10 equal-mass bins with the ReLU zeros in a bin of
# their own, Miller–Madow corrected).
half = len(X_test) // 2
rows = []
for name, (A_l, B_l) in acts.items():
    bip = NeuronMatching(baseline=True).fit(A_l, B_l)
    sem = NeuronMatching(assignment="semi").fit(A_l, B_l)
    held = NeuronMatching().fit(A_l[:half], B_l[:half])
    mi = NeuronMatching("mutual_information").fit(A_l, B_l)
    agree = np.mean(mi.matching_ == bip.matching_)
    rows.append(
        (
            name,
            np.mean(sem.match_similarity_),
            np.mean(bip.match_similarity_),
            np.mean(bip.baseline_similarity_a_),
            held.score(A_l[half:], B_l[half:]),
            agree,
        )
    )
    print(
        f"{name}: semi {rows[-1][1]:.3f}  bipartite {rows[-1][2]:.3f}  "
        f"within-A {rows[-1][3]:.3f}  held-out bipartite {rows[-1][4]:.3f}  "
        f"MI and correlation matchings agree on {agree:.0%}"
    )

fig, ax = plt.subplots(figsize=(5.5, 3.8))
positions = np.arange(len(rows))
for offset, column, label in (
    (-0.25, 1, "semi-matching"),
    (0.0, 2, "bipartite matching"),
    (0.25, 3, "within-net baseline"),
):
    ax.bar(positions + offset, [r[column] for r in rows], width=0.25, label=label)
ax.set_xticks(positions, [r[0] for r in rows])
ax.set_ylabel("mean matched correlation")
# a correlation stops at 1: the band above it holds the legend, clear of the bars
ax.set_ylim(0, 1.22)
ax.set_yticks(np.linspace(0, 1, 6))
ax.set_title("One-to-one alignment per layer")
ax.legend(loc="upper center", ncols=3, fontsize="small")
save_or_show()

# %%
# One to many: sparse prediction
# ------------------------------
# Each unit of B is predicted from all units of A by a LASSO on
# standardised units; :func:`~skequiv.sparse_prediction_path` sweeps the
# penalty and reports the held-out error (5 folds over images) against the
# mean number of units of A each unit of B uses.
path = sparse_prediction_path(A, B, alphas=12, cv=5)
ax = plot_sparse_prediction_path(path)
save_or_show()

sparse = SparseNeuronPrediction(alpha=0.02)
sparse.fit(A[:half], B[:half])
print(
    f"alpha=0.02: {sparse.n_connections_.mean():.1f} connections per unit "
    f"(median {np.median(sparse.n_connections_):.0f}), held-out R² "
    f"{sparse.score(A[half:], B[half:]):.3f}"
)

# %%
# Many to many: shared groups of units
# ------------------------------------
# :class:`~skequiv.NeuronCoclustering` clusters the 128 units of both nets
# together by spectral clustering of their absolute correlations. Clusters
# that hold units of both nets are subspaces the two nets share; the strip
# on top marks each unit's network.
cocluster = NeuronCoclustering(n_clusters=12, random_state=0)
cocluster.fit(A, B)
plot_coclusters(cocluster)
save_or_show()

mixed = np.all(cocluster.cluster_sizes_ > 0, axis=1)
print(
    f"{mixed.sum()} of 12 clusters hold units of both nets; held-out "
    f"agreement of their cluster means: "
    f"{cocluster.fit(A[:half], B[:half]).score(A[half:], B[half:]):.3f}"
)
