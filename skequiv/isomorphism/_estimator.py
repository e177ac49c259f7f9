"""Knowledge isomorphism (Liang et al.): B's features from A's, order by order."""

import math
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

from skequiv._compat import Interval, _fit_context, validate_data
from skequiv.utils._threads import one_thread
from skequiv.utils._torch import import_torch, resolve_device

_FLOATS = (np.float64, np.float32)
# elements of A's standardised features per inference chunk (bounds memory)
_CHUNK_ELEMENTS = 2**22


def _check_layout(X, y):
    """Check the ranks and sample counts of A and B; 'dense' or 'conv'."""
    if X.ndim not in (2, 4):
        raise ValueError(
            f"X (network A's features) must be 2-D (n_samples, n_features) or 4-D "
            f"(n_samples, channels, height, width); got shape {X.shape}. Flatten "
            "other layouts first."
        )
    if y.ndim not in (1, 2, 4):
        raise ValueError(
            f"y (network B's features) must be 1-D, 2-D (n_samples, n_features) "
            f"or 4-D (n_samples, channels, height, width); got shape {y.shape}."
        )
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            "X and y must be the features of the same inputs, row by row: X has "
            f"{X.shape[0]} samples and y has {y.shape[0]}."
        )
    if (X.ndim == 4) != (y.ndim == 4):
        raise ValueError(
            "X and y must both be conv features (n, C, H, W) or both dense "
            f"(n, p); got X of shape {X.shape} and y of shape {y.shape}. Flatten "
            "the conv features (reshape(n, -1)) to compare them as dense ones."
        )
    return "conv" if X.ndim == 4 else "dense"


def _resolve_device(device):
    resolved = resolve_device(device)
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(
            f"device={device!r} is not supported: fitted features are evaluated "
            "in float64, so use 'cpu' or 'cuda'."
        )
    return resolved


def _match_spatial(x, size):
    """Resize A's maps to B's spatial size by a fixed linear map.

    Larger maps are average-pooled over adaptive windows; smaller (or mixed)
    ones are interpolated bilinearly. Either way the order-0 component stays
    linear in A.
    """
    if tuple(x.shape[2:]) == tuple(size):
        return x
    F = import_torch().nn.functional
    if x.shape[2] >= size[0] and x.shape[3] >= size[1]:
        return F.adaptive_avg_pool2d(x, size)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def _channel_stats(t):
    """Per-channel mean and variance over samples and positions (float64)."""
    flat = t.transpose(0, 1).flatten(1)
    return flat.mean(1), flat.var(1, correction=0)


def _float64_tensor(a, device):
    """A float64 tensor of ``a``; read-only arrays (memmaps) are copied first."""
    torch = import_torch()
    return torch.as_tensor(
        np.require(a, requirements="W"), dtype=torch.float64, device=device
    )


def _broadcast(v, ndim):
    return v.view(-1, *([1] * (ndim - 2)))


