"""Trained models from files, without unpickling anything but tensors."""

import importlib
import os
import pickle
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from skequiv._compat import validate_params
from skequiv.io._errors import HOW_TO_EXPORT, UnsafeFileError, check_file
from skequiv.io._programs import load_program
from skequiv.utils._errors import first_line
from skequiv.utils._torch import import_torch

PROGRAM_SUFFIXES = (".pt2",)
STATE_DICT_SUFFIXES = (".pt", ".pth")
SAFETENSORS_SUFFIXES = (".safetensors",)


@dataclass(frozen=True)
class LoadedModel:
    """A model read by :func:`load_model`, for :class:`~skequiv.NetworkActivations`.

    Attributes
    ----------
    module : torch.nn.Module
        The network. For a ``.pt2`` program, a module that runs the program
        at any batch size (see Notes of :func:`load_model`) and whose
        submodules carry the exported model's layer names.
    path : pathlib.Path
        The file it was read from.
    format : {"torch.export program", "state dict", "safetensors state dict"}
        How it was read.
    input_shape : tuple of int or None
        Per-sample input shape the program was exported with; None for state
        dicts (the architecture does not record it).
    dtype : torch.dtype or None
        Input dtype of the program; None for state dicts (their parameters'
        dtype applies).
    batch_sizes : tuple of (int, int or None) or None
        Smallest and largest batch the program accepts (largest None:
        unbounded); ``(b, b)`` for a program exported with a static batch.
    """

    module: object
    path: Path
    format: str
    input_shape: tuple | None = None
    dtype: object = None
    batch_sizes: tuple | None = None

    @property
    def static_batch(self):
        """The fixed batch size of a program exported with one, else None."""
        if self.batch_sizes is None or self.batch_sizes[0] != self.batch_sizes[1]:
            return None
        return self.batch_sizes[0]


@validate_params(
    {"path": [str, os.PathLike], "model_class": [None, str, callable]},
    prefer_skip_nested_validation=True,
)
def load_model(path, *, model_class=None):
    """Read a trained model from a file, refusing files that could run code.

    ========================  ======================================================
    file                      read with
    ========================  ======================================================
    ``.pt2``                  ``torch.export.load``, with every unpickling it
                              does restricted to tensors (see Notes)
    ``.pt``, ``.pth``         ``torch.load(weights_only=True)``: a state dict,
                              loaded into ``model_class()``
    ``.safetensors``          ``safetensors.torch.load_file`` (needs the
                              ``safetensors`` package): a state dict, as above
    ========================  ======================================================

    A file that only full unpickling could read (``torch.save(model)`` of a
    whole module, or any pickled object) is refused with
    :class:`UnsafeFileError`; no option turns the check off.

    Parameters
    ----------
    path : str or path-like
        The model file.
    model_class : str or callable, default=None
        For state dicts: what builds the architecture, called without
        arguments. A callable, or ``"package.module:Factory"`` (imported, with
        the current directory on the import path; ``Factory`` may be a
        dotted attribute path). It returns a ``torch.nn.Module``, or a skorch
        ``NeuralNet``, which is initialised and whose ``module_`` receives the
        state dict (what ``net.save_params(f_params=...)`` or
        ``torch.save(net.module_.state_dict(), ...)`` wrote). Importing the
        module runs its code: name only code you trust.

    Returns
    -------
    model : LoadedModel
        The module, with what the file says about its input.

    Raises
    ------
    UnsafeFileError
        The file needs full unpickling.
    FileNotFoundError
        There is no such file.
    ValueError
        Anything else that keeps the file from becoming a model: unknown
        suffix, missing ``model_class``, a state dict that does not fit it.

    See Also
    --------
    load_inputs : Network inputs from ``.npy``, ``.npz`` or ``.csv`` files.
    skequiv.NetworkActivations : Reads the loaded model's layers.

    Notes
    -----
    ``torch.export.load`` itself unpickles parts of a ``.pt2`` archive with
    full pickle (weights or constants marked as pickled, example inputs,
    opaque objects), so a crafted ``.pt2`` file can run code when loaded the
    ordinary way. Here the load runs under a guard: ``torch.load`` is forced
    to ``weights_only=True`` and ``pickle.load``, ``pickle.loads``,
    ``pickle.Unpickler`` and TorchScript's object unpickler raise while it
    lasts (process-wide, so do not load models from other threads at the
    same time). Programs exported by ``torch.export.save`` from an ordinary
    module load unchanged.

    A program exported with a static batch size accepts only that size, and
    one exported with a bounded ``torch.export.Dim`` only sizes in its range.
    The returned module runs any batch: it splits batches that are too large
    and pads short ones by repeating their last sample, dropping the padding
    from the output and from every layer read through hooks. With a static
    batch size ``b``, a per-sample Jacobian runs the program on ``b`` samples,
    so Jacobians cost ``b`` times more than with a dynamic batch: export with
    ``dynamic_shapes=({0: torch.export.Dim("batch")},)`` where you can.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import torch
    >>> from skequiv.io import load_model
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh())
    >>> program = torch.export.export(net, (torch.zeros(8, 3),))
    >>> path = Path(tempfile.mkdtemp()) / "static.pt2"
    >>> torch.export.save(program, path)
    >>> model = load_model(path)
    >>> model.format, model.input_shape, model.static_batch
    ('torch.export program', (3,), 8)
    >>> model.module(torch.zeros(5, 3)).shape  # any batch size
    torch.Size([5, 4])
    """
    path = check_file(Path(path))
    suffix = path.suffix.lower()
    if suffix in PROGRAM_SUFFIXES:
        if model_class is not None:
            raise ValueError(
                f"{path}: a .pt2 program carries its architecture; model_class is "
                "only for state dicts (.pt, .pth, .safetensors)."
            )
        module, input_shape, dtype, batch_sizes = load_program(path)
        return LoadedModel(
            module, path, "torch.export program", input_shape, dtype, batch_sizes
        )
    if suffix in STATE_DICT_SUFFIXES:
        state, kind = _torch_state_dict(path), "state dict"
    elif suffix in SAFETENSORS_SUFFIXES:
        state, kind = _safetensors_state_dict(path), "safetensors state dict"
    else:
        raise ValueError(
            f"{path}: unknown model file type {path.suffix!r}; give a torch.export "
            "program (.pt2) or a state dict (.pt, .pth, .safetensors) with "
            "model_class."
        )
    if model_class is None:
        raise ValueError(
            f"{path}: a state dict holds weights, not the architecture; say what "
            "builds it with model_class ('package.module:Factory', the "
            "--model-class option of `skequiv compare`), or export the model to "
            ".pt2."
        )
    return LoadedModel(_fill(path, state, model_class), path, kind)


