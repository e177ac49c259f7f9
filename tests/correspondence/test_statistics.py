"""Streamed correlation and mutual information against direct formulas."""

import itertools

import numpy as np
import pytest

from skequiv import neuron_correlation, neuron_mutual_information
from skequiv.correspondence import ConstantUnitWarning, _statistics


def _channels_as_columns(X):
    """(n, C, *spatial) -> (n * positions, C), every (input, position) a row."""
    n, c = X.shape[:2]
    return np.moveaxis(X.reshape(n, c, -1), 1, 2).reshape(-1, c)


def _longdouble_correlation(X, Y):
    """Two-pass correlation in extended precision: the reference."""
    X = X.astype(np.longdouble)
    Y = Y.astype(np.longdouble)
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    scale = np.sqrt(np.outer((X**2).sum(axis=0), (Y**2).sum(axis=0)))
    return ((X.T @ Y) / scale).astype(np.float64)


# -- correlation -----------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [None, 1, 37, 1000])
def test_correlation_matches_corrcoef_for_any_chunking(chunk_size):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(600, 5))
    B = A[:, :3] @ rng.normal(size=(3, 4)) + rng.normal(size=(600, 4))
    expected = np.corrcoef(A, B, rowvar=False)[:5, 5:]
    np.testing.assert_allclose(
        neuron_correlation(A, B, chunk_size=chunk_size), expected, atol=1e-13
    )
    np.testing.assert_allclose(
        neuron_correlation(A, chunk_size=chunk_size),
        np.corrcoef(A, rowvar=False),
        atol=1e-13,
    )


def test_correlation_survives_a_large_offset_where_one_pass_fails():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(4000, 4)) + 1e8
    B = 1e-3 * (A[:, ::-1] - 1e8 + rng.normal(size=(4000, 4))) - 1e8
    reference = _longdouble_correlation(A, B)

    # the naive one-pass formula E[ab] - E[a]E[b] loses every digit here
    n = A.shape[0]
    cov = A.T @ B / n - np.outer(A.mean(0), B.mean(0))
    var_a = np.abs((A**2).mean(0) - A.mean(0) ** 2)
    var_b = np.abs((B**2).mean(0) - B.mean(0) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        naive = cov / np.sqrt(np.outer(var_a, var_b))
    assert not np.allclose(naive, reference, atol=0.1)

    for chunk_size in (1, 100, None):
        got = neuron_correlation(A, B, chunk_size=chunk_size)
        np.testing.assert_allclose(got, reference, atol=1e-12)
    # numpy's two-pass corrcoef is the accuracy anchor
    np.testing.assert_allclose(
        np.corrcoef(A, B, rowvar=False)[:4, 4:], reference, atol=1e-7
    )


def test_conv_channels_are_units_and_positions_are_samples():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(9, 3, 4, 5))
    B = np.maximum(A[:, [2, 0]] + 0.5 * rng.normal(size=(9, 2, 4, 5)), 0)
    expected = np.corrcoef(
        _channels_as_columns(A), _channels_as_columns(B), rowvar=False
    )[:3, 3:]
    np.testing.assert_allclose(neuron_correlation(A, B, chunk_size=30), expected)
    flat = neuron_correlation(
        A.reshape(9, -1), B.reshape(9, -1), spatial_shape=(4, 5), chunk_size=7
    )
    np.testing.assert_allclose(flat, expected)
    # 1-D conv maps (n, C, L) too
    np.testing.assert_allclose(
        neuron_correlation(A.reshape(9, 3, 20), B.reshape(9, 2, 20)), expected
    )


def test_float32_and_memory_mapped_inputs(tmp_path):
    rng = np.random.default_rng(3)
    A = rng.normal(size=(500, 6)).astype(np.float32)
    path = tmp_path / "a.npy"
    np.save(path, A)
    mapped = np.load(path, mmap_mode="r")
    expected = np.corrcoef(A.astype(np.float64), rowvar=False)
    np.testing.assert_allclose(neuron_correlation(mapped, chunk_size=64), expected)
    assert neuron_correlation([[0.0, 1.0], [1.0, 0.5], [2.0, 2.0]]).shape == (2, 2)


