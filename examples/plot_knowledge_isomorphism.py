"""
===========================================================================
Knowledge isomorphism: how much of one CNN's knowledge does another hold?
===========================================================================

Liang, Li, Li, Wang & Zhang (*Knowledge consistency between neural networks
and beyond*, ICLR 2020; arXiv 1908.01581 as *Knowledge isomorphism between
neural networks*) reconstruct a layer of network B from the same layer of
network A with a small network whose output splits exactly into components
of increasing "fuzziness": order 0 is a linear map of A's features, order 1
passes through one ReLU, order 2 through two. The share of B's variance each
component carries says how much of B's knowledge A holds exactly, only in
fuzzier forms, or not at all (the unexplained residual).

Here B is a small CNN trained on scikit-learn's 8×8 digits. A is either a
second CNN trained on the same task from another seed (and with other widths),
or the same architecture trained on *shuffled* labels, which memorises the
training images and learns nothing that generalises. Layer by layer, we ask
how much of B's features each A holds, on held-out images.
"""

# %%
# Three networks
# --------------
# :func:`~skequiv.datasets.load_experiment` trains the CNNs on the spot (a few
# seconds each on a CPU). ``net_b`` is the same network in both experiments:
# it depends only on its task, seed and settings.
import matplotlib.pyplot as plt
import numpy as np

from skequiv import KnowledgeIsomorphism, NetworkActivations, plot_variance_by_order
from skequiv.datasets import load_experiment
from skequiv.utils import save_or_show

same = load_experiment("digits", architecture="cnn")
shuffled = load_experiment(
    "digits", architecture="cnn", task="shuffled", task_b="digit"
)
print(same.DESCR)
print(f"net_a on shuffled labels: held-out accuracy {shuffled.test_score_a:.3f}")

# %%
# Features of the same images
# ---------------------------
# :class:`~skequiv.NetworkActivations` flattens each layer per image; the conv
# layers are reshaped back to (images, channels, 8, 8), so that g works with
# 3×3 convolutions over each map. As in the paper, the conv features are
# taken before their ReLU. The two conv layers differ in width between the
# nets (8 and 12 channels, then 16 and 16); the dense layer has 64 and 48
# units.
layers = ("conv_0", "conv_1", "dense")


def features(net, layer, X):
    acts = NetworkActivations(net, layers=layer).fit(X)
    values = acts.transform(X)
    shape = acts.layer_shapes_[layer]
    return values.reshape(len(X), *shape)


pairs = {"same task": same.net_a, "shuffled labels": shuffled.net_a}
profiles, labels = [], []
for layer in layers:
    B_train = features(same.net_b, layer, same.X_train)
    B_test = features(same.net_b, layer, same.X_test)
    for name, net_a in pairs.items():
        A_train = features(net_a, layer, same.X_train)
        A_test = features(net_a, layer, same.X_test)
        # 60 epochs bound the run time; the validation loss has flattened by then
        model = KnowledgeIsomorphism(max_epochs=60, random_state=0)
        model.fit(A_train, B_train)
        profile = model.variance_profile(A_test, B_test)
        profiles.append(profile)
        labels.append(f"{layer}\n{name}")
        print(
            f"{layer:7s} {name:16s} held-out R² {profile.score:.3f}  "
            f"by order {np.round(profile.variance_by_order, 3)}  "
            f"unexplained {profile.unexplained_variance:.3f}  "
            f"gates {np.round(model.gates_, 3)}"
        )

# %%
# The decomposition, layer by layer
# ---------------------------------
# Each bar stacks the held-out variance of B's features carried by each
# order, over the variance of B's features, with the unexplained part on
# top. The components are paths through one network and are not orthogonal,
# so a bar need not reach exactly 1.
ax = plot_variance_by_order(profiles, labels=labels)
ax.set_title("How much of net B's features net A holds")
plt.tight_layout()
save_or_show()

# %%
# Reading the figure
# ------------------
# The first conv layer of any two digit CNNs is a bank of local edge and
# blob filters applied to the same pixels, so A holds almost all of B's
# first-layer features linearly, whatever A was trained on. Deeper, the net
# that memorised shuffled labels holds less of B's knowledge: the unexplained
# share grows layer by layer and is largest at the dense layer, several times
# that of the second digit net. The fuzzy orders carry little for either
# pair: what the shuffled net does not hold linearly, it mostly does not hold
# at all. The gate penalty ``alpha`` decides what counts as "fuzzy enough to
# be worth it": report it with every result.
