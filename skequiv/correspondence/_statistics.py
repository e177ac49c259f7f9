"""Correlation and mutual information between units, streamed over samples.

Both statistics are accumulated chunk by chunk, so their memory does not grow
with the number of samples: co-moments are merged with the pairwise update
of Chan, Golub & LeVeque (stable for data far from zero, where the one-pass
formula ``E[xy] - E[x]E[y]`` cancels catastrophically), and joint histograms
of all unit pairs are counted by products of one-hot bin indicators.
"""

from numbers import Integral

import numpy as np
from scipy.linalg import blas
from sklearn.utils import check_random_state

from skequiv._compat import Interval, StrOptions, validate_params
from skequiv.correspondence._units import (
    LAYOUT_CONSTRAINTS,
    input_chunks,
    paired_units,
    warn_constant,
)

# a unit is constant when its standard deviation is below this fraction of its
# largest |value|: float64 means of a constant column leave residuals of a few
# ulps, which must not read as variation
_CONSTANT_RTOL = 1e-12

# float32 products of 0/1 indicators count exactly up to 2**24
_FLOAT32_EXACT = 2**24

# target size of one chunk's one-hot indicator matrix
_ONEHOT_BYTES = 64 * 2**20


# --------------------------------------------------------------------------
# co-moments


# largest magnitude whose square, summed over many samples, stays in float64
# (and its inverse, the smallest whose square does not underflow)
_SQUARE_SAFE = 1e145


class Moments:
    """Count, means and co-moments of the columns ``[A | B]``, merged per chunk.

    ``kind`` says which co-moments are kept: ``"cross"`` the (p_a, p_b) block
    between A and B, ``"joint"`` the full (p, p) matrix of ``[A | B]``,
    ``"paired"`` only ``(a_i, b_i)`` for column pairs (p_a == p_b). The sums of
    squares ``m2`` and the largest ``|x|`` of every column are always kept.
    """

    def __init__(self, p_a, p_b, kind, names=("A", "B")):
        self.kind = kind
        self.names = names
        self.p_a = p_a
        p = p_a + p_b
        self.n = 0
        self.shift = np.zeros(p)
        self._mean = np.zeros(p)  # of the shifted data
        self.m2 = np.zeros(p)
        self.absmax = np.zeros(p)
        shape = {"cross": (p_a, p_b), "joint": (p, p), "paired": (p_a,)}[kind]
        self.comoment = np.zeros(shape)

    def update(self, xa, xb=None):
        """Add the samples (rows) of ``xa`` (and ``xb``, the B columns).

        The blocks are centred in place: pass arrays the caller owns (as
        :meth:`Units.block` returns them).
        """
        blocks = [xa] if xb is None else [xa, xb]
        absmax = np.concatenate(
            [np.maximum(x.max(axis=0), -x.min(axis=0)) for x in blocks]
        )
        self._check_range(absmax)
        if self.n == 0:
            # Shifting every chunk by one reference (the first chunk's mean)
            # keeps the running means small: otherwise their rounding (an ulp
            # of a large offset) spoils the merge terms.
            self.shift = np.concatenate([x.mean(axis=0) for x in blocks])
        means = []
        for x, shift in zip(blocks, np.split(self.shift, [self.p_a]), strict=False):
            x -= shift
            means.append(x.mean(axis=0))
            x -= means[-1]
        m2 = np.concatenate([np.einsum("ij,ij->j", x, x) for x in blocks])
        a, b = xa, (xb if xb is not None else xa[:, :0])
        if self.kind == "joint":
            p_a = self.p_a
            com = np.empty_like(self.comoment)
            com[:p_a, :p_a] = np.dot(a.T, a)
            com[:p_a, p_a:] = np.dot(a.T, b)
            com[p_a:, :p_a] = com[:p_a, p_a:].T
            com[p_a:, p_a:] = np.dot(b.T, b)
        elif self.kind == "cross":
            com = np.dot(a.T, b)
        else:
            com = np.einsum("ij,ij->j", a, b)
        self._merge(xa.shape[0], self.shift, np.concatenate(means), m2, com, absmax)
        return self

    def _check_range(self, absmax):
        """Refuse units whose squares would overflow or underflow float64."""
        outside = (absmax > _SQUARE_SAFE) | ((absmax > 0) & (absmax < 1 / _SQUARE_SAFE))
        if not outside.any():
            return
        j = int(np.argmax(outside))
        name, unit = (
            (self.names[0], j) if j < self.p_a else (self.names[1], j - self.p_a)
        )
        raise ValueError(
            f"{name} has values of magnitude {absmax[j]:.3g} (unit {unit}): their "
            "squares leave float64's range, so the second moments would overflow "
            f"or underflow. Rescale {name}, e.g. divide each unit by its largest "
            "absolute value (correlations and R² do not change when a unit is "
            "scaled)."
        )

    @classmethod
    def combine(cls, parts):
        """The moments of the union of the samples of ``parts``."""
        first = parts[0]
        out = cls(first.p_a, first.mean.size - first.p_a, first.kind)
        out.shift = first.shift.copy()
        for part in parts:
            out._merge(
                part.n, part.shift, part._mean, part.m2, part.comoment, part.absmax
            )
        return out

    def _merge(self, n, shift, mean, m2, comoment, absmax):
        # Chan et al.: (n1, mean1, M1) + (n2, mean2, M2) =
        # (n1 + n2, mean1 + δ n2 / n, M1 + M2 + δ δᵀ n1 n2 / n), δ = mean2 - mean1
        if n == 0:
            return
        # means are kept relative to a shift; same shifts subtract exactly
        delta = (shift - self.shift) + mean - self._mean
        weight = self.n * n / (self.n + n)
        self.m2 += m2 + weight * delta**2
        da, db = delta[: self.p_a], delta[self.p_a :]
        if self.kind == "joint":
            self.comoment += comoment + weight * np.outer(delta, delta)
        elif self.kind == "cross":
            self.comoment += comoment + weight * np.outer(da, db)
        else:
            self.comoment += comoment + weight * da * db
        self._mean += delta * (n / (self.n + n))
        self.n += n
        np.maximum(self.absmax, absmax, out=self.absmax)

    @property
    def mean(self):
        return self.shift + self._mean

    @property
    def std(self):
        return np.sqrt(self.m2 / self.n)

    @property
    def constant(self):
        return self.std <= _CONSTANT_RTOL * self.absmax


