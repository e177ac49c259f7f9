"""Small networks trained on the spot and saved the ways users save them.

Four MLPs on the seed paper's scalar task (about a second each, once per
session): two learn sin(πx) (other seeds and widths), two learn x² and
(x - 0.5)², of which neither is a function of the other.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

_TASKS = {
    "sine_a": ("sine", (16, 16), 1),
    "sine_b": ("sine", (12, 12), 2),
    "square": ("square", (16, 16), 3),
    "shifted": ("shifted_square", (12, 12), 4),
}

_STATIC_BATCH = {"sine_b": 16}


@pytest.fixture(scope="session")
def nets():
    """name -> trained float32 torch module (eval mode)."""
    from skequiv.datasets import make_scalar_task, train_mlp

    trained = {}
    for name, (function, widths, seed) in _TASKS.items():
        X, y = make_scalar_task(400, function=function, random_state=0)
        trained[name] = train_mlp(
            X, y, hidden_layer_sizes=widths, max_epochs=400, random_state=seed
        ).eval()
    return trained


def export(net, path, *, batch=None):
    """Save ``net`` as a torch.export program: a dynamic batch, or ``batch``."""
    example = torch.zeros(batch or 4, 1)
    dynamic = None if batch else ({0: torch.export.Dim("batch")},)
    program = torch.export.export(net, (example,), dynamic_shapes=dynamic)
    torch.export.save(program, path)
    return str(path)


@pytest.fixture(scope="session")
def programs(nets, tmp_path_factory):
    """name -> .pt2 path; ``sine_b`` has a static batch of 16, the rest dynamic."""
    folder = tmp_path_factory.mktemp("programs")
    return {
        name: export(net, folder / f"{name}.pt2", batch=_STATIC_BATCH.get(name))
        for name, net in nets.items()
    }


@pytest.fixture(scope="session")
def inputs_file(tmp_path_factory):
    """300 inputs in [-1, 1], shape (300, 1), as a .npy file."""
    path = tmp_path_factory.mktemp("inputs") / "X.npy"
    np.save(path, np.random.default_rng(0).uniform(-1, 1, size=(300, 1)))
    return str(path)


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # one pytest-xdist worker per core: multithreaded BLAS would oversubscribe
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield
