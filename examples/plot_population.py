"""
=========================================================================
A population of networks: which compute the same thing, and their average
=========================================================================

Researchers train tens of seeds, widths and checkpoints and ask which of
them compute the same thing. Here fifteen small networks learn three
functions of the plane, four seeds each, plus three copies of one network
whose hidden units are permuted (the same function, other weights). We

1. compute the K × K matrices of a similarity (linear CKA of the hidden
   layer) and of the directed equivalence score (held-out R² of the
   transform from one network's outputs to another's), each network's work
   done once;
2. cluster the networks from the matrix, and show it ordered by cluster;
3. embed the population with DYNAMO (:class:`~skequiv.population.ModelEmbedding`,
   Cotler et al. 2023): one meta-network emulates all fifteen, driven by a
   two-dimensional embedding per model;
4. average the permuted copies at their mean embedding, an operable network
   that still computes their function, where naively averaging their
   weights does not.
"""

# %%
# Fifteen networks on three tasks
# -------------------------------
# :func:`~skequiv.datasets.train_mlp` trains each network on the spot (one
# hidden layer of 16 tanh units, a second or two each on a CPU).
import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.linear_model import Ridge
from sklearn.metrics import adjusted_rand_score, r2_score

from skequiv import NetworkTransform
from skequiv.datasets import train_mlp
from skequiv.population import (
    EquivalenceScore,
    ModelEmbedding,
    cluster_population,
    pairwise_similarity,
    plot_model_embedding,
    plot_population_matrix,
)
from skequiv.utils import save_or_show

rng = np.random.default_rng(0)
X = rng.uniform(-1, 1, size=(600, 2))
tasks = {
    "sine": np.sin(np.pi * X[:, 0]),
    "product": 2 * X[:, 0] * X[:, 1],
    "ring": np.exp(-4 * np.sum(X**2, axis=1)),
}
nets, task_of, names = [], [], []
for task, y in tasks.items():
    for seed in range(4):
        net = train_mlp(
            X, y, hidden_layer_sizes=(16,), max_epochs=300, random_state=seed
        )
        nets.append(net)
        task_of.append(task)
        names.append(f"{task}{seed}")


def permuted(net, seed):
    """The same network with its hidden units in another order."""
    order = torch.as_tensor(np.random.default_rng(seed).permutation(16))
    new = copy.deepcopy(net)
    with torch.no_grad():
        new.hidden_0.weight.copy_(net.hidden_0.weight[order])
        new.hidden_0.bias.copy_(net.hidden_0.bias[order])
        new.output.weight.copy_(net.output.weight[:, order])
    return new


copies = [permuted(nets[0], seed) for seed in (1, 2, 3)]
nets += copies
task_of += ["sine"] * 3
names += ["sine0 perm1", "sine0 perm2", "sine0 perm3"]
print(f"{len(nets)} networks")

# %%
# Pairwise matrices
# -----------------
# Linear CKA compares the hidden layers (symmetric, 1 on the diagonal). The
# equivalence score is directed: entry [i, j] is the held-out R² of a map
# from network i's outputs to network j's. A cheap ridge-regression transform
# keeps the 18 × 18 = 324 fits fast; the default transform is the paper's.
cka = pairwise_similarity(nets, X, measure="linear_cka", layers="act_0")
equivalence = pairwise_similarity(
    nets,
    X,
    measure=EquivalenceScore(
        NetworkTransform(embedding="passthrough", regressor=Ridge())
    ),
)
truth = np.unique(task_of, return_inverse=True)[1]
clusters = cluster_population(cka, 3)
print(
    f"CKA clusters against the tasks: ARI = {adjusted_rand_score(truth, clusters):.2f}"
)

fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
plot_population_matrix(
    cka, clusters=clusters, names=names, title="linear CKA", ax=axes[0]
)
plot_population_matrix(
    equivalence,
    clusters=clusters,
    names=names,
    title="equivalence: row → column",
    label="held-out R², row → column",
    ax=axes[1],
)
fig.tight_layout()
save_or_show()

# %%
# Both matrices separate the three tasks. CKA also shows how alike the
# hidden layers of different tasks are (all read the same two inputs); the
# equivalence score is near 1 within a task (a ridge map from one network's
# output to another's works) and far below the tolerance across tasks: at
# most about 0.6, and near 0 from the ring and product networks to the sine
# ones (no map from a product of x and y to a sine of x can exist). The
# permuted copies are the same network to both: CKA is invariant to the order
# of units.

# %%
# DYNAMO: one meta-network emulating all of them
# ----------------------------------------------
# Every model gets a two-dimensional embedding; the meta-network emulates its
# output and (through a per-model linear readout of a PCA) its hidden layer.
embedding = ModelEmbedding(
    embedding_dim=2, layers="act_0", max_epochs=60, learning_rate=1e-2, random_state=0
).fit(nets, X)
print("emulation R² of the outputs:", np.round(embedding.output_r2_, 3))
plot_model_embedding(
    embedding, color=np.array(task_of), color_label="task", title="model embeddings"
)
save_or_show()

# %%
# The embeddings cluster by task; the permuted copies sit on top of their
# original. Only the arrangement is meaningful: any invertible map of the
# embedding space gives the same emulation.
labels = cluster_population(embedding.pairwise_distances(), 3, kind="distance")
ari = adjusted_rand_score(truth, labels)
print(f"embedding clusters against the tasks: ARI = {ari:.2f}")

# %%
# Averaging networks
# ------------------
# The meta-network at the mean embedding of the original and its permuted
# copies is an ordinary torch module that computes their function (R² about
# 0.999 on this run). The mean of their weights is a different network, since
# the hidden units do not correspond (R² about 0.87 here; far lower for
# networks with larger weights, see ``tests/population``).
x = torch.as_tensor(X, dtype=torch.float32)
with torch.no_grad():
    target = nets[0](x).numpy()
    averaged = embedding.average([0, 12, 13, 14])(x).numpy()
    naive = copy.deepcopy(nets[0])
    family = [nets[i].parameters() for i in (0, 12, 13, 14)]
    for p, *qs in zip(naive.parameters(), *family, strict=True):
        p.copy_(sum(qs) / 4)
    naive_out = naive(x).numpy()
print(f"R² of the DYNAMO average: {r2_score(target, averaged):.3f}")
print(f"R² of the naive weight average: {r2_score(target, naive_out):.3f}")