def streamed_moments(a, b, kind, chunk_size=None):
    """:class:`Moments` of the units ``a`` and ``b`` (``b`` None: A alone)."""
    p_b = 0 if b is None else b.n_units
    moments = Moments(a.n_units, p_b, kind, (a.name, a.name if b is None else b.name))
    for start, stop in input_chunks(a, chunk_size, a.n_units + p_b):
        xb = None if b is None else b.block(start, stop)
        moments.update(a.block(start, stop), xb)
    return moments


def correlation_from_moments(moments):
    """Pearson correlations from co-moments; 0 wherever a unit is constant."""
    scale = np.sqrt(moments.m2)
    scale[moments.constant] = np.inf
    p_a = moments.p_a
    if moments.kind == "joint":
        corr = moments.comoment / np.outer(scale, scale)
        np.fill_diagonal(corr, np.where(moments.constant, 0.0, 1.0))
    elif moments.kind == "cross":
        corr = moments.comoment / np.outer(scale[:p_a], scale[p_a:])
    else:
        corr = moments.comoment / (scale[:p_a] * scale[p_a:])
    return np.clip(corr, -1.0, 1.0, out=corr)


_CONSTANT_CORRELATION = "its correlation with every unit is set to 0."
_CONSTANT_MI = "its mutual information with every unit is set to 0."


def warn_constant_units(constant, a, b, what):
    warn_constant(a.name, constant[: a.n_units], what)
    if b is not None and b is not a:
        warn_constant(b.name, constant[a.n_units :], what)


_SHARED_PARAMS = {
    "A": ["array-like"],
    "B": ["array-like", None],
    **LAYOUT_CONSTRAINTS,
}


