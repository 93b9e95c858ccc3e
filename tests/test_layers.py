"""The core is pure JAX: importing it pulls in neither scikit-learn nor the shell."""

import os
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


def test_import_does_not_change_x64():
    # Whatever the environment set (CI runs the suite with and without
    # JAX_ENABLE_X64=1), importing skmaxent leaves the flag as it was.
    code = (
        "import jax; before = jax.config.jax_enable_x64;"
        "import skmaxent; from skmaxent import MaxEntDual, ScoreMatchingGaussian;"
        "import skmaxent.core.loop;"
        "assert jax.config.jax_enable_x64 == before"
    )
    for flag in ("0", "1"):
        env = dict(os.environ, JAX_ENABLE_X64=flag)
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
