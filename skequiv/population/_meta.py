"""The DYNAMO meta-model: an MLP or small CNN trunk conditioned on a model embedding.

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


def _conv(torch, c_in, c_out, generator):
    """A 3 × 3 'same' ``Conv2d`` with PyTorch's default init, from ``generator``."""
    layer = torch.nn.Conv2d(c_in, c_out, 3, padding=1)
    bound = 1 / math.sqrt(c_in * 9)
    with torch.no_grad():
        layer.weight.copy_(_uniform(torch, layer.weight.shape, bound, generator))
        layer.bias.copy_(_uniform(torch, (c_out,), bound, generator))
    return layer


def _film(torch, embedding_dim, widths, generator):
    """One pair of FiLM maps θ → (γ, β) per trunk block.

    Small weights: at the start every embedding gives nearly the same
    network, and the embeddings spread as training separates the models.
    """
    return [
        torch.nn.ModuleList(
            _linear(torch, embedding_dim, w, generator, scale=0.1) for w in widths
        )
        for _ in ("gamma", "beta")
    ]


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
            self.gammas, self.betas = _film(
                torch, embedding_dim, hidden_layers, generator
            )
            self.head = _linear(torch, hidden_layers[-1], n_outputs, generator)
            # units of each block's hidden state, for the readouts
            self.widths = list(hidden_layers)

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


def build_cnn_meta_model(
    image_shape, channels, hidden_layers, n_outputs, embedding_dim, generator
):
    """A small CNN trunk with FiLM per channel, then FiLM dense layers and a head.

    Convolutional block l: ``h_l = tanh(γ_l(θ) ⊙ conv_l(pool(h_{l-1})) +
    β_l(θ))`` with 3 × 3 'same' convolutions, γ and β one value per channel
    (broadcast over the image), and a 2 × 2 average pool before every block
    after the first while both image sides are at least 4. The last map is
    flattened into dense blocks as in :func:`build_meta_model`. Inputs arrive
    flattened (the emulated model's interface) and are reshaped to
    ``image_shape`` = (channels, height, width). Hidden states are returned
    flattened, one per block.
    """
    torch = import_torch()
    plan = _cnn_plan(image_shape, channels)

    class CNNMetaModel(torch.nn.Module):
        """Maps (flattened images, embedding) to (outputs, list of hidden states)."""

        def __init__(self):
            super().__init__()
            c_in = [image_shape[0], *channels[:-1]]
            self.convs = torch.nn.ModuleList(
                _conv(torch, a, b, generator)
                for a, b in zip(c_in, channels, strict=True)
            )
            flat = plan[-1][1]
            sizes = [flat, *hidden_layers]
            self.blocks = torch.nn.ModuleList(
                _linear(torch, a, b, generator) for a, b in itertools.pairwise(sizes)
            )
            self.conv_gammas, self.conv_betas = _film(
                torch, embedding_dim, channels, generator
            )
            self.gammas, self.betas = _film(
                torch, embedding_dim, hidden_layers, generator
            )
            self.head = _linear(torch, sizes[-1], n_outputs, generator)
            # units of each block's hidden state, for the readouts
            self.widths = [units for _, units in plan] + list(hidden_layers)

        def forward(self, x, theta):
            hidden = []
            h = x.reshape(x.shape[0], *image_shape)
            for conv, (pool, _), gamma, beta in zip(
                self.convs, plan, self.conv_gammas, self.conv_betas, strict=True
            ):
                if pool:
                    h = torch.nn.functional.avg_pool2d(h, 2)
                scale = (1 + gamma(theta))[:, :, None, None]
                h = torch.tanh(scale * conv(h) + beta(theta)[:, :, None, None])
                hidden.append(h.flatten(1))
            h = h.flatten(1)
            for block, gamma, beta in zip(
                self.blocks, self.gammas, self.betas, strict=True
            ):
                h = torch.tanh((1 + gamma(theta)) * block(h) + beta(theta))
                hidden.append(h)
            return self.head(h), hidden

    return CNNMetaModel()


def _cnn_plan(image_shape, channels):
    """Per convolutional block: (pool before it?, units of its output map)."""
    _, height, width = image_shape
    plan = []
    for block, c in enumerate(channels):
        pool = block > 0 and min(height, width) >= 4
        if pool:
            height, width = height // 2, width // 2
        plan.append((pool, c * height * width))
    return plan


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
