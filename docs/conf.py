"""Sphinx configuration: numpydoc + sphinx-gallery + pydata theme, offline.

The build and the pages need no network: there is no intersphinx, the theme's
assets are bundled with it, and formulas are rendered in the reader's browser by
a copy of MathJax 3 that sphinx-mathjax-offline writes into ``_static/mathjax``.
"""

import re
from pathlib import Path

import skequiv

project = "skequiv"
author = "skequiv developers"
copyright = "skequiv developers, BSD-3-Clause"
release = version = skequiv.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # copies MathJax into _static/mathjax/ (no CDN), see mathjax_path below
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
# No intersphinx: docs must build with no network access.

templates_path = ["_templates"]
exclude_patterns = ["_build", "README.md"]
default_role = "literal"

autosummary_generate = True
autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"

numpydoc_show_class_members = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# The local copy of MathJax (relative to _static/); its TeX extensions, such as
# ams for \operatorname, load from beside it when a page first needs them.
mathjax_path = "mathjax/tex-chtml.js"

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # by title: the seed paper's (a), (b), (c) first, in its order, then the rest
    # (a fully qualified name, so that the configuration pickles)
    "within_subsection_order": "sphinx_gallery.sorting.ExampleTitleSortKey",
    "download_all_examples": False,
    # "Examples using ..." sections on the API pages
    "doc_module": ("skequiv",),
    "backreferences_dir": "generated/backreferences",
    "show_memory": False,
    # no sg_execution_times.rst in the source tree (times are 0 without running)
    "write_computation_times": False,
    # the examples print what they want shown; a cell's last value (the empty
    # list of save_or_show, a Figure) is not output
    "capture_repr": (),
}

html_theme = "pydata_sphinx_theme"
html_title = f"skequiv {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False


def _check_api_coverage(app):
    """Warn when a public name is missing from api.rst."""
    from sphinx.util import logging

    import skequiv.datasets
    import skequiv.metric
    import skequiv.utils

    logger = logging.getLogger(__name__)
    api = Path(app.srcdir, "api.rst").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\s{3}(\w+)\s*$", api, flags=re.MULTILINE))
    expected = set(skequiv._PUBLIC)
    for module in (skequiv.datasets, skequiv.metric, skequiv.utils):
        expected |= set(module.__all__)
    for name in sorted(expected - listed):
        logger.warning("public name %r is not listed in api.rst", name)


# A numpydoc type such as ``ndarray of shape (n_features_in_,)`` is raw reST, in
# which ``n_features_in_`` is a hyperlink reference (numpydoc issue #444):
# escape the trailing underscore of names in the type part of "name : type"
# lines, outside backquotes, before numpydoc renders the docstring.
_TYPE_LINE = re.compile(r"^([*\w][\w, *]* : )(.+)$")
_TRAILING_UNDERSCORE = re.compile(r"(?<![\w\\])([A-Za-z]\w*?[A-Za-z0-9])_(?![\w`])")
_QUOTED = re.compile(r"(`[^`]*`)")


def _escape_type_underscores(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        match = _TYPE_LINE.match(line)
        if match is None:
            continue
        head, spec = match.groups()
        parts = _QUOTED.split(spec)
        parts[::2] = [_TRAILING_UNDERSCORE.sub(r"\1\\_", p) for p in parts[::2]]
        lines[i] = head + "".join(parts)


# Methods inherited from scikit-learn (set_output, set_fit_request, score, ...)
# cite labels and glossary terms of scikit-learn's own docs, which cannot be
# resolved offline (no intersphinx): keep their text, drop the link.
_REF_ROLE = re.compile(r":(?:ref|term):`([^`<]*?)\s*(?:<[^`>]*>)?`")


def _plain_ref(match):
    text = match.group(1).strip()
    if text.startswith("sphx_glr_") and "_plot_" in text:
        # an untitled link to a gallery example of scikit-learn's
        example = "plot_" + text.split("_plot_", 1)[1]
        return f"scikit-learn's example ``{example}``"
    return text


def _unlink_sklearn_refs(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    if not module.startswith("sklearn"):
        return
    for i, line in enumerate(lines):
        lines[i] = _REF_ROLE.sub(_plain_ref, line)


def setup(app):
    app.connect("builder-inited", _check_api_coverage)
    # before numpydoc (priority 500) turns the docstring into reST
    app.connect("autodoc-process-docstring", _escape_type_underscores, priority=400)
    app.connect("autodoc-process-docstring", _unlink_sklearn_refs, priority=400)
