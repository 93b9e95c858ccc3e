"""The core is pure JAX: importing it pulls in neither scikit-learn nor the shell."""

import subprocess
import sys


def test_core_imports_no_sklearn_and_no_shell():
    # Every module of skmaxent.core is imported in a fresh process; none may
    # load scikit-learn or a shell module (skmaxent.<name> outside core).
    code = (
        "import pkgutil, importlib, sys, skmaxent.core as core;"
        "[importlib.import_module('skmaxent.core.' + m.name)"
        " for m in pkgutil.iter_modules(core.__path__)];"
        "bad = [m for m in sys.modules if m.startswith('sklearn') or"
        " (m.startswith('skmaxent.') and not m.startswith('skmaxent.core'))];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_does_not_enable_x64():
    code = (
        "import jax, skmaxent; from skmaxent import MaxEntDual;"
        "assert not jax.config.jax_enable_x64"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