def test_constant_units_warn_and_get_zero_correlation():
    rng = np.random.default_rng(4)
    A = rng.normal(size=(200, 3))
    A[:, 1] = 0.1  # 0.1 is not a binary fraction: the mean leaves residuals
    B = rng.normal(size=(200, 2))
    B[:, 0] = 0.0
    with pytest.warns(ConstantUnitWarning, match=r"A has 1 constant.*\[1\]"):
        with pytest.warns(ConstantUnitWarning, match=r"B has 1 constant.*\[0\]"):
            corr = neuron_correlation(A, B, chunk_size=30)
    assert np.isfinite(corr).all()
    assert (corr[1] == 0).all() and (corr[:, 0] == 0).all()
    live = np.corrcoef(A[:, [0, 2]], B[:, 1:], rowvar=False)[:2, 2:]
    np.testing.assert_allclose(corr[[0, 2]][:, 1:], live)
    with pytest.warns(ConstantUnitWarning):
        within = neuron_correlation(A)
    assert within[1, 1] == 0 and within[0, 0] == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"A": np.array([[0.0, np.nan], [1.0, 2.0]])}, ValueError, "NaN or inf"),
        ({"A": np.array([[0.0, np.inf], [1.0, 2.0]])}, ValueError, "NaN or inf"),
        ({"A": np.ones((5, 2)), "B": np.ones((4, 2))}, ValueError, "same number"),
        ({"A": np.ones((1, 3))}, ValueError, "1 sample"),
        ({"A": np.ones(5)}, ValueError, "must be 2-D"),
        ({"A": np.ones((5, 0))}, ValueError, "no units"),
        ({"A": np.ones((5, 6)), "spatial_shape": (4,)}, ValueError, "multiple"),
        ({"A": np.ones((5, 2, 3)), "spatial_shape": (4,)}, ValueError, "spatial"),
        ({"A": np.ones((5, 6)), "spatial_shape": (0,)}, ValueError, "spatial_shape"),
        (
            {"A": np.ones((5, 2, 3)), "B": np.ones((5, 2, 4))},
            ValueError,
            "same spatial",
        ),
        ({"A": np.ones((5, 2)) * 1j}, ValueError, "complex"),
        ({"A": np.array([["a", "b"], ["c", "d"]])}, ValueError, "numeric"),
        ({"A": np.ones((5, 2)), "chunk_size": 0}, ValueError, "chunk_size"),
    ],
)
def test_bad_input_gets_a_clear_error(kwargs, error, match):
    with pytest.raises(error, match=match):
        neuron_correlation(**kwargs)


# -- mutual information ----------------------------------------------------


def _naive_mi(a, b, n_bins=10):
    """Plug-in MI and occupied-bin counts of one pair, by np.histogram2d."""

    def bins(x):
        zeros = x == 0
        if zeros.any():
            edges = np.quantile(
                x[~zeros],
                np.arange(1, n_bins - 1) / (n_bins - 1),
                method="averaged_inverted_cdf",
            )
            return np.where(zeros, 0, 1 + np.searchsorted(edges, x, side="right"))
        edges = np.quantile(
            x, np.arange(1, n_bins) / n_bins, method="averaged_inverted_cdf"
        )
        return np.searchsorted(edges, x, side="right")

    h, _, _ = np.histogram2d(bins(a), bins(b), bins=np.arange(n_bins + 1) - 0.5)
    p = h / h.sum()
    pa, pb = p.sum(1), p.sum(0)
    nz = p > 0
    mi = np.sum(p[nz] * np.log(p[nz] / np.outer(pa, pb)[nz]))
    return mi, (h > 0).sum(), (pa > 0).sum(), (pb > 0).sum()


def test_identical_continuous_units_give_ln_10():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(1000, 1))
    plug_in = neuron_mutual_information(a, a, bias_correction=None)
    assert plug_in[0, 0] == pytest.approx(np.log(10), abs=1e-12)
    corrected = neuron_mutual_information(a, np.exp(a))  # monotone: same bins
    # Miller-Madow: 10 + 10 - 10 occupied bins, (m_a + m_b - m_ab - 1)/2N
    assert corrected[0, 0] == pytest.approx(np.log(10) + 9 / 2000, abs=1e-12)


def test_identical_relu_units_that_are_half_zero_give_ln_6():
    rng = np.random.default_rng(6)
    r = np.abs(rng.normal(size=(3600, 1))) + 0.1
    r[rng.permutation(3600)[:1800]] = 0.0
    mi = neuron_mutual_information(r, r, bias_correction=None)
    # a zero bin of mass 1/2 and nine equal bins of 1/18: H = ln 2/2 + ln 18/2
    assert mi[0, 0] == pytest.approx(np.log(6), abs=1e-12)
    mixed = neuron_mutual_information(r, r, zero_bin=False, bias_correction=None)
    assert mixed[0, 0] < np.log(6) - 0.05  # zeros spread over the equal bins


def test_a_2x2_exact_histogram_gives_ln_2_and_the_analytic_value():
    x = np.repeat([0.0, 1.0], 50)[:, None]
    assert neuron_mutual_information(x, 5 * x + 1, n_bins=2, bias_correction=None)[
        0, 0
    ] == pytest.approx(np.log(2), abs=1e-14)
    # an unbalanced table [[30, 10], [5, 55]]
    a = np.repeat([0, 0, 1, 1], [30, 10, 5, 55]).astype(float)[:, None]
    b = np.repeat([0, 1, 0, 1], [30, 10, 5, 55]).astype(float)[:, None] + 2
    p = np.array([[30, 10], [5, 55]]) / 100
    expected = sum(
        p[i, j] * np.log(p[i, j] / (p[i].sum() * p[:, j].sum()))
        for i, j in itertools.product(range(2), range(2))
    )
    got = neuron_mutual_information(a, b, n_bins=2, bias_correction=None)
    assert got[0, 0] == pytest.approx(expected, abs=1e-14)
    mm = neuron_mutual_information(a, b, n_bins=2)
    assert mm[0, 0] == pytest.approx(expected - 1 / 200, abs=1e-14)


