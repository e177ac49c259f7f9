"""Utilities shared across skequiv, and for scripts that use it."""

from skequiv.utils._figures import save_or_show

__all__ = ["save_or_show"]
