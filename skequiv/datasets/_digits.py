"""The digits experiment: skorch MLP and CNN classifiers of 8×8 handwritten digits.

scikit-learn's bundled digits (no download), trained on the spot. Weights and
minibatch order come from a private ``torch.Generator`` per network; torch's
global random state is neither seeded nor consumed.
"""

import time
from collections import OrderedDict

import numpy as np
from sklearn.datasets import load_digits
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

from skequiv.datasets._training import (
    _activation,
    _generator,
    _init_weights,
    _linear,
    _one_thread,
)
from skequiv.utils._torch import import_skorch, import_torch

N_DIGITS = 1797  # images in sklearn.datasets.load_digits
ARCHITECTURES = ("mlp", "cnn")


def _digit(digits):
    return digits


def _parity(digits):
    return digits % 2


def _above_four(digits):
    return (digits > 4).astype(np.int64)


# name -> (labels from the digit, or None for shuffled digits; description)
DIGIT_TASKS = {
    "digit": (_digit, "the digit, 10 classes"),
    "parity": (_parity, "the digit's parity (odd = 1), 2 classes"),
    "above_four": (_above_four, "whether the digit is above four, 2 classes"),
    "shuffled": (
        None,
        "digit labels permuted at random over the training images, 10 classes "
        "(nothing to generalise: test accuracy near chance, 0.1)",
    ),
}

# Two networks per architecture: different seeds (drawn from random_state) and
# different widths, so that equivalence cannot come from identical weights.
# Measured over random_state 0-4 (held-out accuracy): digit 0.967-0.984,
# parity 0.980-0.991, above_four 0.960-0.973, shuffled 0.056-0.129. Training
# takes 1-3 s per network on 2 idle cores, 5-11 s at load average 5-8.
_DIGITS_SETTINGS = {
    "mlp": (
        {"hidden_size": 64},
        {"hidden_size": 48},
    ),
    "cnn": (
        {"channels": (8, 16), "hidden_size": 64},
        {"channels": (12, 16), "hidden_size": 48},
    ),
}
_TRAINING = {
    "mlp": {"activation": "tanh", "lr": 1e-2, "max_epochs": 60, "batch_size": 64},
    "cnn": {"activation": "relu", "lr": 3e-3, "max_epochs": 30, "batch_size": 64},
}
_HIDDEN_LAYERS = {"mlp": ("act_0",), "cnn": ("act_0", "act_1", "act_2")}


def _mlp_module(hidden_size, n_classes, activation):
    torch = import_torch()
    return torch.nn.Sequential(
        OrderedDict(
            hidden_0=_linear(64, hidden_size),
            act_0=_activation(activation),
            output=_linear(hidden_size, n_classes),
        )
    )


def _cnn_module(channels, hidden_size, n_classes, activation):
    # 'same' padding keeps the 8x8 maps, so act_1 has channels[1] * 64 units
    # (16 x 8 x 8 = 1,024): a wide convolutional layer to compare.
    torch = import_torch()
    nn = torch.nn
    c0, c1 = channels
    return nn.Sequential(
        OrderedDict(
            unflatten=nn.Unflatten(1, (1, 8, 8)),
            conv_0=nn.utils.skip_init(nn.Conv2d, 1, c0, 3, padding=1),
            act_0=_activation(activation),
            conv_1=nn.utils.skip_init(nn.Conv2d, c0, c1, 3, padding=1),
            act_1=_activation(activation),
            pool=nn.MaxPool2d(2),
            flatten=nn.Flatten(),
            dense=_linear(c1 * 16, hidden_size),
            act_2=_activation(activation),
            output=_linear(hidden_size, n_classes),
        )
    )


def _train_classifier(X, y, architecture, settings, seed, verbose):
    """A fitted skorch NeuralNetClassifier whose module returns logits."""
    torch = import_torch()
    skorch = import_skorch()
    training = _TRAINING[architecture]
    n_classes = int(y.max()) + 1
    if architecture == "mlp":
        module = _mlp_module(settings["hidden_size"], n_classes, training["activation"])
    else:
        module = _cnn_module(
            settings["channels"],
            settings["hidden_size"],
            n_classes,
            training["activation"],
        )
    # One generator draws the initial weights, then the minibatch order.
    # skorch keeps an already built module as it is, so these weights are the
    # ones it trains.
    generator = _generator(seed)
    _init_weights(module, generator)
    net = skorch.NeuralNetClassifier(
        module,
        criterion=torch.nn.CrossEntropyLoss,  # the module returns logits
        optimizer=torch.optim.Adam,
        lr=training["lr"],
        max_epochs=training["max_epochs"],
        batch_size=training["batch_size"],
        train_split=None,  # the held-out split is the experiment's own
        iterator_train__shuffle=True,
        iterator_train__generator=generator,
        verbose=int(verbose),
    )
    with _one_thread():
        net.fit(X, y)
    net.module_.eval()
    return net


