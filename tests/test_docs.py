"""Documentation checks: the docstrings' Examples run, and the API page names
every public name."""

import doctest
import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import skmaxent

ROOT = Path(__file__).resolve().parents[1]


def _public_modules():
    """skmaxent and its modules, private ones included: their docstrings are
    what the API reference renders (classes live in ``skmaxent._maxent`` etc.)."""
    names = ["skmaxent"]
    for info in pkgutil.walk_packages(skmaxent.__path__, "skmaxent."):
        names.append(info.name)
    return sorted(names)


def _doctests():
    finder = doctest.DocTestFinder(exclude_empty=True)
    out = []
    for name in _public_modules():
        module = importlib.import_module(name)
        for test in finder.find(module, name):
            if test.examples and test.name.startswith(name):
                out.append(test)
    return out


DOCTESTS = _doctests()
# Examples that change JAX's global configuration run in a fresh process, so
# that the rest of the suite runs as it would without them.
IN_SUBPROCESS = {"skmaxent._cache.enable_compilation_cache"}
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def test_the_estimators_and_helpers_have_examples():
    names = {t.name.split(".")[-1] for t in DOCTESTS}
    wanted = {"MaxEntDual", "MomentMatchingEBM", "ScoreMatchingGaussian"}
    wanted |= {"MarginalPrior", "MLP", "plot_convergence", "plot_pairs"}
    assert wanted <= names, sorted(wanted - names)


def _run_in_subprocess(test):
    module = test.name.rsplit(".", 1)[0]
    code = (
        "import doctest, importlib, sys\n"
        f"module = importlib.import_module({module!r})\n"
        "tests = [t for t in doctest.DocTestFinder().find(module)\n"
        f"         if t.name == {test.name!r}]\n"
        f"runner = doctest.DocTestRunner(optionflags={OPTIONS})\n"
        "runner.run(tests[0])\n"
        "sys.exit(1 if runner.summarize(verbose=False).failed else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("test", DOCTESTS, ids=[t.name for t in DOCTESTS])
def test_docstring_examples(test):
    if test.name in IN_SUBPROCESS:
        _run_in_subprocess(test)
        return
    if "plotting" in test.name:
        pytest.importorskip("matplotlib").use("Agg")
    report = []
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    runner.run(test, out=report.append)
    assert not runner.summarize(verbose=False).failed, "".join(report)


def _public_names():
    from skmaxent import energies, features, plotting

    names = [n for n in skmaxent.__all__ if n != "__version__"]
    for module in (features, energies, plotting):
        names += list(module.__all__)
    return names


@pytest.mark.parametrize("name", _public_names())
def test_api_reference_names_every_public_name(name):
    api = (ROOT / "docs" / "api.rst").read_text()
    assert re.search(rf"(^\s+|``){re.escape(name)}(``|$)", api, re.M), name
