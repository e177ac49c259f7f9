"""A guard under which no file is unpickled beyond plain tensors."""

import importlib
import os
import pickle
from contextlib import contextmanager

from skequiv.utils._torch import import_torch

# torch.load honours this even where the caller passed weights_only=False
_FORCE = "TORCH_FORCE_WEIGHTS_ONLY_LOAD"
_FORCE_NOT = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"


class _Refused(Exception):
    """Raised from inside a guarded load where it would have unpickled."""


def _refuse(*args, **kwargs):
    raise _Refused("full unpickling")


class _RefusingUnpickler(pickle.Unpickler):
    # a class, so that a module imported inside the block can still subclass it
    def __init__(self, *args, **kwargs):
        _refuse()


@contextmanager
def no_unpickling():
    """Run a block in which unpickling is weights-only or refused.

    ``torch.export.load`` unpickles parts of a ``.pt2`` archive with
    ``torch.load(weights_only=False)``, ``pickle.loads`` and TorchScript's
    object unpickler; any of these can run code stored in the file. Inside
    the block ``torch.load`` is forced to ``weights_only=True`` (tensors and
    containers only) and the other entry points raise. Process-wide while it
    lasts, so it is meant for a command line, not for threaded servers.
    """
    torch = import_torch()
    # imported first: modules that subclass pickle.Unpickler when imported
    # must see the real one
    importlib.import_module("torch.export.pt2_archive._package")
    saved_env = {key: os.environ.get(key) for key in (_FORCE, _FORCE_NOT)}
    patched = [
        (pickle, "loads"),
        (pickle, "load"),
        (pickle, "Unpickler"),
        (torch._C, "_pickle_load_obj"),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name in patched]
    os.environ[_FORCE] = "1"
    os.environ.pop(_FORCE_NOT, None)
    try:
        for owner, name in patched:
            setattr(owner, name, _RefusingUnpickler if name == "Unpickler" else _refuse)
        yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
