"""The DYNAMO meta-model: an MLP trunk conditioned on a model embedding by FiLM.

Torch is imported by the functions that build modules, so that importing
:mod:`skequiv.population` does not import it.
"""

import itertools
import math

from skequiv.utils._torch import import_torch


def _uniform(torch, shape, bound, generator):
    return (torch.rand(shape, generator=generator, dtype=torch.float32) * 2 - 1) * bound


def _linear(torch, n_in, n_out, generator, *, scale=1.0):
    """A ``Linear`` with PyTorch's default initialisation, drawn from ``generator``."""
    layer = torch.nn.Linear(n_in, n_out)
    bound = scale / math.sqrt(n_in)
    with torch.no_grad():
        layer.weight.copy_(_uniform(torch, (n_out, n_in), bound, generator))
        layer.bias.copy_(_uniform(torch, (n_out,), bound, generator))
    return layer


def build_meta_model(n_inputs, hidden_layers, n_outputs, embedding_dim, generator):
    """The trunk: ``h_l = tanh(γ_l(θ) ⊙ (A_l h_{l-1}) + β_l(θ))``, then a linear head.

    ``γ_l(θ) = 1 + G_l θ`` and ``β_l(θ) = B_l θ`` (feature-wise linear
    modulation, FiLM): the embedding scales and shifts every hidden unit, so
    one set of weights emulates a whole population.
    """
    torch = import_torch()

    class MetaModel(torch.nn.Module):
        """Maps (inputs, embedding) to (outputs, list of hidden states)."""

        def __init__(self):
            super().__init__()
            sizes = [n_inputs, *hidden_layers]
            self.blocks = torch.nn.ModuleList(
                _linear(torch, a, b, generator) for a, b in itertools.pairwise(sizes)
            )
            # small FiLM weights: at the start every embedding gives nearly
            # the same network, and the embeddings spread as training
            # separates the models
            self.gammas = torch.nn.ModuleList(
                _linear(torch, embedding_dim, b, generator, scale=0.1)
                for b in hidden_layers
            )
            self.betas = torch.nn.ModuleList(
                _linear(torch, embedding_dim, b, generator, scale=0.1)
                for b in hidden_layers
            )
            self.head = _linear(torch, hidden_layers[-1], n_outputs, generator)

        def forward(self, x, theta):
            hidden = []
            h = x
            for block, gamma, beta in zip(
                self.blocks, self.gammas, self.betas, strict=True
            ):
                h = torch.tanh((1 + gamma(theta)) * block(h) + beta(theta))
                hidden.append(h)
            return self.head(h), hidden

    return MetaModel()


def build_emulated_model(meta_model, theta, input_scaling, output_scaling):
    """An operable network: the meta-model at one fixed embedding ``theta``.

    Maps inputs (any per-sample shape; flattened) to the emulated outputs in
    the population's own units (logits for classifiers).
    """
    torch = import_torch()

    class EmulatedModel(torch.nn.Module):
        """The meta-model at a fixed model embedding; ``forward(x)`` → outputs."""

        def __init__(self):
            super().__init__()
            self.meta_model = meta_model
            self.register_buffer("theta", torch.as_tensor(theta, dtype=torch.float32))
            for name, value in {**input_scaling, **output_scaling}.items():
                self.register_buffer(name, torch.as_tensor(value, dtype=torch.float32))

        def forward(self, x):
            x = x.reshape(x.shape[0], -1).to(self.theta.dtype)
            x = (x - self.input_mean) / self.input_scale
            theta = self.theta.expand(x.shape[0], -1)
            out, _ = self.meta_model(x, theta)
            return out * self.output_scale + self.output_mean

    return EmulatedModel().eval()
