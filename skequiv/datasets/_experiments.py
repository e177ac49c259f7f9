"""The paper's three experiments, and digits: data plus two networks trained on it."""

import copy
import numbers
import time
from collections import OrderedDict

import numpy as np
from sklearn.metrics import r2_score
from sklearn.utils import Bunch, check_random_state

from skequiv._compat import Interval, StrOptions, validate_params
from skequiv.datasets._digits import (
    ARCHITECTURES,
    DIGIT_TASKS,
    N_DIGITS,
    digits_experiment,
)
from skequiv.datasets._render import make_rotating_object
from skequiv.datasets._tasks import (
    SCALAR_FUNCTIONS,
    VECTOR_FIELDS,
    _resolve,
    make_scalar_task,
    make_vector_field_task,
)
from skequiv.datasets._training import train_autoencoder, train_mlp
from skequiv.utils._torch import import_torch

EXPERIMENTS = ("scalar", "vector_field", "rotating_object", "digits")

# Two networks per experiment: different seeds (drawn from random_state) and
# different widths, so that equivalence cannot come from identical weights.
_MLP_SETTINGS = {
    "scalar": (
        {"hidden_layer_sizes": (32, 32), "max_epochs": 800},
        {"hidden_layer_sizes": (24, 24), "max_epochs": 800},
    ),
    "vector_field": (
        {"hidden_layer_sizes": (48, 48), "max_epochs": 1000},
        {"hidden_layer_sizes": (32, 32), "max_epochs": 1000},
    ),
}
_AUTOENCODER_SETTINGS = (
    {"code_size": 4, "channels": (8, 16), "hidden_size": 32},
    {"code_size": 6, "channels": (12, 16), "hidden_size": 48},
)
_DEFAULT_SIZES = {  # (n_train, n_test)
    "scalar": (1000, 500),
    "vector_field": (2000, 1000),
    "rotating_object": (500, 200),
    "digits": (1347, 450),  # all 1,797 images, a quarter held out
}


def _predict(net, X):
    torch = import_torch()
    with torch.no_grad():
        return net(torch.as_tensor(X, dtype=torch.float32)).numpy().astype(np.float64)


def _task_name(task):
    return task if isinstance(task, str) else getattr(task, "__name__", repr(task))


def _regression_experiment(name, n_train, n_test, seeds, task_a, task_b, verbose):
    make = make_scalar_task if name == "scalar" else make_vector_field_task
    key = "function" if name == "scalar" else "field"
    # one set of inputs; each network's targets come from its own task
    X_train, y_train = make(n_train, **{key: task_a}, random_state=seeds[0])
    X_test, y_test = make(n_test, **{key: task_a}, random_state=seeds[1])
    if task_b is task_a:
        y_train_b, y_test_b = y_train.copy(), y_test.copy()
    else:
        y_train_b = make(n_train, **{key: task_b}, random_state=seeds[0])[1]
        y_test_b = make(n_test, **{key: task_b}, random_state=seeds[1])[1]

    nets, scores, times = [], [], []
    for settings, seed, y, yt in zip(
        _MLP_SETTINGS[name],
        seeds[2:],
        (y_train, y_train_b),
        (y_test, y_test_b),
        strict=True,
    ):
        start = time.perf_counter()
        net = train_mlp(X_train, y, **settings, random_state=seed, verbose=verbose)
        times.append(time.perf_counter() - start)
        nets.append(net)
        scores.append(r2_score(yt, _predict(net, X_test)))

    settings_a, settings_b = _MLP_SETTINGS[name]
    n_hidden = len(settings_a["hidden_layer_sizes"])
    table = SCALAR_FUNCTIONS if name == "scalar" else VECTOR_FIELDS
    describe = {k: v[1] for k, v in table.items()}
    d = X_train.shape[1]
    if name == "scalar":
        what = "a scalar function of a scalar input on [-1, 1]"
    else:
        what = "a planar vector field R² → R² on [-1, 1]²"
    descr = (
        f"Experiment ({'a' if name == 'scalar' else 'b'}) of Bertalan, Dietrich & "
        f"Kevrekidis (Chaos 34, 2024): two MLPs learning {what}.\n"
        f"net_a: {settings_a['hidden_layer_sizes']} tanh, learns "
        f"{describe.get(task_a, _task_name(task_a))}; "
        f"held-out R² {scores[0]:.5f}.\n"
        f"net_b: {settings_b['hidden_layer_sizes']} tanh, learns "
        f"{describe.get(task_b, _task_name(task_b))}; "
        f"held-out R² {scores[1]:.5f}.\n"
        f"Intrinsic dimension d = {d}; Whitney: 2d + 1 = {2 * d + 1} generic "
        "neurons determine the input."
    )
    return Bunch(
        X_train=X_train,
        X_test=X_test,
        y_train=y_train,
        y_test=y_test,
        y_train_b=y_train_b,
        y_test_b=y_test_b,
        intrinsic_train=X_train.copy(),
        intrinsic_test=X_test.copy(),
        intrinsic_dimension=d,
        net_a=nets[0],
        net_b=nets[1],
        hidden_layers=tuple(f"act_{i}" for i in range(n_hidden)),
        output_layer="output",
        task_a=_task_name(task_a),
        task_b=_task_name(task_b),
        params_a={**settings_a, "activation": "tanh", "random_state": seeds[2]},
        params_b={**settings_b, "activation": "tanh", "random_state": seeds[3]},
        test_score_a=float(scores[0]),
        test_score_b=float(scores[1]),
        training_time_a=times[0],
        training_time_b=times[1],
        name=name,
        DESCR=descr,
    )


