"""The streaming accumulator against the in-memory measures."""

import numpy as np
import pytest

from skequiv.similarity import (
    MEASURES,
    SimilarityAccumulator,
    cka,
    get_measure,
    shape_distance,
)

STREAMABLE = [name for name in MEASURES if get_measure(name).streamable]


def _data(n=600, p=9, q=7, offset=1e3, seed=0):
    # far from zero: a one-pass Σxy - n x̄ȳ would lose most digits here
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 2, size=p) + offset
    Y = (X - offset)[:, :q] @ rng.normal(size=(q, q)) + rng.normal(size=(n, q))
    return X, Y - offset


def _stream(X, Y, sizes, **kwargs):
    acc = SimilarityAccumulator(**kwargs)
    for rows in np.split(np.arange(len(X)), np.cumsum(sizes)[:-1]):
        acc.update(X[rows], Y[rows])
    return acc


def test_rbf_is_the_only_family_that_does_not_stream():
    assert set(MEASURES) - set(STREAMABLE) == {"rbf_cka", "debiased_rbf_cka"}


@pytest.mark.parametrize("name", STREAMABLE)
def test_streaming_equals_in_memory(name):
    X, Y = _data()
    acc = _stream(X, Y, [1, 250, 7, 342], batch_size=100)
    assert acc.n_samples_seen_ == len(X)
    assert acc.score(name) == pytest.approx(get_measure(name)(X, Y), abs=1e-10)


@pytest.mark.parametrize("params", [{"variance": 0.8}, {"weights": "symmetric"}])
def test_streaming_passes_measure_parameters(params):
    X, Y = _data()
    name = "svcca" if "variance" in params else "pwcca"
    expected = get_measure(name, **params)(X, Y)
    assert _stream(X, Y, [600]).score(name, **params) == pytest.approx(
        expected, abs=1e-10
    )


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_streaming_shape_distance(alpha):
    X, Y = _data()
    expected = shape_distance(X, Y, alpha=alpha)
    assert _stream(X, Y, [300, 300]).shape_distance(alpha) == pytest.approx(
        expected, abs=1e-9
    )


def test_constant_units_are_ignored_when_streaming_too():
    X, Y = _data()
    X[:, 2] = 5.0
    acc = _stream(X, Y, [200, 400])
    for name in ("linear_cka", "cca", "pwcca", "procrustes"):
        assert acc.score(name) == pytest.approx(get_measure(name)(X, Y), abs=1e-10)


def test_a_memory_mapped_array_is_read_in_bounded_batches(tmp_path):
    X, Y = _data(n=3000, p=6, q=4)
    paths = [tmp_path / "x.npy", tmp_path / "y.npy"]
    for path, Z in zip(paths, (X, Y), strict=True):
        np.save(path, Z)
    Xm, Ym = (np.load(path, mmap_mode="r") for path in paths)
    acc = SimilarityAccumulator(batch_size=256).update(Xm, Ym)
    assert acc.score("debiased_linear_cka") == pytest.approx(
        cka(X, Y, debiased=True), abs=1e-10
    )


def test_torch_tensors_are_accepted_by_the_accumulator_and_the_functions():
    torch = pytest.importorskip("torch")
    X, Y = _data(n=400)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    acc = SimilarityAccumulator(batch_size=64).update(Xt, Yt)
    assert acc.score("linear_cka") == pytest.approx(cka(X, Y), abs=1e-10)
    assert cka(Xt, Yt, debiased=True) == pytest.approx(
        cka(X, Y, debiased=True), abs=1e-10
    )
    # float32 activations are accumulated in float64
    X32 = Xt.to(torch.float32)
    assert cka(X32, Yt) == pytest.approx(cka(X32.numpy(), Y), abs=1e-10)
    # RBF needs the Gram matrix: computed in memory
    assert cka(Xt, Yt, kernel="rbf") == pytest.approx(cka(X, Y, kernel="rbf"))


@pytest.mark.gpu
def test_torch_cuda_tensors_are_accumulated_on_their_device():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    X, Y = _data(n=5000, p=64, q=48)
    acc = SimilarityAccumulator(batch_size=1024)
    acc.update(torch.from_numpy(X).cuda(), torch.from_numpy(Y).cuda())
    assert acc._sums["sxy"].device.type == "cuda"
    for name in STREAMABLE:
        assert acc.score(name) == pytest.approx(get_measure(name)(X, Y), abs=1e-10)


def test_accumulator_errors_name_the_problem():
    X, Y = _data(n=50)
    acc = SimilarityAccumulator().update(X, Y)
    with pytest.raises(ValueError, match="same units"):
        acc.update(X[:, :3], Y)
    with pytest.raises(ValueError, match="cannot be streamed"):
        acc.score("rbf_cka")
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        SimilarityAccumulator().update(bad, Y)
    with pytest.raises(ValueError, match="same number of samples"):
        SimilarityAccumulator().update(X, Y[:-1])
    with pytest.raises(ValueError, match="at least 4"):
        SimilarityAccumulator().update(X[:3], Y[:3]).score("debiased_linear_cka")
    with pytest.raises(ValueError, match="2-D"):
        SimilarityAccumulator().update(X[:, 0], Y)
    with pytest.raises(ValueError, match="constant"):
        SimilarityAccumulator().update(np.ones_like(X), Y).score()
    with pytest.raises(ValueError, match="'alpha' parameter"):
        acc.shape_distance(alpha=1.5)
    with pytest.raises(ValueError, match="'batch_size' parameter"):
        SimilarityAccumulator(batch_size=0)


def test_spectral_measures_share_one_decomposition_until_the_next_update(
    monkeypatch,
):
    from skequiv.similarity import _streaming

    calls = []
    real = _streaming.descending_eigh
    monkeypatch.setattr(
        _streaming, "descending_eigh", lambda C: calls.append(1) or real(C)
    )
    X, Y = _data()
    acc = SimilarityAccumulator().update(X[:300], Y[:300])
    spectral = ("cca", "svcca", "pwcca", "procrustes")
    for name in spectral:
        expected = get_measure(name)(X[:300], Y[:300])
        assert acc.score(name) == pytest.approx(expected, abs=1e-10)
    assert len(calls) == 2  # one per side, for all four measures
    acc.update(X[300:], Y[300:])  # new rows: the cached decomposition is stale
    for name in spectral:
        assert acc.score(name) == pytest.approx(get_measure(name)(X, Y), abs=1e-10)
    assert len(calls) == 4
