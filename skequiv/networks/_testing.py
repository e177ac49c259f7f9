"""Small torch modules for tests and scikit-learn's common checks.

Importing this module imports torch; the library itself never imports it.
"""

import torch


class AnyWidthNet(torch.nn.Module):
    """A network that accepts any number of input features.

    ``hidden`` is an elementwise ``tanh`` (as wide as the input) and the output
    has three fixed features, so scikit-learn's common checks, which feed data
    of varying width, can run a fitted network.
    """

    def __init__(self):
        super().__init__()
        self.hidden = torch.nn.Tanh()
        self.scale = torch.nn.Parameter(torch.tensor([0.5, 1.0, 2.0]))

    def forward(self, x):
        h = self.hidden(x)
        features = torch.stack([h.mean(1), (h * h).mean(1), h[:, 0]], dim=1)
        return features * self.scale
