"""Fixtures shared across test folders."""

import os
import shlex

import pytest


class _Hostile:
    """Unpickling it runs a shell command that creates ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(self.marker)}",))


@pytest.fixture
def hostile_object():
    """``make(marker)``: an object whose unpickling creates the file ``marker``.

    For tests that a file is refused without being unpickled: the marker
    exists afterwards exactly when the file was unpickled.
    """
    return _Hostile
