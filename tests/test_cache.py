"""The persistent compilation cache: only on request, and used by a new process."""

import subprocess
import sys

import pytest

import skmaxent

SCRIPT = """
import sys, jax, skmaxent
before = jax.config.jax_compilation_cache_dir
if sys.argv[1] != "off":
    skmaxent.enable_compilation_cache(sys.argv[1])
from skmaxent import MaxEntDual
MaxEntDual("linear", bounds=[[0, 1]], n_chains=16, max_iter=50).fit(moments=[0.3])
print(repr(before), repr(jax.config.jax_compilation_cache_dir))
"""


def _run(arg):
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", SCRIPT, arg],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


def test_cache_only_on_request_and_filled_by_a_fit(tmp_path):
    # Without the call a fit leaves JAX's option alone (None); with it the
    # directory is set and the fit's compiled programs land there.
    assert _run("off") == ["None", "None"]
    assert not any(tmp_path.iterdir())
    before, after = _run(str(tmp_path))
    assert before == "None" and after == repr(str(tmp_path))
    assert len(list(tmp_path.iterdir())) >= 3  # loop, AIS, sampling programs


def test_bad_arguments():
    with pytest.raises(ValueError, match="min_compile_time_secs"):
        skmaxent.enable_compilation_cache("/tmp", min_compile_time_secs=-1)
    with pytest.raises(TypeError, match="path"):
        skmaxent.enable_compilation_cache(3.5)
