"""Helpers shared by the benchmarks: timing and system information."""

import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import jax

RESULTS = Path(__file__).resolve().parent / "results"


def time_in_turns(calls: dict[str, Callable], repeats: int = 7) -> dict[str, dict]:
    """Compile time and median steady-state time of each zero-argument call.

    Each call is first run once (tracing + compilation + one run, timed
    apart as ``compile_s``). Then the calls are timed in turns, one call each
    per round for ``repeats`` rounds, so that a change of load on a shared
    machine hits all of them alike; every timed call ends with
    ``jax.block_until_ready``. Returns, per name, ``compile_s``, ``times``,
    ``seconds`` (the median) and ``result`` (the first call's output).
    """
    rows = {}
    for name, call in calls.items():
        start = time.perf_counter()
        result = jax.block_until_ready(call())
        rows[name] = {"compile_s": time.perf_counter() - start, "result": result}
        rows[name]["times"] = []
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            jax.block_until_ready(call())
            rows[name]["times"].append(time.perf_counter() - start)
    for row in rows.values():
        row["seconds"] = statistics.median(row["times"])
    return rows


def git_hash() -> str:
    """``git rev-parse HEAD`` of the repository, or ``"unknown"`` outside git."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def system_info() -> dict:
    """JAX version, device, CPU count, platform and git hash."""
    device = jax.devices()[0]
    return {
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "device": f"{device.platform}:{device.device_kind}",
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "git": git_hash(),
    }


def write_results(name: str, payload: dict) -> Path:
    """Write ``payload`` with :func:`system_info` to ``results/<name>-<time>.json``."""
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps({"system": system_info(), **payload}, indent=2))
    return path