def _accuracy(net, X, y):
    # The module's forward pass, not net.predict: skorch's DataLoader draws a
    # seed from torch's global generator on every pass.
    torch = import_torch()
    with torch.no_grad(), _one_thread():
        logits = net.module_(torch.as_tensor(X))
    return float(np.mean(logits.argmax(dim=1).numpy() == y))


def _labels(task, digits, permutation):
    function = DIGIT_TASKS[task][0]
    if function is None:  # shuffled: permuted digits
        return digits[permutation]
    return function(digits).astype(np.int64)


# Trained networks, least recently used first. load_experiment deep-copies
# what it returns, so these are never handed out or modified.
_NETS = OrderedDict()
_NETS_SIZE = 32


def digits_experiment(n_train, n_test, seeds, task_a, task_b, architecture, verbose):
    """Build the digits experiment; ``seeds`` = (split, shuffle, net_a, net_b)."""
    images, digits = load_digits(return_X_y=True)
    X = (images / 16.0).astype(np.float32)  # pixel counts 0..16, exact in float32
    X_train, X_test, digit_train, digit_test = train_test_split(
        X,
        digits.astype(np.int64),
        train_size=n_train,
        test_size=n_test,
        stratify=digits,
        random_state=seeds[0],
    )
    permutation = np.random.RandomState(seeds[1]).permutation(n_train)

    nets, scores, times, targets = [], [], [], []
    for task, settings, seed in zip(
        (task_a, task_b), _DIGITS_SETTINGS[architecture], seeds[2:], strict=True
    ):
        y_train = _labels(task, digit_train, permutation)
        # a shuffled-label net is scored against the true digits
        y_test = _labels("digit" if task == "shuffled" else task, digit_test, None)
        # The network depends on the split, its task, its settings and its
        # seed only: pairs that share net_a (task_b="parity", "shuffled", ...)
        # train it once per process.
        key = (n_train, n_test, seeds[0], seeds[1], task, architecture, seed)
        key += tuple(settings.items())
        if key not in _NETS:
            start = time.perf_counter()
            net = _train_classifier(
                X_train, y_train, architecture, settings, seed, verbose
            )
            _NETS[key] = net, time.perf_counter() - start
            while len(_NETS) > _NETS_SIZE:
                _NETS.popitem(last=False)
        _NETS.move_to_end(key)
        net, seconds = _NETS[key]
        times.append(seconds)
        nets.append(FrozenEstimator(net))
        scores.append(_accuracy(net, X_test, y_test))
        targets.append((y_train, y_test))

    training = _TRAINING[architecture]
    params = [
        {"architecture": architecture, **settings, **training, "random_state": seed}
        for settings, seed in zip(
            _DIGITS_SETTINGS[architecture], seeds[2:], strict=True
        )
    ]
    a, b = params
    if architecture == "mlp":
        descr_nets = (
            f"MLPs with one tanh hidden layer of {a['hidden_size']} and "
            f"{b['hidden_size']} neurons"
        )
        layers = "act_0 (the hidden neurons) and output (logits)"
    else:
        descr_nets = (
            f"CNNs with two 3×3 ReLU convolutions of {a['channels']} and "
            f"{b['channels']} channels on 8×8 maps, 2×2 max-pooling, dense layers "
            f"of {a['hidden_size']} and {b['hidden_size']} neurons"
        )
        layers = (
            "act_0 (channels[0]×8×8), act_1 (16×8×8 = 1,024), act_2 (dense) and "
            "output (logits)"
        )
    descr = (
        "Digits: two skorch classifiers of scikit-learn's 8×8 handwritten digits "
        f"(64 pixels scaled to [0, 1]; {n_train} training and {n_test} held-out "
        f"images, stratified). Networks: {descr_nets}.\n"
        f"net_a learns {DIGIT_TASKS[task_a][1]}; held-out accuracy "
        f"{scores[0]:.4f}.\n"
        f"net_b learns {DIGIT_TASKS[task_b][1]}; held-out accuracy "
        f"{scores[1]:.4f}.\n"
        f"Layers to compare: {layers}."
    )
    return Bunch(
        X_train=X_train,
        X_test=X_test,
        y_train=targets[0][0],
        y_test=targets[0][1],
        y_train_b=targets[1][0],
        y_test_b=targets[1][1],
        digit_train=digit_train,
        digit_test=digit_test,
        net_a=nets[0],
        net_b=nets[1],
        hidden_layers=_HIDDEN_LAYERS[architecture],
        output_layer="output",
        architecture=architecture,
        task_a=task_a,
        task_b=task_b,
        params_a=params[0],
        params_b=params[1],
        test_score_a=scores[0],
        test_score_b=scores[1],
        training_time_a=times[0],
        training_time_b=times[1],
        name="digits",
        DESCR=descr,
    )
