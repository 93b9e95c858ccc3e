"""Run every benchmark, each in its own process, and print their tables.

Each script is also runnable alone and writes its JSON under
``benchmarks/results/`` (git-ignored) with the JAX version, device and git
hash. The sampler runs twice at n = 50, C = 1,024: on one device and with the
CPU split into two (``XLA_FLAGS=--xla_force_host_platform_device_count=2``),
and the ratio of the two is printed at the end.

Run: ``python benchmarks/run.py [--quick]`` (``--quick``: no sampler sweep, no
default-settings ``check_estimator``).
"""

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(name, *args, env=None):
    script = HERE / f"{name}.py"
    if not script.exists():
        print(f"== {name}: not present, skipped\n", flush=True)
        return ""
    print(f"== {name} {' '.join(args)}", flush=True)
    out = subprocess.run(
        [sys.executable, str(script), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
    )
    print(out.stdout, flush=True)
    if out.returncode:
        print(out.stderr[-3000:], flush=True)
    return out.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    one = run("sampler", *([] if args.quick else ["--full"]))
    two = run("sampler", env={"XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    run("fit")
    run("compile", *(["--quick"] if args.quick else []))
    run("init")
    run("gaussian")
    run("smm")

    def sk_rate(text):
        m = re.search(r"^\s*50\s+1024\s+\d+\s+(\S+)", text, re.M)
        return float(m.group(1)) if m else float("nan")

    print(
        f"sampler n=50 C=1024, two CPU devices / one: {sk_rate(two) / sk_rate(one):.2f}"
    )


if __name__ == "__main__":
    main()
