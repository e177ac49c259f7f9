"""Compare two of your own models: the script of docs/quickstart.rst.

Run it from any folder (it writes the saved models, the inputs and the reports
there); tests/docs/test_quickstart.py runs it and checks what it prints.
"""

# [models]
import torch

from skequiv.datasets import make_scalar_task


def mlp(width):
    """Any torch.nn.Module works; this is a small one with named layers."""
    return torch.nn.Sequential(
        torch.nn.Linear(1, width),
        torch.nn.Tanh(),
        torch.nn.Linear(width, width),
        torch.nn.Tanh(),
        torch.nn.Linear(width, 1),
    )


def train(model, X, y, seed):
    """Stands in for your own training code."""
    generator = torch.Generator().manual_seed(seed)
    for parameter in model.parameters():  # seeded initial weights
        torch.nn.init.normal_(parameter, std=0.5, generator=generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    X = torch.as_tensor(X, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.float32)
    for _ in range(300):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(X), y)
        loss.backward()
        optimizer.step()
    return model.eval()


X, y = make_scalar_task(300, function="sine", random_state=0)  # y = sin(πx)
model_a = train(mlp(32), X, y, seed=1)
model_b = train(mlp(24), X, y, seed=2)
# [/models]

# [report]
from skequiv import NetworkActivations, equivalence_report

outputs_a = NetworkActivations(model_a)  # the output layer by default
outputs_b = NetworkActivations(model_b)
report = equivalence_report(
    outputs_a, outputs_b, X, n_permutations=19, n_bootstrap=200, random_state=0
)
print(report)
# [/report]

# [layers]
# any layer, by its name in model.named_modules(): "3" is the second Tanh
hidden_a = NetworkActivations(model_a, layers=("3",)).fit(X)
hidden_b = NetworkActivations(model_b, layers=("3",)).fit(X)
print("hidden layers:", hidden_a.layer_shapes_, hidden_b.layer_shapes_)
# [/layers]

# [skorch]
from sklearn.frozen import FrozenEstimator
from skorch import NeuralNetRegressor

net = NeuralNetRegressor(
    mlp, module__width=16, max_epochs=5, train_split=None, verbose=0
)
net.fit(X.astype("float32"), y.astype("float32"))
# FrozenEstimator keeps the trained weights through sklearn.base.clone
outputs_net = NetworkActivations(FrozenEstimator(net)).fit(X)
print("skorch net outputs:", outputs_net.transform(X[:3]).shape)
# [/skorch]

# [files]
import subprocess

import numpy as np

for model, path in ((model_a, "model_a.pt2"), (model_b, "model_b.pt2")):
    batch = torch.export.Dim("batch")
    program = torch.export.export(
        model, (torch.zeros(8, 1),), dynamic_shapes=({0: batch},)
    )
    torch.export.save(program, path)
np.save("inputs.npy", X)

command = ["skequiv", "compare", "model_a.pt2", "model_b.pt2", "--inputs", "inputs.npy"]
command += ["--permutations", "19", "--json", "report.json", "--html", "report.html"]
completed = subprocess.run(command, capture_output=True, text=True, check=True)
print(completed.stdout)
# [/files]
