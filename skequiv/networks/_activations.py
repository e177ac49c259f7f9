"""Activations and Jacobians of skorch and torch networks, as a transformer."""

import itertools
import math
import sys
import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.utils.validation import check_is_fitted

from skequiv._compat import (
    Interval,
    StrOptions,
    _check_feature_names_in,
    _fit_context,
    validate_data,
)
from skequiv.metric import MetricData, MetricSourceMixin
from skequiv.networks._hooks import (
    OUTPUT,
    batch_dimension_error,
    capture,
    eval_mode,
    not_a_tensor_error,
    not_called_error,
    per_sample_2d,
    probe,
    resolve_layers,
    shared_module_error,
)
from skequiv.networks._jacobian import (
    check_jacobians,
    choose_mode,
    chunk_size,
    per_sample_jacobian,
)
from skequiv.networks._plan import Plan
from skequiv.utils._torch import import_torch, resolve_device
from skequiv.utils._warnings import user_stacklevel

_DTYPE_NAMES = ("float16", "bfloat16", "float32", "float64")


class NetworkActivations(MetricSourceMixin, TransformerMixin, BaseEstimator):
    """Activations and input Jacobians of a trained network, as a transformer.

    Maps network inputs ``X`` to the activations of chosen layers (flattened
    per sample and concatenated), computed in batches without gradients.
    :meth:`jacobian` returns the derivative of those activations with respect
    to the input, and :meth:`metric_data` bundles both, which makes the object
    a metric source for :class:`~skequiv.MahalanobisDiffusionMap`.

    Parameters
    ----------
    net : skorch.NeuralNet, sklearn.frozen.FrozenEstimator or torch.nn.Module
        The network. A skorch net must be fitted (initialized). ``clone`` turns
        a fitted skorch net into an unfitted one, so inside a ``Pipeline``,
        ``GridSearchCV`` or a metric source that is cloned, pass
        ``FrozenEstimator(net)``, which keeps the trained weights. A plain
        module is deep-copied by ``clone``, weights included. The network is
        never modified: parameters are copied to ``device``/``dtype`` only
        when they differ, and training flags are restored after each call.
    layers : str or sequence of str, default=("output",)
        Layers to read, by their dotted names in ``net.named_modules()`` (for
        a skorch net, ``net.module_.named_modules()``), and ``"output"`` for the
        value the network's ``forward`` returns (before any nonlinearity skorch
        adds in ``predict_proba``). ``"output"`` always means the network
        output, also where a submodule happens to be named ``"output"``.
        Each layer must be called once per forward pass and return a tensor
        whose first dimension is the batch.
    neurons : sequence of int or str, default=None
        A subset of activations, in the order given: integers index the
        concatenated activations of ``layers``; strings ``"layer:index"`` index
        one layer's flattened activations (the names
        :meth:`get_feature_names_out` returns). ``None`` keeps all.
    input_shape : tuple of int, default=None
        Per-sample shape the network expects, e.g. ``(1, 28, 28)``. When
        given, ``X`` is 2-D and each row is reshaped in C order. When ``None``,
        ``X`` is passed to the network as it is (2-D, or N-D for images).
    batch_size : int, default=256
        Samples per forward pass. Jacobians use chunks of at most this many
        samples, fewer where the Jacobian of a chunk would exceed about
        256 MiB of intermediate memory.
    device : str or torch.device, default="cpu"
        Where to compute, e.g. ``"cuda"``. Results are returned as numpy.
    dtype : {"float32", "float64", "float16", "bfloat16"} or torch.dtype, default=None
        Compute dtype. ``None`` uses the dtype of the network's parameters.
        :meth:`transform` returns activations in this dtype (``bfloat16`` as
        ``float32``); :meth:`jacobian` and :meth:`metric_data` always return
        float64, computed in this dtype. Use ``dtype="float64"`` for
        Jacobians accurate beyond single precision.
    metric : {"jacobian", "burst"}, default="jacobian"
        What :meth:`metric_data` returns: exact Jacobians by automatic
        differentiation, or burst covariances ``Cov[f(x + σξ)] / σ²`` for
        networks that are not differentiable.
    jacobian_mode : {"auto", "forward", "reverse"}, default="auto"
        ``torch.func.jacfwd`` or ``jacrev``; ``"auto"`` takes forward mode when
        the input has fewer features than there are selected activations.
    sigma : float, default=1e-2
        Burst amplitude, in units of the (flattened) input; ``metric="burst"``.
    n_bursts : int, default=64
        Perturbations per sample; ``metric="burst"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the burst perturbations; ``metric="burst"``.

    Attributes
    ----------
    n_features_in_ : int
        ``X.shape[1]`` seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X``, when it is a DataFrame with string columns.
    input_shape_ : tuple of int
        Per-sample shape fed to the network.
    layer_shapes_ : dict of str to tuple of int
        Per-sample output shape of each layer in ``layers``.
    neuron_indices_ : ndarray of shape (n_activations,)
        Selected indices into the concatenated activations of ``layers``.

    See Also
    --------
    skequiv.MahalanobisDiffusionMap : embeds observations with their metric.
    skequiv.BurstCovarianceMetric : burst covariances of any function.

    Notes
    -----
    Flattening is C order throughout: a convolutional map of shape
    ``(channels, height, width)`` becomes ``channels * height * width``
    activations with the width index varying fastest, so neuron ``"conv:k"``
    is channel ``k // (height * width)``, row ``(k // width) % height``,
    column ``k % width``. Jacobians have shape
    ``(n_samples, n_activations, n_input_features)`` with the input flattened
    in the same C order, whatever ``input_shape`` is.

    Jacobians are computed with ``torch.func.vmap`` over ``jacrev`` (or
    ``jacfwd``) of the per-sample map to the selected activations only, so the
    rows of unselected neurons are never computed. Intermediate layers are
    read by forward hooks that exist only during the call (also when it
    raises), and the network runs in evaluation mode (dropout off, batch-norm
    running statistics).

    References
    ----------
    .. [1] T. Bertalan, F. Dietrich and I. G. Kevrekidis, "Transformations
       establishing equivalence across neural networks: When have two
       networks learned the same task?", Chaos 34, 073138 (2024).

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skequiv import NetworkActivations
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = torch.nn.Sequential(
    ...     torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)
    ... )
    >>> X = np.random.default_rng(0).normal(size=(5, 2))
    >>> acts = NetworkActivations(net, layers=("1", "output")).fit(X)
    >>> acts.transform(X).shape
    (5, 9)
    >>> acts.get_feature_names_out()[[0, -1]]
    array(['1:0', 'output:0'], dtype=object)
    >>> acts.jacobian(X).shape
    (5, 9, 2)
    """

    _parameter_constraints: ClassVar[dict] = {
        "net": "no_validation",
        "layers": [str, list, tuple],
        "neurons": [None, "array-like", str],
        "input_shape": [None, list, tuple],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": "no_validation",
        "dtype": "no_validation",
        "metric": [StrOptions({"jacobian", "burst"})],
        "jacobian_mode": [StrOptions({"auto", "forward", "reverse"})],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "n_bursts": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        net,
        layers=("output",),
        *,
        neurons=None,
        input_shape=None,
        batch_size=256,
        device="cpu",
        dtype=None,
        metric="jacobian",
        jacobian_mode="auto",
        sigma=1e-2,
        n_bursts=64,
        random_state=None,
    ):
        self.net = net
        self.layers = layers
        self.neurons = neurons
        self.input_shape = input_shape
        self.batch_size = batch_size
        self.device = device
        self.dtype = dtype
        self.metric = metric
        self.jacobian_mode = jacobian_mode
        self.sigma = sigma
        self.n_bursts = n_bursts
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the network and layers, and measure the layer shapes.

        Runs one forward pass on (at most) five samples of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Network inputs.
        y : None
            Ignored.

        Returns
        -------
        self : NetworkActivations
        """
        torch = import_torch()
        module = _unwrap_module(self.net)
        layers = self._layer_names()
        resolve_layers(module, layers)
        X = self._validate_X(X, reset=True)
        runner = _Runner(torch, module, self.device, self.dtype)

        # a few samples, so that a batch dimension is unlikely to coincide
        # with another dimension of the same size
        x = runner.tensor(X[:5])
        with eval_mode(module), torch.inference_mode():
            try:
                output, calls = probe(module, runner, x)
            except Exception as exc:
                raise ValueError(
                    "The network could not be evaluated on inputs of per-sample "
                    f"shape {self.input_shape_} ({type(exc).__name__}: {exc}). "
                    "Check `X` or `input_shape`."
                ) from exc

        batch = x.shape[0]
        shapes = {}
        for name in layers:
            if name == OUTPUT:
                per_sample_2d(OUTPUT, output, batch)
                shapes[name] = tuple(output.shape[1:]) or (1,)
                continue
            seen = calls[name]
            if not seen:
                raise not_called_error(name)
            if len(seen) > 1:
                raise shared_module_error(name, len(seen))
            if isinstance(seen[0], str):
                raise not_a_tensor_error(name, seen[0])
            if seen[0][0] != batch:
                raise batch_dimension_error(name, seen[0], batch)
            shapes[name] = tuple(seen[0][1:]) or (1,)

        self.layer_shapes_ = shapes
        sizes = [math.prod(shapes[name]) for name in layers]
        self.neuron_indices_ = _resolve_neurons(self.neurons, layers, sizes)
        self._n_features_out = len(self.neuron_indices_)
        self._numel_per_sample = int(
            sum(
                math.prod(s[1:])
                for c in calls.values()
                for s in c
                if isinstance(s, tuple)
            )
        )
        return self

    def transform(self, X):
        """Activations of the selected layers and neurons.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Network inputs.

        Returns
        -------
        activations : ndarray of shape (n_samples, n_activations)
            In the compute dtype (see ``dtype``).
        """
        check_is_fitted(self)
        return self._activations(self._validate_X(X, reset=False))

    def jacobian(self, X):
        """Derivatives of the selected activations with respect to the input.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Network inputs.

        Returns
        -------
        jacobians : ndarray of shape (n_samples, n_activations, n_input_features)
            float64; ``n_input_features`` is the per-sample input size, the
            input flattened in C order.
        """
        check_is_fitted(self)
        return self._jacobians(self._validate_X(X, reset=False))

    def metric_data(self, X, *, spectra=False):
        """Activations and their metric at each sample, for a diffusion map.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Network inputs.
        spectra : bool, default=False
            With ``metric="jacobian"``: reduce the Jacobians chunk by chunk to
            the eigen-decomposition of each ``C_i = J_i J_i^T``
            (:func:`~skequiv.metric.local_spectra`), so that the Jacobians of a
            wide layer are never held whole. :class:`MahalanobisDiffusionMap`
            asks for this.

        Returns
        -------
        data : MetricData
            ``observations`` (n_samples, n_activations) and, for
            ``metric="jacobian"``, ``jacobians``
            (n_samples, n_activations, n_input_features) or, with ``spectra``,
            ``spectra`` (eigenvalues (n_samples, k) and vectors
            (n_samples, k, n_activations), ``k = min(n_activations,
            n_input_features)``), or, for ``metric="burst"``, ``covariances``
            (n_samples, n_activations, n_activations); all float64.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        if self.metric == "jacobian":
            observations = self._activations(X, out_dtype=np.float64)
            if spectra:
                return MetricData(
                    observations=observations,
                    spectra=self._jacobians(X, reduce=_spectra_of_chunk),
                )
            return MetricData(observations=observations, jacobians=self._jacobians(X))
        from skequiv.metric import burst_covariances

        shape = self.input_shape_

        def activations(Z):
            Z = np.ascontiguousarray(Z).reshape((-1, *shape))
            return self._activations(Z, out_dtype=np.float64)

        observations, covariances = burst_covariances(
            activations,
            X.reshape(X.shape[0], -1),
            sigma=self.sigma,
            n_bursts=self.n_bursts,
            random_state=self.random_state,
            batch_size=self.batch_size,
        )
        return MetricData(observations=observations, covariances=covariances)

    def get_feature_names_out(self, input_features=None):
        """Names of the output activations, ``"layer:index"``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against ``feature_names_in_``; the output names do
            not depend on it.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        names = []
        layers = self._layer_names()
        offsets = _offsets(self, layers)
        owner = np.searchsorted(offsets, self.neuron_indices_, side="right") - 1
        for layer, index in zip(owner, self.neuron_indices_, strict=True):
            names.append(f"{layers[layer]}:{index - offsets[layer]}")
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # output dtype is the network's compute dtype, not the input's
        tags.transformer_tags.preserves_dtype = []
        tags.input_tags.three_d_array = True
        return tags

    # -- internals ---------------------------------------------------------

    def _layer_names(self):
        layers = (self.layers,) if isinstance(self.layers, str) else tuple(self.layers)
        if not layers:
            raise ValueError("`layers` is empty; name at least one layer or 'output'.")
        for name in layers:
            if not isinstance(name, str):
                raise TypeError(
                    f"`layers` must contain layer names (str); got {name!r} "
                    f"of type {type(name).__name__}."
                )
        if len(set(layers)) != len(layers):
            raise ValueError(f"`layers` names a layer twice: {layers!r}.")
        return layers

    def _validate_X(self, X, *, reset):
        X = validate_data(
            self, X, reset=reset, allow_nd=True, dtype=(np.float64, np.float32)
        )
        if self.input_shape is not None:
            shape = tuple(int(s) for s in self.input_shape)
            if X.ndim != 2 or X.shape[1] != math.prod(shape):
                raise ValueError(
                    f"`input_shape`={shape} needs 2-D X with {math.prod(shape)} "
                    f"features per row; got X of shape {X.shape}."
                )
            X = X.reshape((X.shape[0], *shape))
        if reset:
            self.input_shape_ = tuple(X.shape[1:])
        elif tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"X has per-sample shape {tuple(X.shape[1:])}, but "
                f"{type(self).__name__} was fitted on {self.input_shape_}."
            )
        return X

    def _setup(self, torch):
        module = _unwrap_module(self.net)
        layers = self._layer_names()
        runner = _Runner(torch, module, self.device, self.dtype)
        plan = Plan(
            torch,
            layers,
            _offsets(self, layers),
            self.neuron_indices_,
            resolve_layers(module, layers),
            runner.device,
        )
        return module, runner, plan

    def _activations(self, X, out_dtype=None):
        torch = import_torch()
        module, runner, plan = self._setup(torch)
        n = X.shape[0]
        m = len(self.neuron_indices_)
        out = np.empty((n, m), dtype=out_dtype or runner.np_dtype)
        with (
            eval_mode(module),
            capture(plan.hooked, plan.record),
            torch.inference_mode(),
        ):
            for start in range(0, n, self.batch_size):
                stop = min(start + self.batch_size, n)
                rows = torch.from_numpy(out[start:stop])
                x = runner.tensor(X[start:stop])
                if runner.device.type == "cpu":
                    # hooks copy each layer's neurons straight into the result
                    plan.write(runner.inference, x, rows)
                else:
                    buffer = torch.empty(
                        rows.shape, dtype=rows.dtype, device=runner.device
                    )
                    plan.write(runner.inference, x, buffer)
                    rows.copy_(buffer)
        _check_finite_activations(out)
        return out

    def _jacobians(self, X, reduce=None):
        """Jacobians (n, n_out, n_in), or ``reduce`` applied chunk by chunk.

        ``reduce`` maps a float64 chunk of Jacobians (c, n_out, n_in) to a
        tuple of arrays with c rows each; their row-wise concatenations are
        returned, and no more than one chunk of Jacobians exists at a time.
        """
        torch = import_torch()
        module, runner, plan = self._setup(torch)
        n = X.shape[0]
        n_in = math.prod(self.input_shape_)
        n_out = len(self.neuron_indices_)
        mode = choose_mode(self.jacobian_mode, n_in, n_out)
        step = chunk_size(
            self.batch_size,
            n_in if mode == "forward" else n_out,
            self._numel_per_sample + n_in,
            runner.itemsize,
        )
        out = None if reduce else np.empty((n, n_out, n_in), dtype=np.float64)
        reduced = None

        def one_sample(x):
            return plan.values(runner, x.unsqueeze(0))[0]

        jacobian = per_sample_jacobian(one_sample, mode)
        with (
            eval_mode(module),
            capture(plan.hooked, plan.record),
            torch.no_grad(),  # torch.func transforms differentiate inside it
        ):
            for start in range(0, n, step):
                stop = min(start + step, n)
                values = jacobian(runner.tensor(X[start:stop]))
                if reduce is None:
                    # one copy: dtype conversion and device-to-host together
                    torch.from_numpy(out[start:stop]).copy_(
                        values.reshape(stop - start, n_out, n_in)
                    )
                    continue
                chunk = np.empty((stop - start, n_out, n_in), dtype=np.float64)
                torch.from_numpy(chunk).copy_(values.reshape(chunk.shape))
                del values
                parts = reduce(chunk)
                if reduced is None:  # preallocated: no concatenation copies
                    reduced = tuple(
                        np.empty((n, *p.shape[1:]), dtype=p.dtype) for p in parts
                    )
                for whole, part in zip(reduced, parts, strict=True):
                    whole[start:stop] = part
        return check_jacobians(out) if reduce is None else reduced


def _check_finite_activations(out):
    """Refuse activations that overflowed inside the network."""
    finite = np.isfinite(out).all(axis=1)
    if not finite.all():
        raise ValueError(
            f"The network returned non-finite activations (NaN or inf) at "
            f"{int(finite.size - finite.sum())} of {finite.size} samples (first: "
            f"sample {int(np.argmin(finite))}). X is likely far outside the range "
            "the network was trained on, or the compute dtype overflows: rescale "
            "X, or pass dtype='float64'."
        )


def _spectra_of_chunk(jacobians):
    from skequiv.metric import check_metric_data, local_spectra

    # validated chunk by chunk (NaN, complex, scale); all-zero chunks are
    # legitimate here (dead regions), an all-zero whole is caught later
    if np.any(jacobians):
        check_metric_data(
            jacobians, n_samples=jacobians.shape[0], n_features=jacobians.shape[1]
        )
    return local_spectra(jacobians=jacobians)


def _offsets(estimator, layers):
    sizes = [math.prod(estimator.layer_shapes_[name]) for name in layers]
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)


def _unwrap_module(net):
    """The torch module behind ``net``, or a clear error."""
    torch = import_torch()
    inner = net.estimator if isinstance(net, FrozenEstimator) else net
    if isinstance(inner, torch.nn.Module):
        return inner
    # a skorch net can only exist where skorch was imported; no need to import it
    skorch = sys.modules.get("skorch")
    if skorch is not None and isinstance(inner, skorch.NeuralNet):
        if not getattr(inner, "initialized_", False):
            raise NotFittedError(
                f"The skorch net {type(inner).__name__} passed as `net` is not "
                "fitted. Fit it first. Note that clone() (used by Pipeline, "
                "GridSearchCV and cross_val_score) returns an unfitted copy of a "
                "skorch net: wrap a trained net as "
                "sklearn.frozen.FrozenEstimator(net) to keep its weights."
            )
        return inner.module_
    raise TypeError(
        "`net` must be a fitted skorch NeuralNet, a sklearn.frozen.FrozenEstimator "
        f"wrapping one, or a torch.nn.Module; got {type(net).__name__}."
    )


def _resolve_neurons(neurons, layers, sizes):
    """Global indices into the concatenated activations of ``layers``."""
    total = int(sum(sizes))
    if neurons is None:
        return np.arange(total, dtype=np.intp)
    items = [neurons] if isinstance(neurons, str) else list(neurons)
    if not items:
        raise ValueError("`neurons` is empty; pass None to keep every activation.")
    offsets = dict(zip(layers, np.concatenate([[0], np.cumsum(sizes)]), strict=False))
    size_of = dict(zip(layers, sizes, strict=True))
    indices = []
    for item in items:
        if isinstance(item, bool | np.bool_):
            raise TypeError(
                f"`neurons` holds a boolean ({item!r}); give integer indices or "
                "'layer:index' names."
            )
        if isinstance(item, Integral):
            index = int(item)
            if not 0 <= index < total:
                raise ValueError(
                    f"Neuron index {index} in `neurons` is out of range: the "
                    f"layers {layers} have {total} activations, indices 0 to "
                    f"{total - 1}."
                )
        elif isinstance(item, str):
            layer, sep, local = item.rpartition(":")
            if not sep or layer not in size_of:
                raise ValueError(
                    f"Neuron name {item!r} in `neurons` must be 'layer:index' "
                    f"with layer one of {layers}."
                )
            try:
                local = int(local)
            except ValueError:
                raise ValueError(
                    f"Neuron name {item!r} in `neurons`: {local!r} is not an "
                    "integer index."
                ) from None
            if not 0 <= local < size_of[layer]:
                raise ValueError(
                    f"Neuron {item!r} in `neurons` is out of range: layer "
                    f"{layer!r} has {size_of[layer]} activations, indices 0 to "
                    f"{size_of[layer] - 1}."
                )
            index = int(offsets[layer]) + local
        else:
            raise TypeError(
                "`neurons` must hold integer indices or 'layer:index' names; got "
                f"{item!r} of type {type(item).__name__}."
            )
        indices.append(index)
    indices = np.asarray(indices, dtype=np.intp)
    unique, counts = np.unique(indices, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(
            f"`neurons` selects activation {int(unique[counts > 1][0])} more than once."
        )
    return indices


class _Runner:
    """The network's forward at a device and dtype, without touching the net.

    Built anew in every call and never stored on the estimator.
    """

    def __init__(self, torch, module, device, dtype):
        self.torch = torch
        self.module = module
        self.device = resolve_device(device)
        self.dtype = _resolve_dtype(torch, dtype, module)
        self.itemsize = torch.empty((), dtype=self.dtype).element_size()
        self.np_dtype = (
            np.float32
            if self.dtype == torch.bfloat16
            else torch.empty((), dtype=self.dtype).numpy().dtype
        )
        # detach() and a no-op to() give views: no copy where nothing changes
        named = list(itertools.chain(module.named_parameters(), module.named_buffers()))
        self.state = {
            name: tensor.detach().to(
                device=self.device,
                dtype=self.dtype if tensor.is_floating_point() else None,
            )
            for name, tensor in named
        }
        # Without gradients the module can run as it is when nothing had to
        # be converted, which spares functional_call's per-batch swapping.
        unchanged = all(
            self.state[name].data_ptr() == tensor.data_ptr()
            and self.state[name].dtype == tensor.dtype
            for name, tensor in named
        )
        self.inference = module if unchanged else self

    def tensor(self, X):
        """``X`` (finite, float32 or float64) at the compute device and dtype.

        A narrower compute dtype overflows large values to inf and flushes
        tiny ones to zero; both are reported here, where the cast happens.
        """
        if not X.flags.writeable:  # torch.from_numpy warns on read-only arrays
            X = X.copy()
        given = self.torch.from_numpy(X)
        x = given.to(device=self.device, dtype=self.dtype)
        finfo = self.torch.finfo
        if finfo(x.dtype).bits >= finfo(given.dtype).bits:
            return x  # a widening cast is exact
        if not bool(self.torch.isfinite(x).all()):
            raise ValueError(
                f"X has values up to {np.abs(X).max():.3g}, beyond the largest "
                f"{self.dtype} ({self.torch.finfo(self.dtype).max:.3g}), the "
                "network's compute dtype: they would overflow to inf. Rescale X "
                "to the range the network was trained on, or pass dtype='float64'."
            )
        if bool(((x == 0) & (given != 0).to(x.device)).any()):
            warnings.warn(
                f"Nonzero values of X (down to {np.abs(X[X != 0]).min():.3g}) "
                f"underflow to zero in the network's compute dtype {self.dtype} "
                f"(smallest normal {self.torch.finfo(self.dtype).tiny:.3g}). "
                "Rescale X to the range the network was trained on, or pass "
                "dtype='float64'.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        return x

    def __call__(self, x):
        return self.torch.func.functional_call(self.module, self.state, (x,))


def _resolve_dtype(torch, dtype, module):
    if dtype is None:
        for tensor in itertools.chain(module.parameters(), module.buffers()):
            if tensor.is_floating_point():
                return tensor.dtype
        return torch.get_default_dtype()
    if isinstance(dtype, str) and dtype in _DTYPE_NAMES:
        return getattr(torch, dtype)
    if isinstance(dtype, torch.dtype) and dtype.is_floating_point:
        return dtype
    raise ValueError(
        f"`dtype` must be None, one of {_DTYPE_NAMES} or a floating torch.dtype; "
        f"got {dtype!r}."
    )
