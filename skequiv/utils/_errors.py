"""Error-message helpers shared by the command line and the loaders."""


def first_line(exc):
    """The first line of an exception's message, for one-line errors."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