@validate_params(_SHARED_PARAMS, prefer_skip_nested_validation=True)
def neuron_correlation(A, B=None, *, spatial_shape=None, chunk_size=None):
    """Pearson correlation between every unit of A and every unit of B.

    The samples are streamed in chunks and the co-moments are accumulated in
    float64 with the pairwise (Chan et al.) update, so memory does not grow
    with the number of samples and data far from zero lose no precision.

    Parameters
    ----------
    A : array-like of shape (n_samples, p_A) or (n_inputs, p_A, ...)
        Activations of network A. A 2-D array has one unit per column. An
        N-D array, e.g. a conv layer's ``(n_inputs, channels, height,
        width)``, has one unit per channel, and every (input, position) pair
        is a sample (Li et al.'s convention). Numpy arrays and memory maps
        are read one chunk at a time and never copied whole.
    B : array-like of the same layout, default=None
        Activations of network B, for the same inputs in the same order.
        ``None`` correlates A's units with each other.
    spatial_shape : tuple of int, default=None
        For conv activations flattened per input in C order (as
        :class:`~skequiv.NetworkActivations` returns them): the spatial shape
        of the layer, e.g. ``NetworkActivations.layer_shapes_[layer][1:]``.
        Each 2-D array then has ``channels * prod(spatial_shape)`` columns and
        is read as conv activations. ``None`` reads 2-D arrays as dense.
    chunk_size : int, default=None
        Samples per chunk (rounded to whole inputs for conv activations).
        ``None`` keeps one float64 chunk of both networks near 32 MiB.

    Returns
    -------
    correlation : ndarray of shape (p_A, p_B)
        ``correlation[i, j]`` is the correlation of unit i of A with unit j
        of B (``(p_A, p_A)`` with ones on the diagonal when ``B`` is None).

    Warns
    -----
    ConstantUnitWarning
        For constant (dead) units, whose correlation is undefined: it is
        set to 0 for every pair that involves them, the diagonal included.

    See Also
    --------
    neuron_mutual_information : the nonlinear counterpart, in nats.
    NeuronMatching : matches units by this matrix.

    Notes
    -----
    For units :math:`a_i` of A and :math:`b_j` of B over samples :math:`s`,

    .. math::

        c_{ij} = \\frac{\\sum_s (a_{is} - \\bar a_i)(b_{js} - \\bar b_j)}
        {\\sqrt{\\sum_s (a_{is} - \\bar a_i)^2 \\sum_s (b_{js} - \\bar b_j)^2}}.

    Each chunk is centred on its own mean and merged with the running
    co-moments by :math:`M \\leftarrow M + M_c + \\frac{n m}{n + m} \\delta_a
    \\delta_b^\\top` [2]_, which is as accurate as the two-pass formula of
    :func:`numpy.corrcoef` and needs one pass. A unit is constant when its
    standard deviation is below ``1e-12`` times its largest absolute value.
    Cost: :math:`O(n\\, p_A p_B)` time, :math:`O(\\text{chunk} \\cdot (p_A +
    p_B) + p_A p_B)` memory.

    References
    ----------
    .. [1] Y. Li, J. Yosinski, J. Clune, H. Lipson and J. Hopcroft,
       "Convergent learning: do different neural networks learn the same
       representations?", ICLR 2016, arXiv:1511.07543.
    .. [2] T. F. Chan, G. H. Golub and R. J. LeVeque, "Updating formulae and a
       pairwise algorithm for computing sample variances", COMPSTAT 1982.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv import neuron_correlation
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(1000, 3))
    >>> B = np.column_stack([2 * A[:, 2] + 5, -A[:, 0]])
    >>> neuron_correlation(A, B).round(2)
    array([[-0.01, -1.  ],
           [-0.02,  0.01],
           [ 1.  ,  0.01]])
    >>> conv = rng.normal(size=(10, 4, 5, 5))  # 4 channels, 250 samples
    >>> neuron_correlation(conv).shape
    (4, 4)
    """
    a, b = paired_units(A, B, spatial_shape)
    same = B is None
    moments = streamed_moments(
        a, None if same else b, "joint" if same else "cross", chunk_size
    )
    warn_constant_units(moments.constant, a, None if same else b, _CONSTANT_CORRELATION)
    return correlation_from_moments(moments)


