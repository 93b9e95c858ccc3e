"""Sphinx configuration of the skmaxent documentation.

Build (from the repository root)::

    pip install -e '.[docs]' && python -m sphinx -W -b html docs docs/_build/html

Environment:

- ``SKMAXENT_DOCS_GALLERY``: which gallery examples are executed. Unset or
  ``all``: every ``examples/plot_*.py``. ``none``: none (the pages are
  rendered without output or figures). Anything else: a regular expression
  on the example's path (sphinx-gallery's ``filename_pattern``); CI uses
  ``.ci/run``'s subset.
- ``SKMAXENT_DOCS_INTERSPHINX=0``: no intersphinx links. Otherwise each
  inventory host is probed (2 s) and only reachable ones are used, so that an
  offline build stays free of warnings.
"""

import os
import re
import socket
from urllib.parse import urlparse

import skmaxent

project = "skmaxent"
author = "the skmaxent developers"
copyright = "2026, the skmaxent developers"
release = skmaxent.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.md5"]

# -- API reference -----------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"  # types are in the numpydoc sections
add_module_names = False

numpydoc_show_class_members = False  # the class template lists members
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = True
# Every check except those the house style does not follow:
#   ES01 "no extended summary": one-line summaries are enough for small
#        helpers (STYLE.md 18 asks for the full template on estimators);
#   SA01 "no See Also", EX01 "no Examples": required on estimators only
#        (STYLE.md 18), and the estimators have them;
#   RT02 "return type only, no name": the house style names returns, as
#        scikit-learn does (``log_density : ndarray of shape (n_samples,)``);
#   SS05 "summary starts with an infinitive": it misreads noun-phrase
#        summaries ("Names of the features, ...") as third-person verbs;
#   SA03 "See Also description capitalised": the house style continues the
#        sentence in lower case ("MaxEntDual : the same model family, ...").
numpydoc_validation_checks = {
    "all",
    "ES01",
    "SA01",
    "EX01",
    "RT02",
    "SS05",
    "SA03",
}
numpydoc_validation_exclude = {
    # the low-level compiled feature map: its methods are traced JAX functions
    # with one-line docstrings (documented, not yet validated)
    r"^skmaxent\.features\.FeatureMap(\.|$)",
    # members inherited from scikit-learn and Python keep their own docstrings
    r"\.__init__$",
    r"\.get_params$",
    r"\.set_params$",
    r"\.set_output$",
    r"\.fit_transform$",
    r"\.get_metadata_routing$",
    r"\.set_\w+_request$",
}

# -- Markdown ----------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# -- Theme -------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skmaxent {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_static_path = []

# -- Gallery -----------------------------------------------------------------
_gallery = os.environ.get("SKMAXENT_DOCS_GALLERY", "all")
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_" if _gallery in ("all", "none") else _gallery,
    "plot_gallery": "False" if _gallery == "none" else "True",
    "ignore_pattern": r"quickstart\.py",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skmaxent",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"skmaxent": None},
    "abort_on_example_error": True,
    "remove_config_comments": True,
    "min_reported_time": 1,
}

# -- Intersphinx -------------------------------------------------------------
_INVENTORIES = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "scipy": "https://docs.scipy.org/doc/scipy/",
    "sklearn": "https://scikit-learn.org/stable/",
    "jax": "https://docs.jax.dev/en/latest/",
    "matplotlib": "https://matplotlib.org/stable/",
}


def _reachable(url, timeout=2.0):
    """Whether the host of ``url`` accepts a connection within ``timeout``."""
    host = urlparse(url).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        return False
    return True


intersphinx_timeout = 10
intersphinx_mapping = {}
if os.environ.get("SKMAXENT_DOCS_INTERSPHINX", "1") != "0":
    intersphinx_mapping = {
        name: (url, None) for name, url in _INVENTORIES.items() if _reachable(url)
    }

# -- Docstring rendering -----------------------------------------------------
# A fitted-attribute name in a shape, ``(n_features_in_, 2)``, reads in reST
# as a hyperlink reference ("n_features_in_"); scikit-learn writes it in
# backquotes. This renders such names as literals without touching the
# docstrings (which ``help()`` shows as they are).
_TRAILING_UNDERSCORE = re.compile(r"(?<![`\w])([a-z]\w*_)(?=[,)])")


def _literal_attributes(app, what, name, obj, options, lines):
    for k, line in enumerate(lines):
        if "shape (" in line:
            lines[k] = _TRAILING_UNDERSCORE.sub(r"``\1``", line)


def setup(app):
    app.connect("autodoc-process-docstring", _literal_attributes, priority=400)
