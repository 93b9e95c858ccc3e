"""Compilation: time spent compiling in a first and a second fit, and check_estimator.

A 5-variable quadratic fit from moments is first timed in fresh processes,
without and with the persistent compilation cache
(:func:`skmaxent.enable_compilation_cache`: a first process fills it, a second
reads it). A first ``fit`` of a new (features, n, n_chains) compiles the training chunk,
the AIS sampler and the feature map; a second fit with the same shapes (other
targets) must reuse them. Compilation time is read from JAX's own monitoring
events (``/jax/core/compile/*_duration``), not guessed from wall time; the
programs a fit compiles (one backend compilation each) are listed with their
XLA compile times, the largest first. A first
fit with ``[Legendre(0, 1), Legendre(0, D)]`` is timed for degree ``D`` 4 and
30 in the same process (the table's recurrence must not grow the programs
with the degree: the ratio should stay within 1.5). Then
``sklearn.utils.estimator_checks.check_estimator`` is timed for each estimator
with cheap and with default settings.

Run: ``python benchmarks/compile.py [--quick] [--only NAME ...] [--legendre]``
(``--quick`` skips the default-settings ``check_estimator`` runs; ``--only``
times the ``check_estimator`` runs whose label starts with one of the names
and skips the fit timing; ``--legendre`` times the Legendre row alone).
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import jax
import numpy as np
from sklearn.utils.estimator_checks import check_estimator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import system_info, write_results  # noqa: E402

import skmaxent  # noqa: E402
from skmaxent import MaxEntDual, MaxLikelihoodEBM, ScoreMatchingGaussian  # noqa: E402
from skmaxent.features import Legendre  # noqa: E402

COMPILE_SECONDS = []
PROGRAMS = []  # (name, XLA compile seconds) of each backend compilation


def _listener(event, duration, fun_name="?", **_):
    if event.startswith("/jax/core/compile") and event.endswith("duration"):
        COMPILE_SECONDS.append(duration)
    if event == "/jax/core/compile/backend_compile_duration":
        PROGRAMS.append((fun_name, duration))


def timed(call):
    COMPILE_SECONDS.clear()
    PROGRAMS.clear()
    start = time.perf_counter()
    call()
    return time.perf_counter() - start, sum(COMPILE_SECONDS)


def programs_report(label):
    """Print the programs just compiled, largest first; return them as rows."""
    rows = sorted(PROGRAMS, key=lambda r: -r[1])
    total = sum(d for _, d in rows)
    mean = total / max(len(rows), 1)
    print(
        f"  {label}: {len(rows)} programs, {total:.2f} s XLA compile "
        f"({mean:.3f} s per program)"
    )
    for name, d in rows[:6]:
        print(f"    {name:<40}{d:8.3f}")
    if len(rows) > 6:
        print(f"    ({len(rows) - 6} more, {sum(d for _, d in rows[6:]):.3f} s)")
    return [{"name": name, "compile_s": d} for name, d in rows]


def estimators(defaults):
    out = [
        (
            "MaxEntDual(n_chains=64, max_iter=100)",
            MaxEntDual(n_chains=64, max_iter=100),
        ),
        ("ScoreMatchingGaussian()", ScoreMatchingGaussian()),
    ]
    smm = skmaxent.MomentMatchingEBM
    for cls in (smm, MaxLikelihoodEBM):
        label = f"{cls.__name__}(n_chains=64, max_iter=100)"
        out.append((label, cls(n_chains=64, max_iter=100)))
    if defaults:
        out += [(f"{cls.__name__}()", cls()) for cls in (MaxEntDual, smm)]
        out.append(("MaxLikelihoodEBM()", MaxLikelihoodEBM()))
    return out


def time_fits(rows):
    """First and second fit of a MaxEntDual: wall and compile seconds."""
    rng = np.random.default_rng(0)
    bounds = [[0, 1]] * 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MaxEntDual(bounds=bounds, random_state=0)
        targets = [rng.uniform(0.2, 0.8, size=(400, 5)) ** k for k in (1, 1.3)]
        first = timed(lambda: model.fit(targets[0]))
        first_programs = list(PROGRAMS)
        second = timed(lambda: model.fit(targets[1]))
        second_programs = list(PROGRAMS)
    rows["fit"] = {"first": first, "second": second}
    print(f"{'MaxEntDual quadratic n=5 fit':<46}{'wall s':>9}{'compiling s':>13}")
    print(f"{'  first fit (new shapes)':<46}{first[0]:9.2f}{first[1]:13.2f}")
    print(
        f"{'  second fit (same shapes, other data)':<46}"
        f"{second[0]:9.2f}{second[1]:13.2f}"
    )
    share = second[1] / first[1]
    print(f"  second fit's compile time / first's: {share:.1%}")
    PROGRAMS[:] = first_programs
    rows["fit"]["first_programs"] = programs_report("first fit")
    PROGRAMS[:] = second_programs
    rows["fit"]["second_programs"] = programs_report("second fit")
    print()
    return share


def time_legendre(rows, degrees=(4, 30)):
    """First fit with ``[Legendre(0, 1), Legendre(0, D)]`` on 40 x 2 for each
    degree ``D`` in this process: wall and compile seconds, and the ratio of
    the last degree to the first; the largest ratio is returned.

    Two starts: the score-matching one (``init="auto"``) for one window of
    50 iterations (its start, the linear system and the quick training
    chunk), and zero for 60 (the optimised chunk). A degree-2 fit first
    compiles the programs that do not depend on the features; then each fit
    starts with no program of the package held (``skmaxent.clear_caches``),
    so that every degree compiles the same programs: only their size may
    differ. (Past one window from the score-matching start, whether a fit
    ends at its verified start decides which training chunk it compiles.)
    """
    X = np.random.default_rng(0).uniform(size=(40, 2))
    print(
        f"{'MaxEntDual [P1(x0), PD(x0)] 40 x 2 first fit':<46}{'wall s':>9}"
        f"{'compiling s':>13}"
    )
    rows["legendre"], ratios = {}, []
    for init, max_iter in (("auto", 50), ("zero", 60)):
        row = rows["legendre"][init] = {}
        for d in (2, *degrees):
            model = MaxEntDual(
                [Legendre(0, 1), Legendre(0, d)],
                bounds=[[0, 1]] * 2,
                n_chains=64,
                max_iter=max_iter,
                init=init,
                random_state=0,
            )
            skmaxent.clear_caches()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                wall, comp = timed(lambda model=model: model.fit(X))
            if d == 2:
                continue
            row[d] = {"wall_s": wall, "compile_s": comp}
            row[d]["programs"] = programs_report(f"init={init!r}, degree {d}")
            print(f"{f'  init={init!r}, degree {d}':<46}{wall:9.2f}{comp:13.2f}")
        first, last = row[degrees[0]], row[degrees[-1]]
        ratios.append(last["wall_s"] / first["wall_s"])
        print(
            f"  init={init!r}: degree {degrees[-1]} / degree {degrees[0]}: first "
            f"fit {ratios[-1]:.2f}x, compiling "
            f"{last['compile_s'] / first['compile_s']:.2f}x"
        )
    print()
    return max(ratios)


FRESH = """
import sys, time, warnings
import numpy as np
import skmaxent
if sys.argv[1] != "off":
    skmaxent.enable_compilation_cache(sys.argv[1])