def _torch_state_dict(path):
    torch = import_torch()
    try:
        with warnings.catch_warnings():
            # torch's notice before it refuses a pickle of another protocol
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafeFileError(
            f"{path}: refused, it holds Python objects that only full unpickling "
            "could read (which can run code stored in the file; a model saved "
            f"with torch.save(model) is such a file). {HOW_TO_EXPORT}"
        ) from exc
    except Exception as exc:
        raise ValueError(
            f"{path}: not a file torch.load can read ({type(exc).__name__}: "
            f"{first_line(exc)})."
        ) from exc
    return _check_state_dict(path, state)


def _safetensors_state_dict(path):
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise ValueError(
            f"{path}: reading .safetensors files needs the safetensors package: "
            "pip install safetensors (or skequiv[safetensors])."
        ) from None
    try:
        state = load_file(str(path), device="cpu")
    except Exception as exc:
        raise ValueError(
            f"{path}: not a safetensors file ({type(exc).__name__}: {first_line(exc)})."
        ) from exc
    return _check_state_dict(path, state)


def _check_state_dict(path, state):
    torch = import_torch()
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        if isinstance(state, dict):
            keys = ", ".join(repr(k) for k in list(state)[:8])
            what = f"a dict whose values are not all tensors (keys {keys})"
        else:
            what = f"a {type(state).__name__}"
        raise ValueError(
            f"{path}: expected a state dict (names to tensors), found {what}. "
            "Save model.state_dict() alone."
        )
    return state


def _fill(path, state, model_class):
    """Build the architecture and load the state dict into it."""
    torch = import_torch()
    factory, label = resolve_factory(model_class)
    try:
        built = factory()
    except Exception as exc:
        raise ValueError(
            f"model class {label}: calling it failed ({type(exc).__name__}: "
            f"{first_line(exc)}); it must build the model without arguments."
        ) from exc
    module = _module_of(built, label)
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or wrong:
        parts = []
        for name, items in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("shape mismatch (file vs model)", wrong),
        ):
            if items:
                more = f", ... ({len(items) - 4} more)" if len(items) > 4 else ""
                parts.append(f"{name}: {', '.join(items[:4])}{more}")
        raise ValueError(
            f"{path}: the state dict does not fit the model built by {label} "
            f"({'; '.join(parts)})."
        )
    with torch.no_grad():
        module.load_state_dict(state)
    return module.eval()


def _module_of(built, label):
    torch = import_torch()
    if isinstance(built, torch.nn.Module):
        return built
    skorch = sys.modules.get("skorch")
    if skorch is not None and isinstance(built, skorch.NeuralNet):
        if not getattr(built, "initialized_", False):
            built.initialize()
        return built.module_
    raise ValueError(
        f"model class {label} returned a {type(built).__name__}; it must return a "
        "torch.nn.Module or a skorch NeuralNet."
    )


def resolve_factory(model_class):
    """The callable named by ``"package.module:Factory"`` (or given), and a label."""
    if callable(model_class):
        return model_class, getattr(model_class, "__qualname__", repr(model_class))
    module_name, sep, attribute = model_class.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(
            f"model class {model_class!r} must look like 'package.module:Factory'."
        )
    # a model definition usually sits next to the user, as ./models.py
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        target = importlib.import_module(module_name)
    except Exception as exc:
        raise ValueError(
            f"model class {model_class!r}: cannot import {module_name!r} "
            f"({type(exc).__name__}: {first_line(exc)})."
        ) from exc
    finally:
        if added:
            sys.path.remove(cwd)
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(
                f"model class {model_class!r}: {module_name!r} has no attribute "
                f"{attribute!r}."
            ) from None
    if not callable(target):
        raise ValueError(
            f"model class {model_class!r} is a {type(target).__name__}, not "
            "something that can be called to build the model."
        )
    return target, model_class
