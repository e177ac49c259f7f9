"""Trained network pairs shared by the equivalence tests (trained once per session).

:func:`skequiv.datasets.load_experiment` caches per process on its arguments;
the session-scoped fixtures below also keep each worker from rebuilding the
sources.
"""

import numpy as np
import pytest


def _load(name, **kwargs):
    pytest.importorskip("torch")
    from skequiv.datasets import load_experiment

    return load_experiment(name, random_state=0, **kwargs)


@pytest.fixture(scope="session")
def scalar():
    """Experiment (a): both nets learn sin(πx) (non-monotonic)."""
    return _load("scalar")


@pytest.fixture(scope="session")
def scalar_one_way():
    """A learns x, B learns x²: B's output is a function of A's."""
    return _load(
        "scalar", n_train=400, n_test=200, function="identity", function_b="square"
    )


@pytest.fixture(scope="session")
def scalar_neither():
    """x² and (x − 0.3)²: neither output is a function of the other on [-1, 1]."""
    return _load(
        "scalar",
        n_train=400,
        n_test=200,
        function="square",
        function_b="shifted_square",
    )


@pytest.fixture(scope="session")
def vector_field():
    """Experiment (b): both nets learn the Duffing field (not injective)."""
    return _load("vector_field")


@pytest.fixture(scope="session")
def rotating_object():
    """Experiment (c): two convolutional autoencoders on a rotating body."""
    return _load("rotating_object")


@pytest.fixture(scope="session")
def digits_mlp():
    """Two skorch MLP digit classifiers (other seeds and widths)."""
    return _load("digits", architecture="mlp")


@pytest.fixture(scope="session")
def digits_mlp_parity():
    """net_a classifies the digit (the same net as digits_mlp), net_b its parity."""
    return _load("digits", architecture="mlp", task_b="parity")


@pytest.fixture(scope="session")
def digits_mlp_shuffled():
    """net_b learnt digit labels permuted at random: nothing to generalise."""
    return _load("digits", architecture="mlp", task_b="shuffled")


@pytest.fixture(scope="session")
def digits_cnn():
    """Two skorch CNN digit classifiers (other seeds and widths)."""
    return _load("digits", architecture="cnn")


def angle_features(angles):
    """(cos θ, sin θ): the input of experiment (c), without the 2π jump."""
    angles = np.asarray(angles, dtype=float).ravel()
    return np.column_stack([np.cos(angles), np.sin(angles)])