def _object_experiment(n_train, n_test, seeds, verbose):
    images, angles = make_rotating_object(n_train + n_test, random_state=seeds[0])
    X_train, X_test = images[:n_train], images[n_train:]
    t_train, t_test = angles[:n_train], angles[n_train:]
    nets, scores, times = [], [], []
    for settings, seed in zip(_AUTOENCODER_SETTINGS, seeds[2:], strict=True):
        start = time.perf_counter()
        net = train_autoencoder(X_train, **settings, random_state=seed, verbose=verbose)
        times.append(time.perf_counter() - start)
        nets.append(net)
        recon = _predict(net, X_test)
        scores.append(
            r2_score(
                X_test.reshape(n_test, -1),
                recon.reshape(n_test, -1),
                multioutput="variance_weighted",
            )
        )
    settings_a, settings_b = _AUTOENCODER_SETTINGS
    descr = (
        "Experiment (c) of Bertalan, Dietrich & Kevrekidis (Chaos 34, 2024): two "
        "convolutional autoencoders on 32×32 grey-level images of an asymmetric "
        "3D body turning about a vertical axis.\n"
        f"net_a: code {settings_a['code_size']}, channels {settings_a['channels']}, "
        f"hidden {settings_a['hidden_size']}; held-out reconstruction R² "
        f"{scores[0]:.4f}.\n"
        f"net_b: code {settings_b['code_size']}, channels {settings_b['channels']}, "
        f"hidden {settings_b['hidden_size']}; held-out reconstruction R² "
        f"{scores[1]:.4f}.\n"
        "Intrinsic dimension d = 1 (the angle, on a circle); Whitney: 2d + 1 = 3 "
        "generic neurons determine it."
    )
    return Bunch(
        X_train=X_train,
        X_test=X_test,
        intrinsic_train=t_train[:, None],
        intrinsic_test=t_test[:, None],
        intrinsic_dimension=1,
        net_a=nets[0],
        net_b=nets[1],
        hidden_layers=("encoder", "code"),
        code_layer="code",
        output_layer="output",
        task_a="rotating_object",
        task_b="rotating_object",
        params_a={**settings_a, "random_state": seeds[2]},
        params_b={**settings_b, "random_state": seeds[3]},
        test_score_a=float(scores[0]),
        test_score_b=float(scores[1]),
        training_time_a=times[0],
        training_time_b=times[1],
        name="rotating_object",
        DESCR=descr,
    )


def _build(name, n_train, n_test, seed, task_a, task_b, architecture, verbose):
    # seeds: train inputs (digits: the split), test inputs (digits: the
    # shuffled labels), net_a, net_b
    seeds = tuple(int(s) for s in np.random.RandomState(seed).randint(0, 2**31 - 1, 4))
    if name == "digits":
        return digits_experiment(
            n_train, n_test, seeds, task_a, task_b, architecture, verbose
        )
    if name == "rotating_object":
        return _object_experiment(n_train, n_test, seeds, verbose)
    return _regression_experiment(name, n_train, n_test, seeds, task_a, task_b, verbose)


# Least recently used experiments, keyed on everything but ``verbose`` (which
# changes no result); functools.lru_cache would key on it too.
_CACHE = OrderedDict()
_CACHE_SIZE = 16


