"""The core is pure JAX: importing it pulls in neither scikit-learn nor the shell."""

import subprocess
import sys


def test_core_imports_no_sklearn():
    code = (
        "import sys, skmaxent.core.train, skmaxent.core.ais, skmaxent.core.hmc;"
        "bad = [m for m in sys.modules if m.startswith('sklearn')];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_does_not_enable_x64():
    code = (
        "import jax, skmaxent; from skmaxent import MaxEntDual;"
        "assert not jax.config.jax_enable_x64"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
