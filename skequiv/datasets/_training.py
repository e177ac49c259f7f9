"""Small torch networks trained on the spot: MLPs for (a), (b), autoencoders for (c).

Seeded through a private ``torch.Generator`` (weights and minibatch order);
torch's global random state is never seeded.
"""

import itertools
import numbers
from collections import OrderedDict
from contextlib import contextmanager

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_X_y

from skequiv._compat import Interval, StrOptions, validate_params
from skequiv.utils._torch import import_torch

_ACTIVATIONS = {
    "tanh": "Tanh",
    "relu": "ReLU",
    "softplus": "Softplus",
    "sigmoid": "Sigmoid",
    "gelu": "GELU",
    "silu": "SiLU",
    "elu": "ELU",
}


def _activation(name, parameter="activation"):
    if name not in _ACTIVATIONS:
        raise ValueError(
            f"{parameter} must be one of {sorted(_ACTIVATIONS)}, got {name!r}."
        )
    return getattr(import_torch().nn, _ACTIVATIONS[name])()


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    return int(value)


def _check_positive_float(value, name):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}.")
    return float(value)


def _check_batch_size(batch_size):
    if batch_size is None:
        return None
    return _check_positive_int(batch_size, "batch_size")


def _generator(random_state):
    """A torch.Generator seeded from a scikit-learn ``random_state``."""
    torch = import_torch()
    seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
    return torch.Generator().manual_seed(seed)


def _linear(n_in, n_out):
    # skip_init: no draw from torch's global generator; _init_weights seeds it.
    torch = import_torch()
    return torch.nn.utils.skip_init(torch.nn.Linear, n_in, n_out)


def _init_weights(module, generator):
    """torch's default initialisation, U(±1/√fan_in), drawn from ``generator``."""
    torch = import_torch()
    with torch.no_grad():
        for sub in module.modules():
            weight = getattr(sub, "weight", None)
            if not isinstance(weight, torch.nn.Parameter) or weight.ndim < 2:
                continue
            fan_in = weight.shape[1] * int(np.prod(weight.shape[2:], dtype=int))
            bound = 1.0 / np.sqrt(fan_in)
            weight.uniform_(-bound, bound, generator=generator)
            if getattr(sub, "bias", None) is not None:
                sub.bias.uniform_(-bound, bound, generator=generator)


@contextmanager
def _one_thread():
    """Run torch on one CPU thread inside the block, then restore the setting.

    For networks this small, more threads only add synchronisation; on a busy
    machine they slow training down by an order of magnitude (measured: 11 s
    against 90 s), and one thread makes the weights independent of the
    machine's core count.
    """
    torch = import_torch()
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _batches(n, batch_size, generator):
    torch = import_torch()
    if batch_size is None or batch_size >= n:
        yield slice(None)
        return
    order = torch.randperm(n, generator=generator)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def _fit(
    net,
    inputs,
    targets,
    *,
    max_epochs,
    lr,
    batch_size,
    weight_decay,
    generator,
    verbose,
    desc,
):
    """Adam on the mean squared error, learning rate annealed (cosine) to lr/100."""
    torch = import_torch()
    from tqdm import tqdm

    optimizer = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max_epochs, eta_min=lr / 100
    )
    loss_fn = torch.nn.MSELoss()
    n = inputs.shape[0]
    loss_curve = []
    net.train()
    with (
        _one_thread(),
        tqdm(range(max_epochs), desc=desc, disable=not verbose, leave=False) as bar,
    ):
        for epoch in bar:
            total = 0.0
            for index in _batches(n, batch_size, generator):
                xb, yb = inputs[index], targets[index]
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(net(xb), yb)
                loss.backward()
                optimizer.step()
                total += loss.item() * xb.shape[0]
            schedule.step()
            loss_curve.append(total / n)
            if not np.isfinite(loss_curve[-1]):
                raise RuntimeError(
                    f"{desc}: the training loss became {loss_curve[-1]} at epoch "
                    f"{epoch}; lower lr (got {lr})."
                )
            if verbose and epoch % 25 == 0:
                bar.set_postfix(loss=f"{loss_curve[-1]:.3g}")
    net.eval()
    return loss_curve