# --------------------------------------------------------------------------
# mutual information


def edge_samples(n, quantile_samples, random_state):
    """Indices of the samples the bin edges come from (all, or a sorted draw)."""
    if quantile_samples is None or n <= quantile_samples:
        return np.arange(n)
    rng = check_random_state(random_state)
    return np.sort(rng.choice(n, size=quantile_samples, replace=False))


class Binning:
    """Equal-mass bins per unit, with a bin of its own for exact zeros.

    The edges are the quantiles of each unit over the samples ``samples``.
    ``edges`` has shape (p, n_bins - 1), padded with +inf; a value's bin is
    the number of edges at or below it, shifted by one for units with a zero
    bin (whose zeros take bin 0).
    """

    def __init__(self, units, n_bins, zero_bin, samples):
        p = units.n_units
        self.n_bins = n_bins
        self.edges = np.full((p, n_bins - 1), np.inf)
        self.has_zero = np.zeros(p, dtype=bool)
        step = max(1, 2**23 // max(1, samples.size))  # ~64 MiB of float64
        for u0 in range(0, p, step):
            block = units.take(samples, slice(u0, min(u0 + step, p)))
            for j in range(block.shape[1]):
                self._unit_edges(u0 + j, block[:, j], zero_bin)

    def _unit_edges(self, u, values, zero_bin):
        n_equal = self.n_bins
        if zero_bin:
            nonzero = values != 0
            if not nonzero.all():
                self.has_zero[u] = True
                values = values[nonzero]
                n_equal -= 1
        if values.size == 0 or n_equal < 2:
            return
        q = np.arange(1, n_equal) / n_equal
        # the averaged inverse CDF splits n values into exactly equal bins
        # whenever n_equal divides n
        self.edges[u, : n_equal - 1] = np.quantile(
            values, q, method="averaged_inverted_cdf"
        )

    def codes(self, x, units=slice(None)):
        """Bin index in [0, n_bins) of every value of ``x`` (samples, units)."""
        edges = self.edges[units]
        has_zero = self.has_zero[units]
        codes = (x[:, :, None] >= edges[None]).sum(axis=2, dtype=np.int64)
        codes += has_zero
        codes[(x == 0) & has_zero] = 0
        return codes


def _onehot(codes, n_bins):
    """float32 indicators of bins 0..n_bins-2 (the last is implied), (m, p*(k-1))."""
    m, p = codes.shape
    w = n_bins - 1
    out = np.zeros((m, p * w), dtype=np.float32)
    rows, units = np.nonzero(codes < w)
    out[rows, units * w + codes[rows, units]] = 1.0
    return out


class JointCounts:
    """Joint histograms of every unit pair, counted chunk by chunk.

    For ``"cross"`` and ``"joint"``, the counts of bins 0..k-2 of every pair
    are one matrix product of one-hot indicators per chunk (float32 BLAS,
    exact below 2**24 samples, flushed to float64 before that); the last bin
    follows from the marginals. ``"paired"`` counts (a_i, b_i) pairs only.
    """

    def __init__(self, p_a, p_b, n_bins, kind):
        self.kind = kind
        self.p_a, self.p_b = p_a, p_b
        self.n_bins = n_bins
        self.n = 0
        w = n_bins - 1
        p = p_a + p_b
        self.marginals = np.zeros((p, n_bins))
        if kind == "paired":
            self.table = np.zeros((p_a, n_bins, n_bins))
            return
        shape = (p * w, p * w) if kind == "joint" else (p_a * w, p_b * w)
        self.table = np.zeros(shape)
        self._partial = np.zeros(shape, dtype=np.float32, order="F")
        self._since_flush = 0

    def update(self, codes_a, codes_b=None):
        codes = codes_a if codes_b is None else np.concatenate([codes_a, codes_b], 1)
        m, p = codes.shape
        k = self.n_bins
        offsets = np.arange(p) * k
        self.marginals += np.bincount(
            (codes + offsets).ravel(), minlength=p * k
        ).reshape(p, k)
        self.n += m
        if self.kind == "paired":
            a, b = codes[:, : self.p_a], codes[:, self.p_a :]
            flat = (a * k + b) + np.arange(self.p_a) * k * k
            self.table += np.bincount(flat.ravel(), minlength=self.p_a * k * k).reshape(
                self.p_a, k, k
            )
            return self
        for start in range(0, m, _FLOAT32_EXACT // 2):
            self._count(codes[start : start + _FLOAT32_EXACT // 2])
        return self

    def _count(self, codes):
        if self._since_flush + codes.shape[0] >= _FLOAT32_EXACT:
            self._flush()
        # BLAS adds the product into the Fortran-ordered accumulator in place;
        # the transposes of the C-ordered indicators are Fortran views, so
        # nothing is copied
        if self.kind == "joint":
            onehot = _onehot(codes, self.n_bins)
            blas.ssyrk(1.0, onehot.T, beta=1.0, c=self._partial, overwrite_c=1, lower=0)
        else:
            left = _onehot(codes[:, : self.p_a], self.n_bins)
            right = _onehot(codes[:, self.p_a :], self.n_bins)
            blas.sgemm(
                1.0,
                left.T,
                right.T,
                beta=1.0,
                c=self._partial,
                trans_b=1,
                overwrite_c=1,
            )
        self._since_flush += codes.shape[0]

    def _flush(self):
        self.table += self._partial
        self._partial[...] = 0.0
        self._since_flush = 0

    def finish(self):
        """Flush the float32 partial counts; mirror the joint upper triangle."""
        if self.kind == "paired" or self._partial is None:
            return self
        self._flush()
        self._partial = None
        if self.kind == "joint":
            lower = np.tril_indices_from(self.table, -1)
            self.table[lower] = self.table.T[lower]
        return self

    def full_tables(self, rows):
        """Complete (len(rows), k, p_right, k) joint tables for left units ``rows``."""
        k, w = self.n_bins, self.n_bins - 1
        if self.kind == "joint":
            p_left = p_right = self.p_a + self.p_b
            marg_left = marg_right = self.marginals
        else:
            p_left, p_right = self.p_a, self.p_b
            marg_left = self.marginals[: self.p_a]
            marg_right = self.marginals[self.p_a :]
        reduced = self.table.reshape(p_left, w, p_right, w)[rows]
        full = np.empty((reduced.shape[0], k, p_right, k))
        full[:, :w, :, :w] = reduced
        full[:, :w, :, w] = marg_left[rows, :w, None] - reduced.sum(axis=3)
        full[:, w, :, :w] = marg_right[None, :, :w] - reduced.sum(axis=1)
        full[:, w, :, w] = marg_left[rows, w, None] - full[:, w, :, :w].sum(axis=2)
        return full


def _xlogx(counts):
    # counts are integers: log(max(c, 1)) is exact where it matters and 0 at c=0
    return counts * np.log(np.maximum(counts, 1.0))


def mutual_information_from_counts(counts, bias_correction):
    """MI in nats for every pair from :class:`JointCounts`."""
    counts.finish()
    n = counts.n
    k = counts.n_bins
    marg = counts.marginals
    s_marg = _xlogx(marg).sum(axis=1)
    m_marg = (marg > 0).sum(axis=1)
    if counts.kind == "paired":
        p_a = counts.p_a
        table = counts.table
        s_joint = _xlogx(table).sum(axis=(1, 2))
        m_joint = (table > 0).sum(axis=(1, 2))
        s_a, s_b = s_marg[:p_a], s_marg[p_a:]
        m_a, m_b = m_marg[:p_a], m_marg[p_a:]
        return _mi(s_joint, m_joint, s_a, m_a, s_b, m_b, n, k, bias_correction)

    if counts.kind == "joint":
        p_left = counts.p_a + counts.p_b
        left, right = slice(None), slice(None)
    else:
        p_left = counts.p_a
        left, right = slice(None, counts.p_a), slice(counts.p_a, None)
    s_a, m_a = s_marg[left], m_marg[left]
    s_b, m_b = s_marg[right], m_marg[right]
    p_right = s_b.size
    out = np.empty((p_left, p_right))
    step = max(1, 2**22 // (k * k * p_right))  # ~32 MiB of tables at a time
    for r0 in range(0, p_left, step):
        rows = slice(r0, min(r0 + step, p_left))
        full = counts.full_tables(rows)
        s_joint = _xlogx(full).sum(axis=(1, 3))
        m_joint = (full > 0).sum(axis=(1, 3))
        out[rows] = _mi(
            s_joint,
            m_joint,
            s_a[rows, None],
            m_a[rows, None],
            s_b,
            m_b,
            n,
            k,
            bias_correction,
        )
    return out


def _mi(s_joint, m_joint, s_a, m_a, s_b, m_b, n, k, bias_correction):
    # H = ln n - (1/n) sum c ln c for each histogram, so
    # I = H_a + H_b - H_ab = ln n + (S_ab - S_a - S_b) / n
    mi = np.log(n) + (s_joint - s_a - s_b) / n
    if bias_correction == "miller-madow":
        # each entropy gains (m - 1) / 2n, m its number of non-empty bins
        mi -= (m_joint - m_a - m_b + 1) / (2.0 * n)
    elif bias_correction == "li2016":
        # the authors' term: all k*k cells, in bits, subtracted from nats
        mi = mi - k * k / (2.0 * n * np.log(2.0))
    return mi


def streamed_histograms(
    a,
    b,
    kind,
    n_bins,
    zero_bin,
    quantile_samples,
    random_state,
    chunk_size=None,
    pairs=None,
):
    """:class:`JointCounts` of units ``a`` (and ``b``).

    ``pairs`` = (units of a, units of b) restricts a ``"paired"`` count to those
    column pairs. A's and B's bin edges come from the same samples.
    """
    units_a = slice(None) if pairs is None else pairs[0]
    units_b = slice(None) if pairs is None else pairs[1]
    samples = edge_samples(a.n_samples, quantile_samples, random_state)
    bins_a = Binning(a, n_bins, zero_bin, samples)
    bins_b = None if b is None else Binning(b, n_bins, zero_bin, samples)
    p_a = a.n_units if pairs is None else len(pairs[0])
    p_b = 0 if b is None else (b.n_units if pairs is None else len(pairs[1]))
    counts = JointCounts(p_a, p_b, n_bins, kind)
    if chunk_size is None:
        chunk_size = max(256, _ONEHOT_BYTES // (4 * (n_bins - 1) * (p_a + p_b)))
    for start, stop in input_chunks(a, chunk_size):
        codes_a = bins_a.codes(a.block(start, stop)[:, units_a], units_a)
        codes_b = None
        if b is not None:
            codes_b = bins_b.codes(b.block(start, stop)[:, units_b], units_b)
        counts.update(codes_a, codes_b)
    return counts


@validate_params(
    {
        **_SHARED_PARAMS,
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "bias_correction": [StrOptions({"miller-madow", "li2016"}), None],
        "zero_bin": ["boolean"],
        "quantile_samples": [None, Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def neuron_mutual_information(
    A,
    B=None,
    *,
    n_bins=10,
    bias_correction="miller-madow",
    zero_bin=True,
    quantile_samples=100_000,
    spatial_shape=None,
    chunk_size=None,
    random_state=None,
):
    """Mutual information (nats) between every unit of A and every unit of B.

    Each unit is discretised into ``n_bins`` equal-mass bins, with exact
    zeros (a ReLU's inactive samples) in a bin of their own, and the mutual
    information is estimated from the joint histogram of every pair, counted
    over samples streamed in chunks (Li et al. 2016's estimator, with the
    Miller–Madow bias correction by default).

    Parameters
    ----------
    A : array-like of shape (n_samples, p_A) or (n_inputs, p_A, ...)
        Activations of network A: dense units in columns, or conv channels
        as units with every (input, position) pair a sample (see
        :func:`neuron_correlation`).
    B : array-like of the same layout, default=None
        Activations of network B for the same inputs. ``None`` compares A's
        units with each other (the diagonal is then each unit's entropy).
    n_bins : int, default=10
        Bins per unit (Li et al. use 10). A unit with exact zeros gets one
        bin for the zeros and ``n_bins - 1`` equal-mass bins for the rest;
        any other unit gets ``n_bins`` equal-mass bins.
    bias_correction : {"miller-madow", "li2016"} or None, default="miller-madow"
        ``"miller-madow"`` adds ``(m - 1) / (2N)`` to each of the three
        entropies in ``I = H(a) + H(b) - H(a, b)``, ``m`` being the number of
        non-empty bins of that histogram and ``N`` the number of samples.
        ``"li2016"`` subtracts the authors' term ``n_bins**2 / (2 N ln 2)``
        (bits subtracted from nats, as in their code). ``None`` gives the
        plug-in estimate.
    zero_bin : bool, default=True
        Whether exact zeros get a bin of their own in units that have them.
    quantile_samples : int or None, default=100_000
        Bin edges are the equal-mass quantiles of each unit over this many
        samples drawn at random without replacement; with ``None``, or at
        most this many samples in total, over all samples (exactly equal
        masses). The counts always use every sample.
    spatial_shape : tuple of int, default=None
        Spatial shape of conv activations flattened per input (see
        :func:`neuron_correlation`).
    chunk_size : int, default=None
        Samples per chunk. ``None`` keeps the chunk's one-hot indicators
        near 64 MiB.
    random_state : int, RandomState instance or None, default=None
        Draws the samples for the bin edges (only when there are more than
        ``quantile_samples``).

    Returns
    -------
    mutual_information : ndarray of shape (p_A, p_B)
        In nats. Bias-corrected values can be slightly negative for
        independent units.

    Warns
    -----
    ConstantUnitWarning
        For constant (dead) units, whose mutual information with every unit
        is set to 0.

    See Also
    --------
    neuron_correlation : the linear counterpart.
    NeuronMatching : matches units by either statistic.

    Notes
    -----
    With :math:`c_{uv}` the joint counts of bins :math:`u, v` over :math:`N`
    samples and :math:`c_u, c_v` the marginal counts,

    .. math::

        \\hat I = \\ln N + \\frac{1}{N}\\Big(\\sum_{uv} c_{uv} \\ln c_{uv}
        - \\sum_u c_u \\ln c_u - \\sum_v c_v \\ln c_v\\Big)
        - \\frac{m_{ab} - m_a - m_b + 1}{2N},

    the last term being the Miller–Madow correction [2]_. Two identical
    continuous units give :math:`\\ln 10` (plus :math:`9/2N`) with 10 bins;
    two identical ReLU units that are zero half of the time give
    :math:`\\ln 6` (one zero bin of mass 1/2 and nine of mass 1/18).

    The counts of all pairs in a chunk are one float32 matrix product of
    the bins' one-hot indicators, ``(p_A (k-1)) x chunk x (p_B (k-1))``
    (the last bin follows from the marginals; integer counts are exact in
    float32 up to :math:`2^{24}` and are flushed to float64 before that).
    Cost: :math:`O(N\\, p_A p_B (k-1)^2)` time and :math:`O(p_A p_B k^2)`
    memory, about 0.3 GB for 512 units a side. Bin edges come from
    ``quantile_samples`` samples, so that only those are held in memory:
    with 100,000 samples the mass of a bin is within about 0.1 % of
    ``1/n_bins``.

    Li et al.'s code puts values below ``1e-6`` (zeros and the lowest
    positives) in bin 0 of every unit, and subtracts ``n_bins**2 /
    (2 N ln 2)``, a bias term in bits, from a plug-in estimate in nats;
    ``bias_correction="li2016"`` reproduces that term.

    References
    ----------
    .. [1] Y. Li, J. Yosinski, J. Clune, H. Lipson and J. Hopcroft,
       "Convergent learning: do different neural networks learn the same
       representations?", ICLR 2016, arXiv:1511.07543.
    .. [2] G. A. Miller, "Note on the bias of information estimates", in
       Information Theory in Psychology, 1955; L. Paninski, "Estimation of
       entropy and mutual information", Neural Computation 15, 2003.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv import neuron_mutual_information
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(1000, 1))
    >>> A = np.hstack([a, rng.normal(size=(1000, 1))])
    >>> B = np.exp(a)  # a monotone copy of A's first unit
    >>> mi = neuron_mutual_information(A, B, bias_correction=None)
    >>> bool(np.isclose(mi[0, 0], np.log(10))), bool(abs(mi[1, 0]) < 0.06)
    (True, True)
    """
    a, b = paired_units(A, B, spatial_shape)
    same = B is None
    counts = streamed_histograms(
        a,
        None if same else b,
        "joint" if same else "cross",
        n_bins,
        zero_bin,
        quantile_samples,
        random_state,
        chunk_size,
    )
    mi = mutual_information_from_counts(counts, bias_correction)
    constant = (counts.marginals > 0).sum(axis=1) <= 1
    warn_constant_units(constant, a, None if same else b, _CONSTANT_MI)
    return zero_constant(mi, constant, counts.p_a, same)


def zero_constant(matrix, constant, p_a, joint):
    """Set rows and columns of constant units to 0."""
    rows = constant if joint else constant[:p_a]
    cols = constant if joint else constant[p_a:]
    matrix[rows, :] = 0.0
    matrix[:, cols] = 0.0
    return matrix


# --------------------------------------------------------------------------
# helpers for the estimators


def similarity(a, b, measure, *, joint, mi_params, bias_correction, chunk_size):
    """The matrix of ``measure`` between units, and the mask of constant units.

    ``joint`` computes the whole (p, p) matrix of ``[A | B]`` (within-network
    blocks included) in the same pass; otherwise the (p_a, p_b) block.
    ``mi_params`` holds ``n_bins``, ``zero_bin``, ``quantile_samples`` and
    ``random_state``.
    """
    kind = "joint" if joint else "cross"
    if measure == "correlation":
        moments = streamed_moments(a, b, kind, chunk_size)
        constant = moments.constant
        matrix = correlation_from_moments(moments)
        what = _CONSTANT_CORRELATION
    else:
        counts = streamed_histograms(a, b, kind, chunk_size=chunk_size, **mi_params)
        matrix = mutual_information_from_counts(counts, bias_correction)
        constant = (counts.marginals > 0).sum(axis=1) <= 1
        matrix = zero_constant(matrix, constant, a.n_units, joint)
        what = _CONSTANT_MI
    warn_constant_units(constant, a, b, what)
    return matrix, constant


def paired_similarity(
    a, b, units_a, units_b, measure, *, mi_params, bias_correction, chunk_size
):
    """``measure`` between unit ``units_a[k]`` of A and ``units_b[k]`` of B.

    Pairs with a constant unit get 0, with a warning.
    """
    n = len(units_a)
    if measure == "correlation":
        moments = Moments(n, n, "paired")
        for start, stop in input_chunks(a, chunk_size, 2 * n):
            moments.update(
                a.block(start, stop)[:, units_a], b.block(start, stop)[:, units_b]
            )
        constant = moments.constant
        values = correlation_from_moments(moments)
        what = _CONSTANT_CORRELATION
    else:
        counts = streamed_histograms(
            a,
            b,
            "paired",
            chunk_size=chunk_size,
            pairs=(units_a, units_b),
            **mi_params,
        )
        values = mutual_information_from_counts(counts, bias_correction)
        constant = (counts.marginals > 0).sum(axis=1) <= 1
        what = _CONSTANT_MI
    for units, side, mask in ((a, units_a, constant[:n]), (b, units_b, constant[n:])):
        dead = np.zeros(units.n_units, dtype=bool)
        dead[np.asarray(side)[mask]] = True
        warn_constant(units.name, dead, what)
    values[constant[:n] | constant[n:]] = 0.0
    return values
