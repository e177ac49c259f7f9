"""Lazy access to torch, which is an optional dependency."""

import importlib

_INSTALL_HINT = (
    "pip install 'skequiv[torch]' -c constraints.txt  "
    "(constraints.txt pins torch==2.13.0; without it pip pulls a CUDA build)"
)


def import_torch():
    """Import and return torch, or raise an ImportError that says how to install it."""
    try:
        return importlib.import_module("torch")
    except ImportError as exc:  # pragma: no cover - exercised only without torch
        raise ImportError(
            f"This part of skequiv needs torch, which is not installed. {_INSTALL_HINT}"
        ) from exc


def import_skorch():
    """Import and return skorch, or raise an ImportError that says how to install it."""
    try:
        return importlib.import_module("skorch")
    except ImportError as exc:  # pragma: no cover
        raise ImportError(
            "This part of skequiv needs skorch, which is not installed. "
            + _INSTALL_HINT
        ) from exc


def resolve_device(device):
    """``torch.device(device)``, refusing unknown names and absent CUDA clearly."""
    torch = import_torch()
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"device={device!r} is not a torch device; use 'cpu', 'cuda' or "
            "'cuda:<index>'."
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} asks for CUDA, but CUDA is not available on this "
            "machine (torch.cuda.is_available() is False); use device='cpu'."
        )
    return resolved