# shared by both trainers; the values that validate_params cannot see (bools
# for integers, infinite rates, the widths of the layers) are checked by hand
_TRAINING_CONSTRAINTS = {
    "activation": [StrOptions(set(_ACTIVATIONS))],
    "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
    "lr": [Interval(numbers.Real, 0, None, closed="neither")],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "random_state": ["random_state"],
    "verbose": ["boolean"],
}


@validate_params(
    {
        **_TRAINING_CONSTRAINTS,
        "X": ["array-like"],
        "y": ["array-like"],
        "hidden_layer_sizes": ["array-like"],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def train_mlp(
    X,
    y,
    *,
    hidden_layer_sizes=(32, 32),
    activation="tanh",
    max_epochs=1000,
    lr=1e-2,
    batch_size=None,
    weight_decay=0.0,
    random_state=None,
    verbose=False,
):
    """Train a small fully connected regression network with torch.

    The data are standardised for training (inputs and targets to zero mean,
    unit variance per column), and the standardisation is then folded into the
    first and last linear layers, so the returned network maps raw inputs to
    raw targets and contains nothing but the layers named below.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Training inputs, at least 2 samples.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Training targets. A 1-D ``y`` gives a network with one output.
    hidden_layer_sizes : tuple of int, default=(32, 32)
        Width of each hidden layer.
    activation : {"tanh", "relu", "softplus", "sigmoid", "gelu", "silu", "elu"}, \
            default="tanh"
        Nonlinearity after each hidden layer. Smooth ones (tanh, softplus)
        give smooth Jacobians, which the Mahalanobis metric relies on.
    max_epochs : int, default=1000
        Number of passes over the data.
    lr : float, default=1e-2
        Initial learning rate of Adam, annealed (cosine) to ``lr / 100``.
    batch_size : int or None, default=None
        Minibatch size; None trains full-batch (fastest for small data).
    weight_decay : float, default=0.0
        L2 penalty of Adam.
    random_state : int, RandomState instance or None, default=None
        Seeds a private ``torch.Generator`` for the initial weights and the
        minibatch order; torch's global random state is not touched.
    verbose : bool, default=False
        Show a tqdm progress bar with the training loss.

    Returns
    -------
    net : torch.nn.Sequential
        A float32 network in eval mode. Its submodules, in order, are
        ``hidden_0``, ``act_0``, ``hidden_1``, ``act_1``, ..., ``output``:
        ``hidden_i`` is the i-th hidden ``Linear`` layer, ``act_i`` its
        nonlinearity (the outputs of ``act_i`` are the neurons of hidden
        layer i), and ``output`` the final ``Linear`` layer. The attribute
        ``loss_curve_`` holds the mean squared training loss (on the
        standardised targets) per epoch.

    See Also
    --------
    train_autoencoder : Convolutional autoencoder for images.
    load_experiment : Trained network pairs for the paper's experiments.

    Notes
    -----
    Training runs torch on one CPU thread and restores the thread count
    afterwards: for networks this small more threads only add
    synchronisation (on a busy machine they made training eight times
    slower), and one thread makes the weights independent of the core count.

    Examples
    --------
    >>> from skequiv.datasets import make_scalar_task, train_mlp
    >>> X, y = make_scalar_task(200, function="square", random_state=0)
    >>> net = train_mlp(X, y, hidden_layer_sizes=(16,), max_epochs=300,
    ...                 random_state=0)
    >>> [name for name, _ in net.named_children()]
    ['hidden_0', 'act_0', 'output']
    >>> import torch
    >>> with torch.no_grad():
    ...     pred = net(torch.as_tensor(X, dtype=torch.float32)).numpy()
    >>> float(((pred - y) ** 2).mean()) < 1e-3
    True
    """
    torch = import_torch()
    X, y = check_X_y(
        X, y, multi_output=True, y_numeric=True, dtype=np.float64, ensure_min_samples=2
    )
    if y.ndim == 1:
        y = y[:, None]
    if isinstance(hidden_layer_sizes, numbers.Integral) or not all(
        isinstance(w, numbers.Integral) and not isinstance(w, bool) and w >= 1
        for w in hidden_layer_sizes
    ):
        raise ValueError(
            "hidden_layer_sizes must be a tuple of integers >= 1, got "
            f"{hidden_layer_sizes!r}."
        )
    _activation(activation)  # validates the name before any work
    max_epochs = _check_positive_int(max_epochs, "max_epochs")
    lr = _check_positive_float(lr, "lr")
    batch_size = _check_batch_size(batch_size)
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}.")

    x_mean, x_scale = X.mean(axis=0), X.std(axis=0)
    y_mean, y_scale = y.mean(axis=0), y.std(axis=0)
    x_scale[x_scale == 0] = 1.0
    y_scale[y_scale == 0] = 1.0

    widths = [X.shape[1], *map(int, hidden_layer_sizes)]
    layers = OrderedDict()
    for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
        layers[f"hidden_{i}"] = _linear(n_in, n_out)
        layers[f"act_{i}"] = _activation(activation)
    layers["output"] = _linear(widths[-1], y.shape[1])
    net = torch.nn.Sequential(layers)
    generator = _generator(random_state)
    _init_weights(net, generator)

    inputs = torch.as_tensor((X - x_mean) / x_scale, dtype=torch.float32)
    targets = torch.as_tensor((y - y_mean) / y_scale, dtype=torch.float32)
    loss_curve = _fit(
        net,
        inputs,
        targets,
        max_epochs=max_epochs,
        lr=lr,
        batch_size=batch_size,
        weight_decay=weight_decay,
        generator=generator,
        verbose=verbose,
        desc="train_mlp",
    )

    # Fold the standardisation into the first and last layers (in float64).
    first, last = layers["hidden_0"], layers["output"]
    with torch.no_grad():
        w = first.weight.double() / torch.as_tensor(x_scale)
        first.bias.copy_(first.bias.double() - w @ torch.as_tensor(x_mean))
        first.weight.copy_(w)
        scale = torch.as_tensor(y_scale)
        last.weight.copy_(last.weight.double() * scale[:, None])
        last.bias.copy_(last.bias.double() * scale + torch.as_tensor(y_mean))
    net.loss_curve_ = loss_curve
    return net.float().eval()


def _check_images(images):
    images = check_array(
        images, allow_nd=True, dtype=np.float32, ensure_2d=False, ensure_min_samples=2
    )
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4 or images.shape[1] != 1 or images.shape[2] != images.shape[3]:
        raise ValueError(
            "images must have shape (n_samples, 1, size, size) or "
            f"(n_samples, size, size), got {images.shape}."
        )
    size = images.shape[2]
    if size < 8 or size % 4:
        raise ValueError(
            f"images must be square with a side divisible by 4 and >= 8, got {size}."
        )
    return images


def _autoencoder(size, code_size, channels, hidden_size, activation):
    torch = import_torch()
    nn = torch.nn
    c0, c1 = channels
    small = size // 4
    encoder = nn.Sequential(
        OrderedDict(
            conv_0=nn.utils.skip_init(nn.Conv2d, 1, c0, 3, stride=2, padding=1),
            act_0=_activation(activation),
            conv_1=nn.utils.skip_init(nn.Conv2d, c0, c1, 3, stride=2, padding=1),
            act_1=_activation(activation),
            flatten=nn.Flatten(),
            hidden=_linear(c1 * small * small, hidden_size),
            act_2=_activation(activation),
        )
    )
    decoder = nn.Sequential(
        OrderedDict(
            hidden=_linear(code_size, hidden_size),
            act_0=_activation(activation),
            expand=_linear(hidden_size, 4 * hidden_size),
            act_1=_activation(activation),
            pixels=_linear(4 * hidden_size, size * size),
            sigmoid=nn.Sigmoid(),
            unflatten=nn.Unflatten(1, (1, size, size)),
        )
    )
    return nn.Sequential(
        OrderedDict(
            encoder=encoder, code=_linear(hidden_size, code_size), decoder=decoder
        )
    )


@validate_params(
    {
        **_TRAINING_CONSTRAINTS,
        "images": ["array-like"],
        "code_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "channels": ["array-like"],
        "hidden_size": [Interval(numbers.Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def train_autoencoder(
    images,
    *,
    code_size=4,
    channels=(8, 16),
    hidden_size=32,
    activation="elu",
    max_epochs=200,
    lr=5e-3,
    batch_size=100,
    random_state=None,
    verbose=False,
):
    """Train a small convolutional autoencoder on grey-level images with torch.

    A convolutional encoder (two strided convolutions and a dense layer), a
    linear code, and a dense decoder: transposed convolutions cost four times
    as much on the CPU and reconstruct these images no better.

    Parameters
    ----------
    images : array-like of shape (n_samples, 1, size, size) or (n_samples, size, size)
        Training images with values in [0, 1]; ``size`` divisible by 4
        (e.g. 32, as made by :func:`make_rotating_object`).
    code_size : int, default=4
        Width of the bottleneck (the code).
    channels : tuple of two int, default=(8, 16)
        Channels of the two strided convolutions (each halves the side).
    hidden_size : int, default=32
        Width of the dense layer on either side of the code (the decoder's
        second layer has ``4 * hidden_size`` neurons).
    activation : {"tanh", "relu", "softplus", "sigmoid", "gelu", "silu", "elu"}, \
            default="elu"
        Nonlinearity between layers. ELU trains these networks reliably;
        with tanh, some seeds stall at the mean image.
    max_epochs : int, default=200
        Number of passes over the data.
    lr : float, default=5e-3
        Initial learning rate of Adam, annealed (cosine) to ``lr / 100``.
    batch_size : int or None, default=100
        Minibatch size; None trains full-batch.
    random_state : int, RandomState instance or None, default=None
        Seeds a private ``torch.Generator`` for the initial weights and the
        minibatch order; torch's global random state is not touched.
    verbose : bool, default=False
        Show a tqdm progress bar with the training loss.

    Returns
    -------
    net : torch.nn.Sequential
        A float32 network in eval mode mapping images (n, 1, size, size) to
        reconstructions of the same shape, with three named parts:

        - ``encoder``: ``conv_0``, ``act_0`` (side/2), ``conv_1``, ``act_1``
          (side/4), ``flatten``, ``hidden``, ``act_2``; the output of
          ``encoder`` (same as ``encoder.act_2``) is ``hidden_size`` neurons.
        - ``code``: a ``Linear`` layer, the ``code_size`` bottleneck neurons.
        - ``decoder``: ``hidden``, ``act_0``, ``expand``, ``act_1``,
          ``pixels``, ``sigmoid``, ``unflatten``.

        ``loss_curve_`` holds the mean squared reconstruction error per epoch.

    See Also
    --------
    make_rotating_object : Images of a rotating 3D body.
    train_mlp : Fully connected regression networks.

    Notes
    -----
    Training runs torch on one CPU thread and restores the thread count
    afterwards: for networks this small more threads only add
    synchronisation (on a busy machine they made training eight times
    slower), and one thread makes the weights independent of the core count.

    Examples
    --------
    >>> from skequiv.datasets import make_rotating_object, train_autoencoder
    >>> images, angles = make_rotating_object(40, size=16, random_state=0)
    >>> net = train_autoencoder(images, code_size=2, max_epochs=2, random_state=0)
    >>> [name for name, _ in net.named_children()]
    ['encoder', 'code', 'decoder']
    >>> import torch
    >>> with torch.no_grad():
    ...     net.code(net.encoder(torch.as_tensor(images))).shape
    torch.Size([40, 2])
    """
    torch = import_torch()
    images = _check_images(images)
    code_size = _check_positive_int(code_size, "code_size")
    hidden_size = _check_positive_int(hidden_size, "hidden_size")
    try:
        channels = tuple(_check_positive_int(c, "channels") for c in channels)
    except TypeError:
        channels = ()
    if len(channels) != 2:
        raise ValueError(f"channels must be two integers >= 1, got {channels!r}.")
    _activation(activation)
    max_epochs = _check_positive_int(max_epochs, "max_epochs")
    lr = _check_positive_float(lr, "lr")
    batch_size = _check_batch_size(batch_size)

    net = _autoencoder(images.shape[2], code_size, channels, hidden_size, activation)
    generator = _generator(random_state)
    _init_weights(net, generator)
    inputs = torch.as_tensor(images)
    net.loss_curve_ = _fit(
        net,
        inputs,
        inputs,
        max_epochs=max_epochs,
        lr=lr,
        batch_size=batch_size,
        weight_decay=0.0,
        generator=generator,
        verbose=verbose,
        desc="train_autoencoder",
    )
    return net.float().eval()