from skmaxent import MaxEntDual
X = np.random.default_rng(0).uniform(0.2, 0.8, size=(400, 5))
i, j = np.triu_indices(5, 1)
mu = np.r_[X.mean(0), (X**2).mean(0), (X[:, i] * X[:, j]).mean(0)]
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    MaxEntDual(bounds=[[0, 1]] * 5, random_state=0).fit(moments=mu)
print(time.perf_counter() - start)
"""


def time_fresh(rows, repeats=3):
    """The 5-variable quadratic fit from moments in fresh processes: without
    the persistent cache, and with it (a first process fills it, a second
    reads it). Timed inside each process, from the fit's start (import and
    data excluded)."""
    import subprocess
    import tempfile

    def fit(arg):
        out = subprocess.run(
            [sys.executable, "-c", FRESH, arg], capture_output=True, text=True
        )
        return float(out.stdout.split()[-1])

    plain = [fit("off") for _ in range(repeats)]
    filled, cached = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as path:
            filled.append(fit(path))
            cached.append(fit(path))
    rows["fresh"] = {"no_cache": plain, "cache_first": filled, "cache_second": cached}
    print("MaxEntDual quadratic n=5 fit(moments=...), fresh processes (s, each run)")
    for label, values in [
        ("  first fit, no cache", plain),
        ("  first process with the cache (fills it)", filled),
        ("  second process with the cache", cached),
    ]:
        print(f"{label:<46}" + " ".join(f"{v:6.2f}" for v in values))
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="+", default=None)
    parser.add_argument("--legendre", action="store_true")
    args = parser.parse_args()
    info = system_info()
    print(f"jax {info['jax']} on {info['device']} ({info['cpu_count']} CPUs)")
    jax.monitoring.register_event_duration_secs_listener(_listener)
    rows = {}
    share = None
    if args.legendre:
        ratio = time_legendre(rows)
        print(f"results: {write_results('compile', rows)}")
        print(f"legendre degree ratio: {ratio:.3f}")
        return
    if not args.only:
        time_legendre(rows)
        time_fresh(rows)
        share = time_fits(rows)
    print(f"{'check_estimator':<46}{'wall s':>9}{'compiling s':>13}")
    rows["check_estimator"] = {}
    for name, est in estimators(defaults=not args.quick):
        if args.only and not name.startswith(tuple(args.only)):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wall, comp = timed(lambda est=est: check_estimator(est))
        rows["check_estimator"][name] = {"wall_s": wall, "compile_s": comp}
        print(f"{name:<46}{wall:9.1f}{comp:13.1f}", flush=True)
    path = write_results("compile", rows)
    print(f"results: {path}")
    if share is not None:
        print(f"second-fit compile share: {share:.3f}")


if __name__ == "__main__":
    main()
