"""The disentangling network g of Liang et al. and its exact path decomposition.

Imported only when torch is present (from :class:`KnowledgeIsomorphism.fit`).
"""

import math

from skequiv.utils._torch import import_torch

torch = import_torch()
F = torch.nn.functional

# initial gate value: small, so that the least-squares order-0 path starts
# close to its optimum and the fuzzier paths grow only where they pay off
_INITIAL_GATE = 0.1


class IsomorphismNet(torch.nn.Module):
    """g(x) = W_{K-1}(x + p_{K-2}·ReLU(W_{K-2}(… x + p_0·ReLU(W_0 x) …))), biases aside.

    ``x`` are A's standardised features, (n, C) or (n, C, H, W), padded
    with zero channels to the hidden width. The hidden maps W_0 … W_{K-2}
    have unit-norm filters (weight normalisation), so a gate cannot be
    traded against a weight's scale and the penalty on the gates means
    something; the output map (→ C_B) is free. Every map is a convolution
    with "same" padding for conv features and a dense layer otherwise.
    """

    def __init__(self, n_orders, n_in, n_hidden, n_out, kernel_size, conv, generator):
        super().__init__()
        self.conv = conv
        self.n_in, self.n_hidden = n_in, n_hidden
        self.kernel_size = kernel_size if conv else 1
        k = self.kernel_size
        shape = (n_hidden, n_hidden, k, k) if conv else (n_hidden, n_hidden)
        fan_in = math.prod(shape[1:])
        self.hidden_weights = torch.nn.ParameterList(
            torch.nn.Parameter(
                torch.randn(shape, generator=generator) / math.sqrt(fan_in)
            )
            for _ in range(n_orders - 1)
        )
        self.hidden_biases = torch.nn.ParameterList(
            torch.nn.Parameter(torch.zeros(n_hidden)) for _ in range(n_orders - 1)
        )
        out_shape = (n_out, *shape[1:])
        self.out_weight = torch.nn.Parameter(torch.zeros(out_shape))
        self.out_bias = torch.nn.Parameter(torch.zeros(n_out))
        logit = math.log(_INITIAL_GATE / (1 - _INITIAL_GATE))
        self.gate_logits = torch.nn.Parameter(torch.full((n_orders - 1,), logit))

    @property
    def gates(self):
        return torch.sigmoid(self.gate_logits)

    def _map(self, x, weight, bias=None):
        if self.conv:
            return F.conv2d(x, weight, bias, padding=self.kernel_size // 2)
        return F.linear(x, weight, bias)

    def _hidden_weight(self, k):
        weight = self.hidden_weights[k]
        norm = weight.flatten(1).norm(dim=1).clamp_min(1e-12)
        return weight / norm.view(-1, *([1] * (weight.ndim - 1)))

    def _channel(self, v):
        """A per-channel vector shaped to broadcast against the features."""
        return v.view(-1, 1, 1) if self.conv else v

    def embed(self, x):
        """A's channels followed by zero channels up to the hidden width.

        The zero channels carry nothing on the order-0 path, so the output
        map can read the fuzzier paths there without mixing A's own
        channels into them (with the authors' width, W_K sees both alike).
        """
        if self.n_hidden == self.n_in:
            return x
        zeros = x.new_zeros((x.shape[0], self.n_hidden - self.n_in, *x.shape[2:]))
        return torch.cat([x, zeros], dim=1)

    def forward(self, x):
        x = self.embed(x)
        gates = self.gates
        z = x
        for k in range(len(self.hidden_weights)):
            h = self._map(z, self._hidden_weight(k), self.hidden_biases[k])
            z = x + gates[k] * F.relu(h)
        return self._map(z, self.out_weight, self.out_bias)

    def decompose(self, x):
        """Components of g(x) by the number of ReLUs they pass, (K, n, ...).

        With the ReLU masks of this forward pass fixed, g is linear along
        each path from x to the output, and the paths group by how many
        ReLUs they cross. A hidden bias enters with the fresh copy of x at
        its layer, so every component is an affine map of x followed by
        masks, and the order-0 component is exactly affine in x.
        """
        x = self.embed(x)
        gates = self.gates
        n_orders = len(self.hidden_weights) + 1
        parts = torch.zeros((n_orders, *x.shape), dtype=x.dtype, device=x.device)
        parts[0] = x
        for k in range(n_orders - 1):
            h = self._stacked_map(parts[: k + 1], self._hidden_weight(k))
            h[0] = h[0] + self._channel(self.hidden_biases[k])
            mask = h.sum(0) > 0
            parts[1 : k + 2] = gates[k] * mask * h
        out = self._stacked_map(parts, self.out_weight)
        out[0] = out[0] + self._channel(self.out_bias)
        return out

    def _stacked_map(self, parts, weight):
        """``weight`` applied to each component at once (no bias: maps are linear)."""
        flat = self._map(parts.flatten(0, 1), weight)
        return flat.view(parts.shape[0], parts.shape[1], *flat.shape[1:])


# regressor elements per chunk of the least-squares start (bounds memory)
_LSTSQ_CHUNK_ELEMENTS = 2**22


def init_output_least_squares(net, x, y):
    """Set the output map to the ridge-regularised least-squares map x → y.

    That is the best order-0 path on its own: training starts where a
    linear model ends. ``x`` and ``y`` are centred, so the bias stays 0.
    Normal equations accumulated in float64 in chunks; for conv features
    the regressors are the k×k patches of x at every position.
    """
    per_sample = math.prod(x.shape[1:]) * net.kernel_size**2
    chunk_size = max(1, _LSTSQ_CHUNK_ELEMENTS // per_sample)
    gram, cross = None, None
    for start in range(0, x.shape[0], chunk_size):
        patches, target = _regression_rows(
            net, x[start : start + chunk_size], y[start : start + chunk_size]
        )
        g, c = patches.T @ patches, patches.T @ target
        gram, cross = (g, c) if gram is None else (gram + g, cross + c)
    # a relative ridge keeps dead or duplicated channels of A solvable
    ridge = 1e-8 * torch.trace(gram) / gram.shape[0] + 1e-12
    gram.diagonal().add_(ridge)
    coef = torch.linalg.solve(gram, cross)
    with torch.no_grad():
        net.out_weight.zero_()
        net.out_weight[:, : net.n_in] = coef.T.reshape(
            net.out_weight[:, : net.n_in].shape
        )


def _regression_rows(net, x, y):
    if net.conv:
        k = net.kernel_size
        patches = F.unfold(x, k, padding=k // 2)  # (n, C·k·k, H·W)
        patches = patches.transpose(1, 2).flatten(0, 1)
        target = y.flatten(2).transpose(1, 2).flatten(0, 1)
    else:
        patches, target = x, y
    return patches.double(), target.double()