def test_independent_units_give_about_zero():
    rng = np.random.default_rng(7)
    A = np.maximum(rng.normal(size=(100_000, 2)), 0)
    B = np.maximum(rng.normal(size=(100_000, 2)), 0)
    plug_in = neuron_mutual_information(A, B, bias_correction=None)
    corrected = neuron_mutual_information(A, B)
    # plug-in bias (k-1)^2 / 2N = 4.05e-4 nats, spread sqrt(2 * 81) / 2N = 6e-5;
    # Miller-Madow removes the bias
    assert plug_in.mean() == pytest.approx(81 / 200_000, abs=1e-4)
    assert abs(corrected.mean()) < 1e-4
    assert np.abs(corrected).max() < 2.5e-4
    li = neuron_mutual_information(A, B, bias_correction="li2016")
    np.testing.assert_allclose(li, plug_in - 100 / (2 * 100_000 * np.log(2)))


@pytest.mark.parametrize("chunk_size", [None, 1, 333])
def test_mi_matches_a_pairwise_histogram2d_reference(chunk_size):
    rng = np.random.default_rng(8)
    latent = rng.normal(size=(1200, 3))
    A = np.maximum(latent @ rng.normal(size=(3, 4)), 0)  # ReLU units
    B = np.tanh(latent @ rng.normal(size=(3, 3)) + 0.3 * rng.normal(size=(1200, 3)))
    got = neuron_mutual_information(A, B, bias_correction=None, chunk_size=chunk_size)
    mm = neuron_mutual_information(A, B, chunk_size=chunk_size)
    for i, j in itertools.product(range(4), range(3)):
        mi, m_ab, m_a, m_b = _naive_mi(A[:, i], B[:, j])
        assert got[i, j] == pytest.approx(mi, abs=1e-12)
        assert mm[i, j] == pytest.approx(
            mi - (m_ab - m_a - m_b + 1) / (2 * 1200), abs=1e-12
        )
    within = neuron_mutual_information(np.hstack([A, B]), bias_correction=None)
    np.testing.assert_allclose(within[:4, 4:], got, atol=1e-12)
    np.testing.assert_allclose(within, within.T, atol=1e-12)


def test_mi_conv_layout_and_sampled_bin_edges():
    rng = np.random.default_rng(9)
    A = np.maximum(rng.normal(size=(40, 3, 6, 6)), 0)
    B = A[:, [1, 2]] ** 2 + 0.1 * rng.normal(size=(40, 2, 6, 6))
    exact = neuron_mutual_information(A, B)
    columns = neuron_mutual_information(
        _channels_as_columns(A), _channels_as_columns(B)
    )
    np.testing.assert_allclose(exact, columns, atol=1e-12)
    # edges from 500 of the 1440 samples: close to the exact equal-mass bins
    sampled = neuron_mutual_information(A, B, quantile_samples=500, random_state=0)
    np.testing.assert_allclose(sampled, exact, atol=0.05)
    assert np.argmax(sampled, axis=0).tolist() == [1, 2]


def test_float32_counts_are_flushed_before_they_lose_integers(monkeypatch):
    # shrink the exact-integer limit of float32 so that the flush path runs
    rng = np.random.default_rng(10)
    A = rng.normal(size=(500, 3))
    B = A + rng.normal(size=(500, 3))
    expected = neuron_mutual_information(A, B)
    expected_within = neuron_mutual_information(A)
    monkeypatch.setattr(_statistics, "_FLOAT32_EXACT", 64)
    np.testing.assert_array_equal(neuron_mutual_information(A, B), expected)
    np.testing.assert_array_equal(neuron_mutual_information(A), expected_within)


def test_mi_constant_units_warn_and_get_zero():
    rng = np.random.default_rng(11)
    A = rng.normal(size=(300, 3))
    A[:, 2] = 0.0
    B = rng.normal(size=(300, 2))
    for correction in ("miller-madow", "li2016", None):
        with pytest.warns(ConstantUnitWarning, match=r"A has 1 constant.*\[2\]"):
            mi = neuron_mutual_information(A, B, bias_correction=correction)
        assert (mi[2] == 0).all() and np.isfinite(mi).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_bins": 1}, "n_bins"),
        ({"bias_correction": "bits"}, "bias_correction"),
        ({"quantile_samples": 1}, "quantile_samples"),
    ],
)
def test_mi_unknown_options_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        neuron_mutual_information(np.ones((10, 2)), **kwargs)
