"""``torch.export`` programs: loaded without unpickling, run at any batch size."""

import logging
import pickle
import warnings
from contextlib import contextmanager

from skequiv.io._errors import HOW_TO_EXPORT, UnsafeFileError
from skequiv.io._unpickling import _Refused, no_unpickling
from skequiv.utils._errors import first_line
from skequiv.utils._torch import import_torch


def load_program(path):
    """Load a ``.pt2`` file as a module that runs at any batch size.

    Returns ``(module, input_shape, dtype, batch_sizes)``: the per-sample
    input shape (None where a dimension other than the batch is dynamic), the
    input dtype and the ``(smallest, largest)`` batch the program accepts
    (``largest`` None when unbounded).
    """
    torch = import_torch()
    try:
        with no_unpickling(), _quiet_torch():
            program = torch.export.load(str(path))
            module = _unflatten(torch, program)
    except (_Refused, pickle.UnpicklingError) as exc:
        raise UnsafeFileError(
            f"{path}: refused, this .pt2 file stores Python objects that only full "
            f"unpickling could read (which can run code stored in the file). "
            f"{HOW_TO_EXPORT}"
        ) from exc
    except Exception as exc:
        raise ValueError(
            f"{path}: not a torch.export program that this torch "
            f"{torch.__version__} can load ({type(exc).__name__}: "
            f"{first_line(exc)}); torch.export.save writes them."
        ) from exc
    value = _single_input(program, path)
    shape = tuple(value.shape)
    low, high = _batch_range(program, shape[0])
    per_sample = tuple(int(s) if isinstance(s, int) else None for s in shape[1:])
    input_shape = None if None in per_sample else per_sample
    from skequiv.io._adapter import ExportedProgramModule

    adapter = ExportedProgramModule(module, low, high)
    return adapter, input_shape, value.dtype, (low, high)


@contextmanager
def _quiet_torch():
    """Silence what torch prints while it deserialises: skequiv says it in one line.

    torch logs a traceback for every file it cannot read, and warns about its
    own deprecations.
    """
    loggers = [logging.getLogger(name) for name in ("torch.export", "torch._export")]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.CRITICAL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _unflatten(torch, program):
    # unflatten restores the module tree, so that layers keep their names;
    # a program whose tree cannot be rebuilt still runs whole
    try:
        return torch.export.unflatten(program)
    except Exception:  # pragma: no cover - depends on how it was exported
        return program.module()


def _single_input(program, path):
    placeholders = {
        node.name: node for node in program.graph.nodes if node.op == "placeholder"
    }
    names = list(program.graph_signature.user_inputs)
    values = [placeholders[name].meta.get("val") for name in names]
    torch = import_torch()
    if len(values) != 1 or not isinstance(values[0], torch.Tensor):
        raise ValueError(
            f"{path}: the program takes {len(values)} inputs; skequiv feeds it one "
            "tensor of inputs. Export a module whose forward takes one tensor."
        )
    if values[0].dim() == 0:
        raise ValueError(f"{path}: the program's input is a scalar, not a batch.")
    return values[0]


def _batch_range(program, size):
    """The batch sizes a program accepts, from its range constraints."""
    if isinstance(size, int):
        return size, size
    bounds = program.range_constraints.get(size.node.expr)
    if bounds is None:  # pragma: no cover - every symbol has a range
        return 1, None
    low = max(int(bounds.lower) if bounds.lower.is_Integer else 1, 1)
    high = int(bounds.upper) if bounds.upper.is_Integer else None  # else infinite
    return low, high