def _cached_build(key, verbose):
    try:
        hash(key)
    except TypeError:  # an unhashable callable task: train without the cache
        return _build(*key, verbose)
    if key in _CACHE:
        _CACHE.move_to_end(key)
    else:
        _CACHE[key] = _build(*key, verbose)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return copy.deepcopy(_CACHE[key])


# a name from the experiment's table (checked against it below) or a callable
_TASK = [str, callable, None]


@validate_params(
    {
        "name": [StrOptions(set(EXPERIMENTS))],
        "n_train": [Interval(numbers.Integral, 2, None, closed="left"), None],
        "n_test": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "function": _TASK,
        "function_b": _TASK,
        "field": _TASK,
        "field_b": _TASK,
        "architecture": [StrOptions(set(ARCHITECTURES)), None],
        "task": [StrOptions(set(DIGIT_TASKS)), None],
        "task_b": [StrOptions(set(DIGIT_TASKS)), None],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_experiment(
    name,
    *,
    n_train=None,
    n_test=None,
    function=None,
    function_b=None,
    field=None,
    field_b=None,
    architecture=None,
    task=None,
    task_b=None,
    random_state=0,
    verbose=False,
):
    """Data and two networks trained on it: the seed paper's experiments, or digits.

    Each experiment trains two networks, ``net_a`` and ``net_b``, on the same
    inputs with different seeds *and* different widths (optionally on
    different tasks), on the CPU, in seconds. The expensive part is cached per
    process on the arguments; every call returns fresh copies, so callers may
    modify the networks and arrays freely.

    ==================  ==========================  =========  ==================
    name                inputs                      d          networks
    ==================  ==========================  =========  ==================
    ``"scalar"``        x in [-1, 1], (n, 1)        1          MLPs (32, 32) and
                                                               (24, 24), tanh
    ``"vector_field"``  (x, y) in [-1, 1]², (n, 2)  2          MLPs (48, 48) and
                                                               (32, 32), tanh
    ``"rotating_``      images (n, 1, 32, 32)       1 (angle)  conv autoencoders,
    ``object"``                                                codes 4 and 6
    ``"digits"``        8×8 digit images, (n, 64)   unknown    skorch classifiers:
                                                               MLPs or CNNs
    ==================  ==========================  =========  ==================

    The first three are the experiments of the seed paper; ``"digits"``
    compares classifiers as researchers train them (see Notes).

    Parameters
    ----------
    name : {"scalar", "vector_field", "rotating_object", "digits"}
        The experiment: (a) scalar functions, (b) planar vector fields,
        (c) images of a rotating 3D object, or handwritten-digit classifiers.
    n_train : int, default=None
        Training samples; None means 1000, 2000, 500 and 1347 respectively.
        For ``"digits"`` at least 10, and ``n_train + n_test`` at most 1797.
    n_test : int, default=None
        Held-out samples; None means 500, 1000, 200 and 450 respectively
        (for ``"digits"`` at least 10).
    function : str or callable, default=None
        ``"scalar"`` only: the function ``net_a`` learns, as in
        :func:`make_scalar_task`. None means ``"sine"``, sin(πx), which is
        non-monotonic, so the output alone does not determine the input.
    function_b : str or callable, default=None
        ``"scalar"`` only: the function ``net_b`` learns; None means the same
        as ``function``. ``function="identity", function_b="square"`` gives a
        one-way pair (B's output is a function of A's, not the converse);
        ``function="square", function_b="shifted_square"`` a pair where
        neither output is a function of the other.
    field : str or callable, default=None
        ``"vector_field"`` only: the field ``net_a`` learns, as in
        :func:`make_vector_field_task`. None means ``"duffing"``, which is not
        injective, so the output alone does not determine the input.
    field_b : str or callable, default=None
        ``"vector_field"`` only: the field ``net_b`` learns; None means
        the same as ``field``.
    architecture : {"mlp", "cnn"}, default=None
        ``"digits"`` only: the architecture of both networks; None means
        ``"mlp"``. ``"mlp"``: one tanh hidden layer of 64 (``net_a``) and 48
        (``net_b``) neurons. ``"cnn"``: two 3×3 ReLU convolutions with 8 → 16
        (``net_a``) and 12 → 16 (``net_b``) channels on 8×8 maps, 2×2
        max-pooling, a dense ReLU layer of 64 and 48 neurons.
    task : {"digit", "parity", "above_four", "shuffled"}, default=None
        ``"digits"`` only: what ``net_a`` learns; None means ``"digit"``, the
        10-class classification. ``"parity"``: odd (1) or even (0);
        ``"above_four"``: digit > 4 (1) or not (0), a partition of the digits
        other than parity; ``"shuffled"``: the digit labels permuted at random
        over the training images, which leaves nothing to generalise.
    task_b : {"digit", "parity", "above_four", "shuffled"}, default=None
        ``"digits"`` only: what ``net_b`` learns; None means the same as
        ``task``. ``task_b="parity"`` gives a one-way pair (parity is a
        function of the digit, not the converse); ``task="parity",
        task_b="above_four"`` a pair where neither output determines the
        other; ``task_b="shuffled"`` a network that learnt nothing that
        generalises.
    random_state : int, RandomState instance or None, default=0
        Seeds the data and both networks. Results are cached for integers;
        an instance or None draws an integer seed from it first.
    verbose : bool, default=False
        Show progress bars while training (for ``"digits"``, skorch's log of
        each epoch).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        X_train, X_test : ndarray
            Network inputs: (n, 1) or (n, 2) float64 for the MLPs, (n, 1, 32,
            32) float32 images for the autoencoders, (n, 64) float32 pixels in
            [0, 1] (the 0–16 counts divided by 16) for ``"digits"``.
        y_train, y_test : ndarray of shape (n, n_outputs) or (n,)
            ``net_a``'s true targets (not for ``"rotating_object"``, whose
            target is the input image). For ``"digits"``, int64 class labels
            of shape (n,): ``y_train`` what the network was trained on,
            ``y_test`` what it is scored on (for ``"shuffled"``: the permuted
            digits, and the true test digits).
        y_train_b, y_test_b : ndarray of shape (n, n_outputs) or (n,)
            ``net_b``'s true targets (the same values unless
            ``function_b``/``field_b``/``task_b`` differ).
        digit_train, digit_test : ndarray of shape (n,)
            ``"digits"`` only: the true digit (0–9) of each image, whatever
            the tasks; for colouring plots.
        intrinsic_train, intrinsic_test : ndarray of shape (n, d)
            Not for ``"digits"``. Intrinsic coordinates, for colouring plots
            and for reconstruction targets: x itself, (x, y) itself, or the
            rotation angle in radians.
        intrinsic_dimension : int
            Not for ``"digits"``. d: 1, 2 or 1.
        net_a, net_b : torch.nn.Module or sklearn.frozen.FrozenEstimator
            Trained float32 networks in eval mode (see :func:`train_mlp`
            and :func:`train_autoencoder` for their layer names). For
            ``"digits"``, fitted ``skorch.NeuralNetClassifier`` s wrapped in
            ``FrozenEstimator``, which keeps the weights through ``clone``
            (in a ``Pipeline``, ``GridSearchCV`` or a metric source) and
            delegates ``predict``, ``predict_proba``, ``score`` and
            ``module_`` to the net; ``net.estimator`` is the net itself.
        hidden_layers : tuple of str
            Names of the submodules whose outputs are the internal neurons:
            ``("act_0", "act_1")`` for the MLPs, ``("encoder", "code")`` for
            the autoencoders (32/48 dense neurons, then the 4/6 code neurons).
            For ``"digits"``, ``("act_0",)`` for the MLPs (64/48 neurons) and
            ``("act_0", "act_1", "act_2")`` for the CNNs: the first
            convolution's maps (8 or 12 × 8 × 8 = 512/768 units), the second
            convolution's (16 × 8 × 8 = 1,024 units), and the dense layer
            (64/48 neurons).
        output_layer : str
            ``"output"``, the network output (the name
            :class:`~skequiv.NetworkActivations` uses for it). For
            ``"digits"`` these are logits, 10 or 2 of them, before the softmax
            that ``predict_proba`` applies.
        code_layer : str
            ``"rotating_object"`` only: ``"code"``, the bottleneck, which is
            what two autoencoders' equivalence is tested on.
        architecture : str
            ``"digits"`` only: ``"mlp"`` or ``"cnn"``.
        task_a, task_b : str
            Names of the tasks learned.
        params_a, params_b : dict
            Training parameters of each network, seeds included.
        test_score_a, test_score_b : float
            Held-out R² of each network against its true targets (for the
            autoencoders, of the reconstruction against the image). For
            ``"digits"``, held-out accuracy on the network's task (for
            ``"shuffled"``, on the true digits: near chance, 0.1).
        training_time_a, training_time_b : float
            Wall-clock training time in seconds (of the first, uncached call).
        name : str
            The experiment's name.
        DESCR : str
            Description of the experiment and its networks.

    See Also
    --------
    make_scalar_task, make_vector_field_task, make_rotating_object : The data.
    train_mlp, train_autoencoder : The training.
    skequiv.NetworkActivations : Reads the named layers of a network.

    Notes
    -----
    ``"digits"`` uses scikit-learn's bundled 8×8 digits (1,797 images, no
    download), split into training and held-out images stratified by digit.
    The split depends only on ``random_state``, ``n_train`` and ``n_test``, so
    calls that differ in ``architecture`` or the tasks share their inputs: an
    MLP from one call and a CNN from another can be compared. Every network
    takes the 64 pixels as a flat row (the CNNs reshape them to 1 × 8 × 8
    first), is trained with Adam on the cross-entropy of its logits (MLPs: 60
    epochs at learning rate 0.01; CNNs: 30 epochs at 0.003; minibatches of
    64) on one CPU thread, and reaches 0.96–0.99 held-out accuracy on the
    digit, on parity and on ``"above_four"``, in a few seconds per network
    (1–3 s on two idle cores, 5–11 s on a busy machine). The initial
    weights and the minibatch order come from a ``torch.Generator`` seeded
    from ``random_state``; torch's global random state is neither seeded nor
    consumed.

    Examples
    --------
    >>> from skequiv.datasets import load_experiment
    >>> data = load_experiment("scalar", n_train=200, n_test=50)
    >>> data.X_train.shape, data.X_test.shape, data.hidden_layers
    ((200, 1), (50, 1), ('act_0', 'act_1'))
    >>> data.test_score_a > 0.99 and data.test_score_b > 0.99
    True

    Two digit classifiers, and one for the digit's parity:

    >>> digits = load_experiment("digits", task_b="parity")
    >>> digits.X_train.shape, digits.hidden_layers, digits.task_b
    ((1347, 64), ('act_0',), 'parity')
    >>> digits.net_a.predict(digits.X_test[:3]).shape
    (3,)
    >>> digits.test_score_a > 0.95 and digits.test_score_b > 0.95
    True
    """
    default_train, default_test = _DEFAULT_SIZES[name]
    n_train = int(default_train if n_train is None else n_train)
    n_test = int(default_test if n_test is None else n_test)
    if name == "digits":
        _check_digits_sizes(n_train, n_test)

    options = {
        "function": function,
        "function_b": function_b,
        "field": field,
        "field_b": field_b,
        "architecture": architecture,
        "task": task,
        "task_b": task_b,
    }
    own = {
        "scalar": ("function", "function_b"),
        "vector_field": ("field", "field_b"),
        "digits": ("architecture", "task", "task_b"),
    }
    owner = {option: experiment for experiment, opts in own.items() for option in opts}
    for option, value in options.items():
        if value is not None and option not in own.get(name, ()):
            raise ValueError(
                f"{option}= applies to the experiment {owner[option]!r}, not to "
                f"{name!r}; got {option}={value!r}."
            )
    if name == "digits":
        architecture = "mlp" if architecture is None else architecture
        task_a = "digit" if task is None else task
        task_b = task_a if task_b is None else task_b
    elif name in own:
        table, kind, default = {
            "scalar": (SCALAR_FUNCTIONS, "function", "sine"),
            "vector_field": (VECTOR_FIELDS, "field", "duffing"),
        }[name]
        task_a = options[own[name][0]]
        task_a = default if task_a is None else task_a
        task_b = options[own[name][1]]
        task_b = task_a if task_b is None else task_b
        for chosen in (task_a, task_b):
            _resolve(chosen, table, kind)
    else:
        task_a = task_b = None

    if isinstance(random_state, numbers.Integral) and not isinstance(
        random_state, bool
    ):
        seed = int(random_state)
    else:
        seed = int(check_random_state(random_state).randint(0, 2**31 - 1))

    return _cached_build(
        (name, n_train, n_test, seed, task_a, task_b, architecture), verbose
    )


def _check_digits_sizes(n_train, n_test):
    # the stratified split puts every digit in both parts
    for value, parameter in ((n_train, "n_train"), (n_test, "n_test")):
        if value < 10:
            raise ValueError(
                f"{parameter} must be at least 10 for the digits experiment (one "
                f"image of each digit in the stratified split), got {value}."
            )
    if n_train + n_test > N_DIGITS:
        raise ValueError(
            f"n_train + n_test must be at most {N_DIGITS}, the number of images in "
            f"sklearn.datasets.load_digits; got {n_train} + {n_test} = "
            f"{n_train + n_test}. Lower n_train or n_test."
        )