class KnowledgeIsomorphism(RegressorMixin, BaseEstimator):
    """How much of network B's features network A holds, by order of nonlinearity.

    Liang et al.'s *knowledge consistency* [1]_: B's features at one layer
    are reconstructed from A's features of the same inputs by a small
    network g whose output splits exactly into components of increasing
    "fuzziness". The order-0 component is an affine map of A's features,
    order k passes through k ReLUs; the residual is what B holds that A does
    not. The share of B's variance each component carries says how much of
    B's knowledge A holds exactly (order 0) or only in fuzzier forms, and
    :meth:`score` is the held-out R² of the whole reconstruction.

    Torch inside, scikit-learn outside: ``fit(X, y)`` takes A's features as
    ``X`` and B's as ``y``.

    Parameters
    ----------
    n_orders : int, default=3
        Number of components K (orders 0 … K−1); g has K−1 gated ReLU layers.
        The paper uses 3. ``n_orders=1`` is a linear (affine) map.
    alpha : float or array-like of shape (n_orders - 1,), default=0.1
        Penalty α·Σ p_k² on the gates, one value or one per gate; it makes g
        use the fuzzier paths only where the order-0 path cannot explain B.
        The loss is the mean squared error of B's features divided by their
        variance, so α is in units of B's variance (the paper's 0.1 weighed
        raw features). With α = 0 the split between orders is not identified.
    kernel_size : int, default=3
        Odd side of the square convolutions of g for conv features ("same"
        padding). Dense features use dense layers and ignore it.
    hidden_channels : int, default=None
        Width of g's hidden layers (features or channels). None means A's
        width, as in the paper. A's features are padded with zero channels
        up to it: the output map reads the fuzzy paths on the extra channels
        without mixing them with the linear path, which a target nonlinear
        in all of A's directions needs (see Notes). Values below A's width
        mean A's width.
    max_epochs : int, default=200
        Maximum passes over the training samples.
    batch_size : int, default=64
        Samples per Adam step (the paper's 64).
    lr : float, default=1e-3
        Initial Adam learning rate.
    lr_end : float, default=1e-5
        Learning rate reached, by exponential decay, after ``max_epochs``
        (the paper decays 1e-4 → 1e-6 over 1,000 epochs from a random start;
        the least-squares start here allows larger steps and fewer epochs).
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the samples and stop when the
        objective on them has not improved by ``tol`` for
        ``n_iter_no_change`` epochs; the best parameters are kept.
    validation_fraction : float, default=0.1
        Share of the samples held out for early stopping (at least one).
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    tol : float, default=1e-4
        Improvement of the validation objective (in units of B's variance)
        that counts.
    device : str or torch.device, default="cpu"
        Where g is trained and evaluated: "cpu", "cuda" or "cuda:<index>".
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights (through a private ``torch.Generator``;
        torch's global seed is never touched), the validation split and the
        minibatch order.
    verbose : int, default=0
        Show a progress bar over the epochs with the current losses.

    Attributes
    ----------
    module_ : torch.nn.Module
        The fitted g, in float64 on ``device``.
    gates_ : ndarray of shape (n_orders - 1,)
        The learned gates p_k ∈ (0, 1).
    variance_by_order_ : ndarray of shape (n_orders,)
        Variance of each component over the variance of B's features, on the
        training samples (see :meth:`variance_profile`).
    covariance_by_order_ : ndarray of shape (n_orders, n_orders)
        Covariances between the components over B's variance; its diagonal is
        ``variance_by_order_`` and its sum the variance of the prediction.
    unexplained_variance_ : float
        Variance of the residual B − g(A) over B's variance, on the training
        samples.
    x_mean_, x_scale_ : ndarray of shape (n_channels_a,)
        Per-channel mean and standard deviation of A's features (over samples
        and positions), used to standardise them.
    y_mean_ : ndarray of shape (n_channels_b,)
        Per-channel mean of B's features, the constant of the order-0
        component.
    y_scale_ : float
        Root mean per-channel variance of B's features: g is trained on B's
        features divided by it.
    n_epochs_ : int
        Epochs run.
    loss_curve_ : list of float
        Training objective (mean squared error in units of B's variance plus
        the gate penalty) after each epoch.
    validation_loss_curve_ : list of float
        Validation objective after each epoch; empty without early stopping.
    n_features_in_ : int
        Features (dense) or channels (conv) of A seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X``, when it is a DataFrame with string columns.

    See Also
    --------
    NetworkActivations : features of a network's layers, to pass as X and y.
    plot_variance_by_order : stacked variances by order, per layer pair.
    sklearn.linear_model.LinearRegression : the best linear map, an upper
        bound of the order-0 component's R².

    Notes
    -----
    With x̂ A's standardised features, g is (for K = 3)::

        y = W_2 (x̂ + p_1·ReLU(W_1 (x̂ + p_0·ReLU(W_0 x̂ + b_0)) + b_1)) + b_2

    Fixing the ReLU masks of a forward pass, y splits into the sum over
    paths from x̂ to the output; grouping the paths by the ReLUs they cross
    gives the components, whose sum is g(A) to float precision. W_2 appears
    in all of them: the components are paths through one recursive network,
    not separate branches, and they are not orthogonal, so the variances by
    order need not add up to ``1 - unexplained_variance_``
    (``covariance_by_order_`` holds the cross terms).

    Differences from the authors' code, each so that order 0 is exactly
    affine in A and the gates are identified:

    - A's features are standardised per channel with statistics fixed at
      fit time, not divided by each sample's spatial standard deviation (a
      per-sample scale would make order 0 nonlinear in A).
    - The hidden maps have unit-norm filters instead of a detached
      per-sample normalisation, which is 1 for dense features and would let
      a gate be traded against a weight's scale.
    - The maps have biases (A is centred, so without them every ReLU would
      switch at A's mean); a hidden bias belongs to the path of the copy of
      x̂ that enters its layer.
    - The output map starts at the least-squares fit of B from A and the
      gates at 0.1, so training starts from the best order-0 path.
    - ``hidden_channels`` can widen g. At A's width (the paper's), the
      output map reads the linear and the ReLU paths through the same
      channels, so a target nonlinear in every direction of a full-rank A
      (B = ReLU(A·W)) stays partly out of reach; zero channels appended to
      x̂ give the fuzzy paths channels of their own. Layers wider than what
      they encode (most real ones) have such channels already.

    Conv features: the channels are the features (``n_features_in_``), and
    every map of g is a k×k convolution. If A's maps differ in size from
    B's, A's are first resized to B's: average-pooled over adaptive windows
    when larger, bilinearly interpolated otherwise (both linear in A).

    Variances follow the authors' ``Variance.py``: per-channel means over
    samples and positions, averaged over channels and positions. The
    variance of B in the denominator is computed the same way.

    References
    ----------
    .. [1] R. Liang, T. Li, L. Li, J. Wang and Q. Zhang, "Knowledge
       consistency between neural networks and beyond", ICLR 2020,
       arXiv:1908.01581 (as "Knowledge isomorphism between neural
       networks").

    Examples
    --------
    >>> import numpy as np
    >>> from skequiv import KnowledgeIsomorphism
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(1000, 8))
    >>> B = A @ rng.normal(size=(8, 4))
    >>> model = KnowledgeIsomorphism(random_state=0).fit(A[:800], B[:800])
    >>> round(model.score(A[800:], B[800:]), 3)
    1.0
    >>> model.variance_by_order_.round(1)
    array([1., 0., 0.])
    >>> bool(np.allclose(model.decompose(A).sum(0), model.predict(A)))
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_orders": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left"), "array-like"],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "hidden_channels": [Interval(Integral, 1, None, closed="left"), None],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "lr_end": [Interval(Real, 0, None, closed="neither")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": "no_validation",  # checked against torch in fit
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_orders=3,
        *,
        alpha=0.1,
        kernel_size=3,
        hidden_channels=None,
        max_epochs=200,
        batch_size=64,
        lr=1e-3,
        lr_end=1e-5,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.n_orders = n_orders
        self.alpha = alpha
        self.kernel_size = kernel_size
        self.hidden_channels = hidden_channels
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_end = lr_end
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # -- validation -------------------------------------------------------

    def _validate(self, X, y, *, reset):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None: pass network B's features as y."
            )
        X = validate_data(
            self, X, reset=reset, allow_nd=True, dtype=_FLOATS, ensure_min_samples=2
        )
        y = check_array(
            y,
            input_name="y",
            ensure_2d=False,
            allow_nd=True,
            dtype=_FLOATS,
            ensure_min_samples=2,
        )
        layout = _check_layout(X, y)
        if not reset:
            self._check_like_fit(X, y, layout)
        return X, y, layout

    def _check_like_fit(self, X, y, layout):
        if layout != self._layout:
            raise ValueError(
                f"X and y are {layout} features, but the model was fitted on "
                f"{self._layout} features."
            )
        if X.shape[2:] != self._a_spatial_shape:
            raise ValueError(
                f"X has maps of size {X.shape[2:]}, but the model was fitted on "
                f"maps of size {self._a_spatial_shape}."
            )
        expected = self._y_shape
        if y.shape[1:] != expected:
            raise ValueError(
                f"y has features of shape {y.shape[1:]} per sample, but the model "
                f"was fitted on {expected}."
            )

    def _alphas(self):
        alpha = np.asarray(self.alpha, dtype=np.float64)
        n_gates = self.n_orders - 1
        if alpha.ndim == 0:
            return np.full(n_gates, float(alpha))
        if (
            alpha.shape != (n_gates,)
            or np.any(alpha < 0)
            or not np.isfinite(alpha).all()
        ):
            raise ValueError(
                f"alpha must be a non-negative float or one per gate, shape "
                f"({n_gates},) for n_orders={self.n_orders}; got {self.alpha!r}."
            )
        return alpha

    def _check_kernel_size(self):
        if self.kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size must be odd so that 'same' padding is symmetric; got "
                f"{self.kernel_size}."
            )

    # -- fitting ----------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train g to reconstruct B's features from A's.

        Parameters
        ----------
        X : array-like of shape (n_samples, p_A) or (n_samples, C_A, H_A, W_A)
            Network A's features.
        y : array-like of shape (n_samples, p_B), (n_samples,) or \
                (n_samples, C_B, H_B, W_B)
            Network B's features for the same inputs, dense if X is dense and
            conv if X is conv.

        Returns
        -------
        self : KnowledgeIsomorphism
        """
        X, y, layout = self._validate(X, y, reset=True)
        alphas = self._alphas()
        self._check_kernel_size()
        device = _resolve_device(self.device)
        torch = import_torch()
        from skequiv.isomorphism._network import IsomorphismNet

        rng = check_random_state(self.random_state)
        generator = torch.Generator().manual_seed(int(rng.randint(2**31 - 1)))
        self._layout, self._y_shape = layout, y.shape[1:]
        self._a_spatial_shape = X.shape[2:]
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        x_t, y_t = self._standardise(X, y2, device)

        net = IsomorphismNet(
            self.n_orders,
            x_t.shape[1],
            max(self.hidden_channels or 0, x_t.shape[1]),
            y_t.shape[1],
            self.kernel_size,
            layout == "conv",
            generator,
        ).to(device)
        train, val = self._split(X.shape[0], rng)
        self._train(net, x_t, y_t, train, val, alphas, rng)
        self.module_ = net.double().requires_grad_(False)
        self.gates_ = self.module_.gates.cpu().numpy()
        profile = self._profile(X, y)
        self.variance_by_order_ = profile.variance_by_order
        self.covariance_by_order_ = profile.covariance_by_order
        self.unexplained_variance_ = profile.unexplained_variance
        return self

    def _standardise(self, X, y, device):
        """Fit the fixed standardisations; return training tensors (float32)."""
        torch = import_torch()
        y_t = _float64_tensor(y, device)
        x_t = _float64_tensor(X, device)
        if x_t.ndim == 4:
            x_t = _match_spatial(x_t, y_t.shape[2:])
        x_mean, x_var = _channel_stats(x_t)
        x_scale = torch.where(x_var > 0, x_var.sqrt(), torch.ones_like(x_var))
        y_mean, y_var = _channel_stats(y_t)
        y_scale = float(y_var.mean().sqrt()) or 1.0
        self.x_mean_, self.x_scale_ = x_mean.cpu().numpy(), x_scale.cpu().numpy()
        self.y_mean_, self.y_scale_ = y_mean.cpu().numpy(), y_scale
        x_t = (x_t - _broadcast(x_mean, x_t.ndim)) / _broadcast(x_scale, x_t.ndim)
        y_t = (y_t - _broadcast(y_mean, y_t.ndim)) / y_scale
        return x_t.float(), y_t.float()

    def _split(self, n_samples, rng):
        order = rng.permutation(n_samples)
        if not self.early_stopping:
            return order, order[:0]
        n_val = max(1, round(self.validation_fraction * n_samples))
        return order[n_val:], order[:n_val]

    def _train(self, net, x, y, train, val, alphas, rng):
        torch = import_torch()
        from skequiv.isomorphism._network import init_output_least_squares

        train_t = torch.as_tensor(train, device=x.device)
        init_output_least_squares(net, x[train_t], y[train_t])
        optimiser = torch.optim.Adam(net.parameters(), lr=self.lr)
        gamma = (self.lr_end / self.lr) ** (1 / max(self.max_epochs - 1, 1))
        schedule = torch.optim.lr_scheduler.ExponentialLR(optimiser, gamma)
        alpha = torch.as_tensor(alphas, dtype=x.dtype, device=x.device)

        def objective(pred, target):
            return torch.mean((pred - target) ** 2) + torch.sum(alpha * net.gates**2)

        # minibatch steps are small: on few, shared cores torch's OpenMP
        # threads wait on each other longer than they compute (10x slower)
        with one_thread():
            self._optimise(net, x, y, train, val, optimiser, schedule, objective, rng)

    def _optimise(self, net, x, y, train, val, optimiser, schedule, objective, rng):
        torch = import_torch()
        self.loss_curve_, self.validation_loss_curve_ = [], []
        best, best_state, stale = math.inf, None, 0
        val_t = torch.as_tensor(val, device=x.device)
        bar = self._progress_bar()
        for epoch in range(self.max_epochs):
            self.loss_curve_.append(
                self._epoch(net, x, y, rng.permutation(train), optimiser, objective)
            )
            schedule.step()
            self.n_epochs_ = epoch + 1
            if len(val):
                with torch.no_grad():
                    loss = float(objective(net(x[val_t]), y[val_t]))
                self.validation_loss_curve_.append(loss)
                stale = 0 if loss < best - self.tol else stale + 1
                if loss < best:
                    best = loss
                    best_state = {k: v.clone() for k, v in net.state_dict().items()}
            if bar is not None:
                bar.update()
                bar.set_postfix(loss=self.loss_curve_[-1], validation=best)
            if stale >= self.n_iter_no_change:
                break
        if bar is not None:
            bar.close()
        if best_state is not None:
            net.load_state_dict(best_state)

    def _progress_bar(self):
        if not self.verbose:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=self.max_epochs, desc=type(self).__name__, unit="epoch")

    def _epoch(self, net, x, y, order, optimiser, objective):
        torch = import_torch()
        total = 0.0
        for start in range(0, len(order), self.batch_size):
            batch = torch.as_tensor(
                order[start : start + self.batch_size], device=x.device
            )
            loss = objective(net(x[batch]), y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(batch)
        return total / len(order)

    # -- inference --------------------------------------------------------

    def _chunks(self, X):
        """Standardised float64 tensors of A's features, chunk by chunk."""
        torch = import_torch()
        device = next(self.module_.parameters()).device
        mean = torch.as_tensor(self.x_mean_, device=device)
        scale = torch.as_tensor(self.x_scale_, device=device)
        # the widest array is the stack of components at the hidden width
        width = max(self.module_.n_hidden, *self._y_shape[:1], 1)
        per_sample = self.n_orders * width * math.prod(self._y_shape[1:])
        size = max(1, _CHUNK_ELEMENTS // per_sample)
        for start in range(0, X.shape[0], size):
            x = _float64_tensor(X[start : start + size], device)
            if x.ndim == 4:
                x = _match_spatial(x, self._y_shape[1:])
            yield (x - _broadcast(mean, x.ndim)) / _broadcast(scale, x.ndim)

    def _with_mean(self, out):
        """Add B's per-channel mean (the constant of the order-0 component)."""
        torch = import_torch()
        mean = torch.as_tensor(self.y_mean_, device=out.device)
        return out + _broadcast(mean, out.ndim)

    def _output_shape(self, out):
        return out[..., 0] if len(self._y_shape) == 0 else out

    def _check_X(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, allow_nd=True, dtype=_FLOATS)
        if (X.ndim == 4) != (self._layout == "conv") or X.shape[
            2:
        ] != self._a_spatial_shape:
            raise ValueError(
                f"X has shape {X.shape}, but the model was fitted on features of "
                f"shape (n_samples, {self.n_features_in_}"
                + "".join(f", {s}" for s in self._a_spatial_shape)
                + ")."
            )
        return X

    def predict(self, X):
        """Reconstruct B's features from A's: g(A).

        Parameters
        ----------
        X : array-like of shape (n_samples, p_A) or (n_samples, C_A, H_A, W_A)
            Network A's features.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, p_B), (n_samples,) or \
                (n_samples, C_B, H_B, W_B)
            The reconstruction of B's features, in the layout of ``y`` in fit.
        """
        X = self._check_X(X)
        torch = import_torch()
        with torch.no_grad():
            parts = [
                self._with_mean(self.module_(x) * self.y_scale_).cpu()
                for x in self._chunks(X)
            ]
        return self._output_shape(torch.cat(parts).numpy())

    def decompose(self, X):
        """Components of the reconstruction by order of nonlinearity.

        Parameters
        ----------
        X : array-like of shape (n_samples, p_A) or (n_samples, C_A, H_A, W_A)
            Network A's features.

        Returns
        -------
        components : ndarray of shape (n_orders, n_samples, ...)
            ``components[k]`` passed through k ReLUs; ``components[0]``
            holds B's mean and is affine in A. Their sum over the first axis
            is :meth:`predict` (to float precision).
        """
        X = self._check_X(X)
        torch = import_torch()
        with torch.no_grad():
            parts = []
            for x in self._chunks(X):
                out = self.module_.decompose(x) * self.y_scale_
                out[0] = self._with_mean(out[0])
                parts.append(out.cpu())
        return self._output_shape(torch.cat(parts, dim=1).numpy())

    def variance_profile(self, X, y):
        """Variance of B's features carried by each order, and left unexplained.

        Parameters
        ----------
        X : array-like of shape (n_samples, p_A) or (n_samples, C_A, H_A, W_A)
            Network A's features (held-out inputs, for an honest profile).
        y : array-like of shape (n_samples, p_B), (n_samples,) or \
                (n_samples, C_B, H_B, W_B)
            Network B's features for the same inputs.

        Returns
        -------
        profile : :class:`~sklearn.utils.Bunch`
            ``variance_by_order`` (n_orders,), ``covariance_by_order``
            (n_orders, n_orders), ``unexplained_variance`` (the residual's
            variance) — all over the variance of ``y`` — and ``score``, the R².
            NaN ratios where ``y`` is constant.
        """
        check_is_fitted(self)
        X, y, _ = self._validate(X, y, reset=False)
        return self._profile(X, y)

    def score(self, X, y, sample_weight=None):
        """Held-out R² of the reconstruction of B's features (larger is better).

        ``1 - Σ (y - g(X))² / Σ (y - ȳ)²`` with ȳ the per-channel mean (over
        samples and positions): the variance-weighted R² over B's features.

        Parameters
        ----------
        X : array-like of shape (n_samples, p_A) or (n_samples, C_A, H_A, W_A)
            Network A's features.
        y : array-like of shape (n_samples, p_B), (n_samples,) or \
                (n_samples, C_B, H_B, W_B)
            Network B's features for the same inputs.
        sample_weight : None
            Not supported; present for scikit-learn's signature.

        Returns
        -------
        score : float
        """
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by KnowledgeIsomorphism.")
        return self.variance_profile(X, y).score

    def _profile(self, X, y):
        """Moments of [components, B, residual], streamed over chunks."""
        torch = import_torch()
        y_all = y.reshape(-1, 1) if y.ndim == 1 else y
        sums, gram, start = None, None, 0
        with torch.no_grad():
            for x in self._chunks(X):
                parts = self.module_.decompose(x) * self.y_scale_
                b = _float64_tensor(y_all[start : start + x.shape[0]], x.device)
                start += x.shape[0]
                b = b - _broadcast(
                    torch.as_tensor(self.y_mean_, device=x.device), b.ndim
                )
                stack = torch.cat([parts, b[None], (b - parts.sum(0))[None]])
                s, g = _moments(stack)
                sums, gram = (s, g) if sums is None else (sums + s, gram + g)
        return _relative(
            sums.cpu().numpy(), gram.cpu().numpy(), y_all.shape, self.n_orders
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = True
        return tags


def _moments(stack):
    """Per-channel sums (m, C) and the Gram matrix (m, m) of m stacked arrays."""
    m, c = stack.shape[0], stack.shape[2]
    per_channel = stack.transpose(1, 2).reshape(m, c, -1)
    flat = per_channel.reshape(m, -1)
    return per_channel.sum(-1), flat @ flat.T


def _relative(sums, gram, shape, n_orders):
    """Covariances (per-channel centred) over B's variance, and the R²."""
    n_per_channel = shape[0] * math.prod(shape[2:])
    n_elements = n_per_channel * shape[1]
    cov = (gram - sums @ sums.T / n_per_channel) / n_elements
    var_b = cov[n_orders, n_orders]
    # r2_score's convention for a constant target
    sse = gram[-1, -1]
    if var_b > 0:
        score = 1.0 - sse / (var_b * n_elements)
    else:
        score = 1.0 if sse == 0 else 0.0
    ratio = cov / var_b if var_b > 0 else np.full_like(cov, np.nan)
    return Bunch(
        variance_by_order=np.diag(ratio)[:n_orders].copy(),
        covariance_by_order=ratio[:n_orders, :n_orders].copy(),
        unexplained_variance=float(ratio[-1, -1]),
        score=float(score),
    )
