"""Streaming similarity: accumulate cross-products over batches of samples.

Memory is O(p² + q² + pq) whatever the number of samples: 10^6 samples of
4,096 units a side need the three 4,096² float64 blocks (400 MB), and the
batches are read ``batch_size`` rows at a time (``np.memmap`` works).
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_array

from skequiv._compat import Interval, validate_params
from skequiv.similarity._measures import (
    Measure,
    Spectral,
    _Procrustes,
    debiased_dot,
    descending_eigh,
    get_measure,
    null_directions,
    ratio,
)
from skequiv.similarity._validation import (
    check_same_samples,
    is_torch_tensor,
    power_of_two,
)

# Sums over rows of data shifted by the first batch's means, so that the final
# centring (S - n m mᵀ, with m the small mean of the shifted data) does not
# cancel catastrophically for activations far from zero.
_SUMS = ("sx", "sy", "sxx", "syy", "sxy", "su", "sv", "suv", "suu", "svv")
_WEIGHTED = ("ux", "vx", "uy", "vy")


class SimilarityAccumulator:
    """Linear similarity measures accumulated over batches of paired samples.

    Feed ``update(X_batch, Y_batch)`` as many times as needed, then ask for
    ``score(measure)`` or :meth:`shape_distance`. The result equals the
    in-memory function on all the rows (to rounding); only cross-products
    (p × p, q × q, p × q) and a few vectors are kept. Torch tensors are
    accumulated on their own device in float64; the final p × p
    eigendecompositions run on the CPU.

    Parameters
    ----------
    batch_size : int, default=8192
        Rows converted to float64 at a time, so that a large (or memory-mapped)
        batch is never copied whole.

    Attributes
    ----------
    n_samples_seen_ : int
        Rows accumulated so far.

    See Also
    --------
    get_measure : the measures; all but the RBF ones can be streamed.

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv.similarity import SimilarityAccumulator, cka
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 8))
    >>> Y = X @ rng.normal(size=(8, 6)) + rng.normal(size=(1000, 6))
    >>> acc = SimilarityAccumulator()
    >>> for rows in np.array_split(np.arange(1000), 7):
    ...     acc = acc.update(X[rows], Y[rows])
    >>> bool(abs(acc.score("linear_cka") - cka(X, Y)) < 1e-12)
    True
    """

    @validate_params(
        {"batch_size": [Interval(Integral, 1, None, closed="left")]},
        prefer_skip_nested_validation=True,
    )
    def __init__(self, batch_size=8192):
        self.batch_size = batch_size
        self.n_samples_seen_ = 0
        self._sums = None
        self._pair = None

    # -- accumulation -------------------------------------------------------

    def update(self, X, Y):
        """Add paired rows ``X`` (n, p) and ``Y`` (n, q); returns ``self``."""
        _check_2d(X, "X")
        _check_2d(Y, "Y")
        check_same_samples(X.shape[0], Y.shape[0])
        if self._sums is not None:
            self._check_widths(X.shape[1], Y.shape[1])
        for start in range(0, X.shape[0], self.batch_size):
            stop = start + self.batch_size
            self._update_chunk(X[start:stop], Y[start:stop])
        return self

    def _check_widths(self, p, q):
        if (p, q) != self._widths:
            raise ValueError(
                f"every batch must have the same units: the first had "
                f"{self._widths[0]} and {self._widths[1]} columns, this one has "
                f"{p} and {q}."
            )

    def _update_chunk(self, X, Y):
        X, Y = _as_float64(X, Y)
        self._pair = None
        if self._sums is None:
            self._start(X, Y)
        X = (X - self._shift_x) * self._scale_x
        Y = (Y - self._shift_y) * self._scale_y
        u = (X * X).sum(1)
        v = (Y * Y).sum(1)
        terms = {
            "sx": X.sum(0),
            "sy": Y.sum(0),
            "sxx": X.T @ X,
            "syy": Y.T @ Y,
            "sxy": X.T @ Y,
            "su": u.sum(),
            "sv": v.sum(),
            "suv": u @ v,
            "suu": u @ u,
            "svv": v @ v,
            "ux": u @ X,
            "vx": v @ X,
            "uy": u @ Y,
            "vy": v @ Y,
        }
        for key, value in terms.items():
            self._sums[key] += value
        for side, data in (("x", X), ("y", Y)):
            lo, hi = self._ranges[side]
            self._ranges[side] = _widen(lo, hi, data)
        self.n_samples_seen_ += X.shape[0]

    def _start(self, X, Y):
        self._widths = (X.shape[1], Y.shape[1])
        self._shift_x = X.mean(0)
        self._shift_y = Y.mean(0)
        # every streamed measure is scale-invariant: a power of 2 (exact) from
        # the first batch keeps the sums of squares of 1e200 or 1e-200 finite
        self._scale_x, self._scale_y = (
            2.0 ** -power_of_two(float(abs(Z - shift).max()))
            for Z, shift in ((X, self._shift_x), (Y, self._shift_y))
        )
        p, q = self._widths
        zeros = {
            "sx": (p,),
            "sy": (q,),
            "sxx": (p, p),
            "syy": (q, q),
            "sxy": (p, q),
            "ux": (p,),
            "vx": (p,),
            "uy": (q,),
            "vy": (q,),
        }
        self._sums = {
            key: _full(X, zeros[key], 0.0) if key in zeros else 0.0
            for key in (*_SUMS, *_WEIGHTED)
        }
        inf = float("inf")
        self._ranges = {
            "x": (_full(X, (p,), inf), _full(X, (p,), -inf)),
            "y": (_full(X, (q,), inf), _full(X, (q,), -inf)),
        }

    # -- results --------------------------------------------------------------

    def score(self, measure="linear_cka", **params):
        """The similarity of all rows seen, by a measure of :func:`get_measure`.

        Parameters
        ----------
        measure : str or Measure, default="linear_cka"
            A streamable measure: every one but ``"rbf_cka"`` and
            ``"debiased_rbf_cka"``, whose n × n Gram matrices do not stream.
        **params
            The measure's parameters, when ``measure`` is a name.

        Returns
        -------
        similarity : float
        """
        if not isinstance(measure, Measure):
            measure = get_measure(measure, **params)
        if not measure.streamable:
            raise ValueError(
                f"{measure.name} needs the n x n Gram matrix of all samples and "
                "cannot be streamed; use a linear measure, or call the function "
                "on a subsample."
            )
        moments = self._moments(measure.min_samples)
        if measure.name.endswith("cka"):
            return _cka_from_moments(moments, measure)
        if self._pair is None:
            # the two p × p eigendecompositions serve every spectral measure:
            # kept until the next update, not redone per score() call
            self._pair = _spectral_pair(moments)
        return float(measure.finish(*self._pair))

    @validate_params(
        {"alpha": [Interval(Real, 0, 1, closed="both")]},
        prefer_skip_nested_validation=True,
    )
    def shape_distance(self, alpha=1.0):
        """The angular shape distance of all rows seen; see :func:`shape_distance`.

        Parameters
        ----------
        alpha : float in [0, 1], default=1.0
            Regularisation of the whitening (1: Procrustes, 0: CCA-like).

        Returns
        -------
        distance : float
            In radians, in [0, π/2].
        """
        cosine = self.score(_Procrustes(alpha))
        return float(np.arccos(np.clip(cosine, -1.0, 1.0)))

    def _moments(self, min_samples):
        n = self.n_samples_seen_
        if n < min_samples:
            raise ValueError(
                f"{n} samples were accumulated; this measure needs at least "
                f"{min_samples}. Call update() with more rows first."
            )
        sums = {key: _to_numpy(value) for key, value in self._sums.items()}
        constant = {
            side: _to_numpy(hi) == _to_numpy(lo)
            for side, (lo, hi) in self._ranges.items()
        }
        for side, name in (("x", "X"), ("y", "Y")):
            if constant[side].all():
                raise ValueError(
                    f"every column of {name} is constant, so its similarity to "
                    "anything is undefined; check that the layer is not dead."
                )
        m_x, m_y = sums["sx"] / n, sums["sy"] / n
        cov = {
            "xx": sums["sxx"] - n * np.outer(m_x, m_x),
            "yy": sums["syy"] - n * np.outer(m_y, m_y),
            "xy": sums["sxy"] - n * np.outer(m_x, m_y),
        }
        # a constant unit's co-moments are round-off: make them exactly 0
        cov["xx"][constant["x"]] = cov["xx"][:, constant["x"]] = 0.0
        cov["yy"][constant["y"]] = cov["yy"][:, constant["y"]] = 0.0
        cov["xy"][constant["x"]] = cov["xy"][:, constant["y"]] = 0.0
        return {"n": n, "sums": sums, "m_x": m_x, "m_y": m_y, **cov}


def _cka_from_moments(mo, measure):
    n, sums = mo["n"], mo["sums"]
    xty = float(np.sum(mo["xy"] ** 2))
    xtx = float(np.sum(mo["xx"] ** 2))
    yty = float(np.sum(mo["yy"] ** 2))
    if not measure.debiased:
        return min(xty / np.sqrt(xtx * yty), 1.0)
    # squared row norms of the centred data, a_i = u_i - 2 x_i·m + ‖m‖², summed
    c_x, c_y = mo["m_x"] @ mo["m_x"], mo["m_y"] @ mo["m_y"]
    sum_a = sums["su"] - n * c_x
    sum_b = sums["sv"] - n * c_y
    ab = _sum_products(mo, "x", "y")
    aa = _sum_products(mo, "x", "x")
    bb = _sum_products(mo, "y", "y")
    return ratio(
        debiased_dot(xty, ab, sum_a, sum_b, n),
        (debiased_dot(xtx, aa, sum_a, sum_a, n), xtx),
        (debiased_dot(yty, bb, sum_b, sum_b, n), yty),
        measure.name,
    )


def _sum_products(mo, s, t):
    """Σ_i a_i b_i for the centred squared row norms a (side s) and b (side t).

    With a_i = u_i - 2 x_i·μ + c and b_i = v_i - 2 y_i·ν + d (u, v the shifted
    squared norms, μ, ν the shifted means, c = ‖μ‖², d = ‖ν‖²), expanded into
    the accumulated sums.
    """
    sums, n = mo["sums"], mo["n"]
    mu, nu = mo[f"m_{s}"], mo[f"m_{t}"]
    c, d = mu @ mu, nu @ nu
    u, v = {"x": "u", "y": "v"}[s], {"x": "u", "y": "v"}[t]
    raw_xy = sums["s" + "".join(sorted(s + t))]
    cross = mu @ raw_xy @ nu if s <= t else nu @ raw_xy @ mu
    uv = sums["s" + "".join(sorted(u + v))]
    return (
        uv
        - 2 * nu @ sums[u + t]
        + d * sums["s" + u]
        - 2 * mu @ sums[v + s]
        + 4 * cross
        - 2 * d * mu @ sums["s" + s]
        + c * sums["s" + v]
        - 2 * c * nu @ sums["s" + t]
        + n * c * d
    )


def _spectral_pair(mo):
    """Spectral states of both sides and M = U_xᵀU_y, from the co-moments."""
    a, b = (_spectral_from_cov(mo[key], mo["n"]) for key in ("xx", "yy"))
    # U = X̃ V / s, so UᵀU' = Vᵀ C_xy V' / (s s'ᵀ), with loadings = diag(s) Vᵀ
    M = (a.loadings @ mo["xy"] @ b.loadings.T) / np.outer(a.s**2, b.s**2)
    return a, b, M


def _spectral_from_cov(C, n):
    lam, V = descending_eigh(C)
    keep = ~null_directions(lam, C.shape[0])
    s = np.sqrt(lam[keep])
    return Spectral(n, None, s, s[:, None] * V[:, keep].T)


def _check_2d(X, name):
    if getattr(X, "ndim", None) != 2:
        raise ValueError(
            f"{name} must be a 2-D array or tensor (n_samples, n_units); got "
            f"{type(X).__name__} with shape {getattr(X, 'shape', None)}."
        )


def _as_float64(X, Y):
    """Both chunks as finite float64, on the first torch tensor's device if any."""
    if not (is_torch_tensor(X) or is_torch_tensor(Y)):
        return [
            check_array(Z, dtype=np.float64, input_name=name, ensure_min_samples=0)
            for Z, name in ((X, "X"), (Y, "Y"))
        ]
    import torch

    device = X.device if is_torch_tensor(X) else Y.device
    pair = []
    for Z, name in ((X, "X"), (Y, "Y")):
        if torch.is_tensor(Z) and torch.is_complex(Z):
            raise ValueError(f"{name} is complex; similarity needs real activations.")
        Z = torch.as_tensor(Z, dtype=torch.float64, device=device)
        if not bool(torch.isfinite(Z).all()):
            raise ValueError(
                f"Input {name} contains NaN or infinity; similarity needs finite "
                "activations (drop or impute the affected samples)."
            )
        pair.append(Z)
    return pair


def _full(like, shape, value):
    """An array of ``value`` of the kind (numpy, or torch on its device) of ``like``."""
    if is_torch_tensor(like):
        return like.new_full(shape, value)
    return np.full(shape, value)


def _to_numpy(value):
    if is_torch_tensor(value):
        return value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def _widen(lo, hi, data):
    """Column ranges (lo, hi) extended by the rows of ``data``."""
    if is_torch_tensor(data):
        return lo.minimum(data.amin(0)), hi.maximum(data.amax(0))
    return np.minimum(lo, data.min(0)), np.maximum(hi, data.max(0))
