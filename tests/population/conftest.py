"""Fixtures: small populations of torch networks made in milliseconds.

Each network is ``inputs -> width tanh units -> outputs``; the hidden weights
are random (seeded) and the output layer is the least-squares fit of a target
function, so networks of different seeds compute the same function with
different hidden units, and no gradient training is needed.
"""

import copy
from types import SimpleNamespace

import numpy as np
import pytest
import torch


def fitted_net(f, X, seed, width=32):
    """A network whose output fits ``f(X)`` by least squares on random tanh units."""
    rng = np.random.default_rng(seed)
    W = rng.normal(scale=1.5, size=(width, X.shape[1]))
    b = rng.uniform(-1, 1, size=width)
    H = np.c_[np.tanh(X @ W.T + b), np.ones(len(X))]
    coef = np.linalg.lstsq(H, f(X), rcond=None)[0]
    net = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], width),
        torch.nn.Tanh(),
        torch.nn.Linear(width, coef.shape[1]),
    )
    with torch.no_grad():
        net[0].weight.copy_(torch.as_tensor(W))
        net[0].bias.copy_(torch.as_tensor(b))
        net[2].weight.copy_(torch.as_tensor(coef[:-1].T))
        net[2].bias.copy_(torch.as_tensor(coef[-1]))
    return net


def permuted(net, seed):
    """The same function with its hidden units in another order."""
    rng = np.random.default_rng(seed)
    order = torch.as_tensor(rng.permutation(net[0].out_features))
    new = copy.deepcopy(net)
    with torch.no_grad():
        new[0].weight.copy_(net[0].weight[order])
        new[0].bias.copy_(net[0].bias[order])
        new[2].weight.copy_(net[2].weight[:, order])
    return new


def weight_average(nets):
    """Naive model averaging: the mean of the networks' parameters."""
    mean = copy.deepcopy(nets[0])
    with torch.no_grad():
        params = (n.parameters() for n in nets)
        for p, *qs in zip(mean.parameters(), *params, strict=True):
            p.copy_(sum(qs) / len(qs))
    return mean


def outputs(net, X):
    with torch.no_grad():
        return net(torch.as_tensor(X, dtype=torch.float32)).numpy().astype(np.float64)


@pytest.fixture(scope="session")
def nets():
    """The helpers above, for tests that build populations."""
    return SimpleNamespace(
        fitted_net=fitted_net,
        permuted=permuted,
        weight_average=weight_average,
        outputs=outputs,
    )
