"""The layers: the core is pure JAX, and imports run one way only.

Core (``skmaxent/core``): the base modules (``types``, ``programs``,
``energy``), then ``features``, then ``sampling``, then ``training`` and
``logz`` side by side (neither imports the other). Shell: the public leaf
modules (``features``, ``energies``, ``priors``), then ``_inputs``, then
``_fit``, then the estimators. A module imports only from its own layer or
below.
"""

import ast
import os
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "skmaxent"

#: (layer, rank) of each part of the package; equal ranks of different
#: layers may not import each other.
LAYERS = {
    "core.types": ("core", 0),
    "core.programs": ("core", 0),
    "core.energy": ("core", 0),
    "core": ("core", 0),
    "core.features": ("features", 1),
    "core.sampling": ("sampling", 2),
    "core.training": ("training", 3),
    "core.logz": ("logz", 3),
    "features": ("public", 4),
    "energies": ("public", 4),
    "priors": ("public", 4),
    "_inputs": ("inputs", 5),
    "_fit": ("fit", 6),
}
ESTIMATORS = ("estimators", 7)


def _layer(dotted: str):
    """The layer of ``skmaxent.<dotted>`` (its longest listed prefix)."""
    parts = dotted.split(".")
    for k in range(len(parts), 0, -1):
        if ".".join(parts[:k]) in LAYERS:
            return LAYERS[".".join(parts[:k])]
    return ESTIMATORS


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        yield ".".join(parts) or "__init__", path


def _imports(path):
    """Every ``skmaxent.*`` module a file imports (top level or in functions)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("skmaxent."):
                base = node.module[len("skmaxent.") :]
                yield from (f"{base}.{a.name}" for a in node.names)
            elif node.module == "skmaxent":
                yield from (a.name for a in node.names)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("skmaxent."):
                    yield a.name[len("skmaxent.") :]


@pytest.mark.parametrize("name,path", list(_modules()), ids=lambda v: str(v))
def test_imports_run_down_the_layers(name, path):
    own = _layer(name)
    for target in _imports(path):
        other = _layer(target)
        ok = other[1] < own[1] or other == own
        assert ok, f"skmaxent.{name} ({own[0]}) imports skmaxent.{target} ({other[0]})"


def test_core_imports_no_sklearn_and_no_shell():
    # Every module of skmaxent.core is imported in a fresh process; none may
    # load scikit-learn or a shell module (skmaxent.<name> outside core).
    code = (
        "import pkgutil, importlib, sys, skmaxent.core as core;"
        "[importlib.import_module(m.name) for m in"
        " pkgutil.walk_packages(core.__path__, 'skmaxent.core.')];"
        "bad = [m for m in sys.modules if m.startswith('sklearn') or"
        " (m.startswith('skmaxent.') and not m.startswith('skmaxent.core'))];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_does_not_change_x64():
    # Whatever the environment set (CI runs the suite with and without
    # JAX_ENABLE_X64=1), importing skmaxent leaves the flag as it was.
    code = (
        "import jax; before = jax.config.jax_enable_x64;"
        "import skmaxent; from skmaxent import MaxEntDual, ScoreMatchingGaussian;"
        "import skmaxent.core.training.loop;"
        "assert jax.config.jax_enable_x64 == before"
    )
    for flag in ("0", "1"):
        env = dict(os.environ, JAX_ENABLE_X64=flag)
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
