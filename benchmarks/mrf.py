"""Sparse Gaussian chain MRFs fitted from zero: iterations and time against n.

The sparse-graph issue's problem: on ``[-1, 1]^n``, precision 100 on the
diagonal and -40 between neighbours (marginal sd ~0.13, the walls
irrelevant), features ``x_i``, ``x_i^2``, ``x_i x_{i+1}``, targets the exact
moments, ``MaxEntDual(..., init="zero")``. Two trust regions in the same run:
the natural step clipped to Fisher norm 0.5 (the earlier rule) and to
``0.5 sqrt(n)`` (the current one, a KL budget per variable). Printed:
iterations, convergence, the final moment error, the relative coefficient
error against the exact natural parameters, and the wall time.

Run: ``python benchmarks/mrf.py [--n 50 100] [--max-iter 3000]``.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import system_info, write_results  # noqa: E402

import skmaxent  # noqa: E402
from skmaxent import MaxEntDual  # noqa: E402
from skmaxent.features import Moment, Product  # noqa: E402


def chain_problem(n):
    """Features, exact targets and exact natural parameters of the chain MRF."""
    P = np.diag(np.full(n, 100.0))
    P += np.diag(np.full(n - 1, -40.0), 1) + np.diag(np.full(n - 1, -40.0), -1)
    S = np.linalg.inv(P)
    features = [Moment(i) for i in range(n)] + [Moment(i, 2) for i in range(n)]
    features += [Product(i, i + 1) for i in range(n - 1)]
    off = np.arange(n - 1)
    mu = np.r_[np.zeros(n), np.diag(S), S[off, off + 1]]
    coef = np.r_[np.zeros(n), -0.5 * np.diag(P), -P[off, off + 1]]
    return features, mu, coef


def fit(n, max_iter, per_variable):
    features, mu, coef = chain_problem(n)
    model = MaxEntDual(
        features, bounds=[[-1, 1]] * n, init="zero", max_iter=max_iter, random_state=0
    )
    # The earlier rule clipped at 0.5 whatever n: undo the sqrt(n) scaling.
    max_norm = 0.5 if per_variable else 0.5 / np.sqrt(n)
    start = time.perf_counter()
    with warnings.catch_warnings(), skmaxent.config_context(max_norm=max_norm):
        warnings.simplefilter("ignore")
        model.fit(moments=mu)
    return dict(
        n=n,
        rule="0.5 sqrt(n)" if per_variable else "0.5",
        iterations=model.n_iter_,
        converged=model.converged_,
        moment_error=model.moment_error_,
        coef_error=float(np.linalg.norm(model.coef_ - coef) / np.linalg.norm(coef)),
        seconds=time.perf_counter() - start,
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, nargs="+", default=[50, 100])
    parser.add_argument("--max-iter", type=int, default=3000)
    args = parser.parse_args()
    rows = []
    head = ("n", "clip", "iters", "conv", "err", "coef err", "s")
    print("{:>4} {:<12} {:>6} {:>5} {:>8} {:>9} {:>7}".format(*head))
    for n in args.n:
        for per_variable in (False, True):
            r = fit(n, args.max_iter, per_variable)
            rows.append(r)
            print(
                f"{n:>4} {r['rule']:<12} {r['iterations']:>6} "
                f"{r['converged']!s:>5} {r['moment_error']:>8.4f} "
                f"{r['coef_error']:>9.4f} {r['seconds']:>7.1f}",
                flush=True,
            )
    path = write_results("mrf", {"system": system_info(), "rows": rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
