"""A network as the metric source: Jacobians reduced chunk by chunk."""

import numpy as np
import pytest

from skequiv import MahalanobisDiffusionMap, NetworkActivations

torch = pytest.importorskip("torch")


def _net():
    gen = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 12), torch.nn.Tanh(), torch.nn.Linear(12, 5)
    ).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    return net


def test_chunked_spectra_give_the_embedding_of_the_whole_jacobians():
    X = np.random.default_rng(0).uniform(-1, 1, size=(400, 2))
    # batch_size 16: 25 chunks of Jacobians, each reduced before the next
    source = NetworkActivations(_net(), layers=("0",), batch_size=16, dtype="float64")
    data = source.fit(X).metric_data(X)  # whole Jacobians, the reference path
    reference = MahalanobisDiffusionMap(3, random_state=0).fit(
        data.observations, jacobians=data.jacobians
    )
    chunked = MahalanobisDiffusionMap(3, metric=source, random_state=0).fit(X)
    np.testing.assert_allclose(
        chunked.eigenvalues_, reference.eigenvalues_, rtol=0, atol=1e-10
    )
    np.testing.assert_allclose(chunked.embedding_, reference.embedding_, atol=1e-7)
    spectra = source.metric_data(X, spectra=True).spectra
    # the spectra are those of J J^T: singular values squared
    s = np.linalg.svd(data.jacobians, compute_uv=False)
    np.testing.assert_allclose(spectra[0], s**2, rtol=1e-10, atol=1e-12)
