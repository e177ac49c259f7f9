"""Figures of scripts and examples: on screen, in the gallery, or in a folder."""

import os
import re
import sys
from collections import Counter
from pathlib import Path

from skequiv._compat import HasMethods, validate_params

# Backends that draw only to files: plt.show() can only warn there.
_FILE_BACKENDS = frozenset({"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"})

# figures saved so far per (folder, script): numbers the next file name
_SAVED = Counter()

# validate_params constraints of the plotting functions' ``ax`` and ``cmap``:
# matplotlib is imported only when drawing, so an Axes and a colour map are
# known by their methods
AX_CONSTRAINT = [HasMethods(["plot", "scatter", "imshow"]), None]
CMAP_CONSTRAINT = [str, HasMethods(["resampled"])]


def import_pyplot():
    """Import and return matplotlib.pyplot, or say how to install matplotlib."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised without matplotlib
        raise ImportError(
            "Plotting needs matplotlib: pip install 'skequiv[plot]'."
        ) from exc
    return plt


def axes_or_new(ax, figsize=None, layout=None):
    """``ax``, or the Axes of a new figure (``figsize``, ``layout``) when None."""
    if ax is None:
        ax = import_pyplot().figure(figsize=figsize, layout=layout).add_subplot()
    return ax


@validate_params(
    {"name": [str, None], "folder": [str, os.PathLike]},
    prefer_skip_nested_validation=True,
)
def save_or_show(name=None, *, folder="figures"):
    """Show the open figures, or, headless, save them to a folder and say so.

    A drop-in replacement for ``plt.show()`` at the end of a script or of a
    gallery cell. On screen (an interactive backend, or a notebook) it calls
    ``plt.show()``. Headless (a file-only backend such as Agg, as with
    ``MPLBACKEND=Agg python examples/plot_scalar.py``) it writes each open
    figure to ``folder`` as a PNG, prints its path and what it shows (the
    figure title and each panel's title and axis labels), and closes it. In a
    sphinx-gallery build it does nothing: the gallery collects the open figures
    itself after each cell.

    Parameters
    ----------
    name : str, default=None
        File name, without extension, for the first figure saved; further
        figures of the same call get ``_2``, ``_3``, ... None means the name
        of the running script followed by a count, ``plot_scalar_01`` and so
        on, numbered across the calls of one process.
    folder : str or path-like, default="figures"
        Where headless figures are written (created if absent), relative to
        the working directory.

    Returns
    -------
    paths : list of pathlib.Path
        The files written; empty when the figures were shown or left to
        sphinx-gallery.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from skequiv.utils import save_or_show
    >>> plt.close("all")  # save_or_show writes every open figure
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [0, 1]), ax.set_title("identity")
    >>> _ = ax.set_xlabel("x"), ax.set_ylabel("y")
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = save_or_show("line", folder=folder)
    saved .../line.png: identity (x vs y)
    >>> [path.name for path in paths]
    ['line.png']
    """
    plt = import_pyplot()
    if "sphinx_gallery" in sys.modules:
        return []
    if plt.get_backend().lower() not in _FILE_BACKENDS:
        plt.show()
        return []
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for fig in map(plt.figure, plt.get_fignums()):
        path = folder / f"{_file_name(name, folder, len(paths))}.png"
        fig.savefig(path, dpi=150, bbox_inches="tight")
        print(f"saved {path}: {_describe(fig)}")
        plt.close(fig)
        paths.append(path)
    return paths


def _file_name(name, folder, index):
    if name is not None:
        return name if index == 0 else f"{name}_{index + 1}"
    script = Path(sys.argv[0]).stem or "figure"
    _SAVED[folder.resolve(), script] += 1
    return f"{script}_{_SAVED[folder.resolve(), script]:02d}"


def _describe(fig):
    # the figure's title, then each titled or labelled panel as
    # "title (x label vs y label)", and each colour bar as "colour: label"
    parts = [fig.get_suptitle()] if fig.get_suptitle() else []
    for ax in fig.get_axes():
        labels = [label for label in (ax.get_xlabel(), ax.get_ylabel()) if label]
        if ax.get_label() == "<colorbar>":  # how matplotlib marks a colour bar
            panel = f"colour: {labels[0]}" if labels else ""
        else:
            shown = " vs ".join(labels)
            panel = " ".join(filter(None, (ax.get_title(), shown and f"({shown})")))
        if panel:
            parts.append(re.sub(r"\s+", " ", panel))
    return "; ".join(parts) or "an untitled figure"
