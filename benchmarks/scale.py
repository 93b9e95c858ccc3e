"""Sparse pairwise MRFs with thousands of variables, fitted from zero.

Problems on ``[-1, 1]^n`` whose exact moments and natural parameters are
computed here, independently of the package:

- ``chain-gauss`` / ``grid-gauss``: a Gaussian MRF deep inside the box
  (precision 100 on the diagonal, -40 between chain neighbours, -20 between
  grid neighbours; marginal sd 0.11-0.14, so the walls, six or more sd away,
  are ignored); features ``x_i``, ``x_i^2``, ``x_i x_j`` on the edges; exact
  moments and ``log Z`` of any ``coef`` whose quadratic form is negative
  definite from its precision (sparse LU solves, columns in blocks).
- ``chain-legendre``: a non-Gaussian chain, unary and pairwise Legendre
  potentials of degree 3 (features ``skmaxent.features.pairwise(edges, 3)``),
  exact moments and ``log Z`` of any ``coef`` by transfer matrices on an
  80-node Gauss–Legendre rule per variable.
- ``dense-indicator``: a dense equicorrelated Gaussian (mean 0, marginal sd
  0.1, correlation 0.3 between every pair; ten sd inside the box) with the
  ``"quadratic"`` preset's features (``x_i``, ``x_i^2``, every ``x_i x_j``:
  ``n + n (n + 1) / 2``) and one ``Indicator(0, 0.05, 1)``, so that no
  Gaussian start applies; targets the truth's exact moments (the indicator's
  ``P(x_0 >= 0.05)``), true ``coef`` from the precision ``P``
  (``-P_ii / 2`` on the squares, ``-P_ij`` on the products, 0 on the
  indicator). Exact moments and ``log Z`` of any ``coef`` whose quadratic
  form is negative definite: a Gaussian tilted on one interval of ``x_0``
  (:func:`dense_exact`). ``dense-gauss``: the same without the indicator.

Each problem is fitted with ``MaxEntDual(..., init="zero")`` in a fresh
process (``--one``), so the wall time includes compilation and the peak
resident memory is that problem's. Printed: iterations, convergence, time,
peak memory, the reported moment error, the largest standardised error of the fitted
density's moments (computed exactly from ``coef_`` as above, against the
targets, divided by the features' exact sd), the relative coefficient error,
and ``log_partition_`` minus the exact ``log Z`` of ``coef_``, beside the
reported standard error.

Run: ``python benchmarks/scale.py [--problems chain-gauss ...] [--n 100 1000]``.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import system_info, write_results  # noqa: E402
from mrf_exact import gaussian_exact, graph, legendre_exact  # noqa: E402

# Legendre potentials of the non-Gaussian chain: unary (degrees 1..3) and
# pairwise (a, b = 1..3), the same on every variable and edge.
UNARY = np.array([0.2, -0.5, 0.3])
PAIR = np.array([[1.0, 0.3, -0.2], [0.3, -0.4, 0.1], [-0.2, 0.1, 0.2]])


def gaussian_problem(kind, n):
    """Features and natural parameters of the Gaussian MRF on ``graph``."""
    from skmaxent.features import Moment, Product

    edges = graph(kind, n)
    off = -40.0 if kind == "chain" else -20.0
    specs = [Moment(i) for i in range(n)] + [Moment(i, 2) for i in range(n)]
    specs += [Product(i, j) for i, j in edges]
    coef = np.r_[np.zeros(n), np.full(n, -50.0), np.full(len(edges), -off)]
    return specs, coef, partial(gaussian_exact, n, np.array(edges))


def legendre_problem(n):
    """Features and natural parameters of the Legendre chain."""
    from skmaxent.features import pairwise

    specs = pairwise(graph("chain", n), degree=3)
    coef = np.r_[np.tile(UNARY, n), np.tile(PAIR.ravel(), n - 1)]
    return specs, coef, partial(legendre_exact, n)


# The dense problem: marginal sd, correlation, and the indicator's interval.
DENSE_SD, DENSE_RHO, DENSE_BIN = 0.1, 0.3, (0.05, 1.0)


def dense_exact(n, indicator, coef):
    """Moments, sd and ``log Z`` of ``exp(coef·f)`` for :func:`dense_problem`.

    The quadratic part is a Gaussian ``N(m, S)`` (the walls, ten sd away,
    are ignored; ``None`` unless its form is negative definite); the
    indicator's coefficient ``c`` tilts the marginal of ``x_0`` by ``e^c``
    on its interval, and the other variables are Gaussian given ``x_0``:
    ``E[x] = m + b (E[x_0] - m_0)``, ``E[x xᵀ] = S_cond + E[x] E[x]ᵀ + b bᵀ
    Var[x_0]`` (``b = S e_0 / S_00``), with ``x_0``'s tilted moments from
    the normal's partial moments on the interval, and ``log Z`` the
    Gaussian's plus ``log(1 + (e^c - 1) q)`` (``q`` the interval's
    Gaussian probability). ``sd`` is the untilted Gaussian's (it only
    scales the errors).
    """
    from scipy.stats import norm

    iu, ju = np.triu_indices(n, 1)
    P = np.diag(-2.0 * coef[n : 2 * n])
    P[iu, ju] = P[ju, iu] = -coef[2 * n : 2 * n + iu.size]
    if np.linalg.eigvalsh(P)[0] <= 0:
        return None
    L = np.linalg.cholesky(P)
    S = np.linalg.inv(P)
    m = S @ coef[:n]
    d = np.diag(S)
    s0 = np.sqrt(d[0])
    lo, hi = ((v - m[0]) / s0 for v in DENSE_BIN)
    q = norm.cdf(hi) - norm.cdf(lo)
    # Partial moments of the standard normal on the interval, then x_0's.
    z = (q, norm.pdf(lo) - norm.pdf(hi), q + lo * norm.pdf(lo) - hi * norm.pdf(hi))
    part = (
        z[0],
        m[0] * z[0] + s0 * z[1],
        m[0] ** 2 * z[0] + 2 * m[0] * s0 * z[1] + d[0] * z[2],
    )
    gauss = (1.0, m[0], d[0] + m[0] ** 2)
    tilt = np.expm1(coef[-1]) if indicator else 0.0
    ratio = 1.0 + tilt * q
    e1, e2 = ((g + tilt * t) / ratio for g, t in zip(gauss[1:], part[1:]))
    b = S[:, 0] / d[0]
    mean = m + b * (e1 - m[0])
    second = (
        S - np.outer(b, S[0]) + np.outer(mean, mean) + np.outer(b, b) * (e2 - e1**2)
    )
    mu = np.r_[mean, np.diag(second), second[iu, ju]]
    var_prod = (
        d[iu] * d[ju]
        + S[iu, ju] ** 2
        + m[iu] ** 2 * d[ju]
        + m[ju] ** 2 * d[iu]
        + 2 * m[iu] * m[ju] * S[iu, ju]
    )
    sd = np.r_[np.sqrt(d), np.sqrt(2 * d**2 + 4 * m**2 * d), np.sqrt(var_prod)]
    if indicator:
        prob = (1.0 + tilt) * q / ratio
        mu, sd = np.r_[mu, prob], np.r_[sd, np.sqrt(prob * (1 - prob))]
    log_z = (
        0.5 * n * np.log(2 * np.pi) - np.sum(np.log(np.diag(L))) + 0.5 * coef[:n] @ m
    )
    return mu, sd, log_z + np.log(ratio)


def dense_problem(n, indicator=True):
    """Features and natural parameters of the dense Gaussian (plus an indicator)."""
    from skmaxent.features import Indicator, Moment, Product

    specs = [Moment(i) for i in range(n)] + [Moment(i, 2) for i in range(n)]
    specs += [Product(i, j) for i in range(n) for j in range(i + 1, n)]
    specs += [Indicator(0, *DENSE_BIN)] if indicator else []
    cov = DENSE_SD**2 * ((1 - DENSE_RHO) * np.eye(n) + DENSE_RHO)
    P = np.linalg.inv(cov)
    iu, ju = np.triu_indices(n, 1)
    coef = np.r_[np.zeros(n), -np.diag(P) / 2, -P[iu, ju], [0.0] * indicator]
    return specs, coef, partial(dense_exact, n, indicator)


def problem(name, n):
    """``(specs, true coef, exact)``, ``exact(coef) -> (moments, sd, log Z)``
    (``None`` where the moments of that ``coef`` are not known exactly)."""
    if name.startswith("dense"):
        return dense_problem(n, indicator=name == "dense-indicator")
    if name == "chain-legendre":
        return legendre_problem(n)
    return gaussian_problem(name.split("-")[0], n)


def run_one(name, n, max_iter):
    from skmaxent import MaxEntDual

    specs, coef, exact = problem(name, n)
    mu, sd, log_z = exact(coef)
    model = MaxEntDual(
        specs,
        bounds=np.tile([-1.0, 1.0], (n, 1)),
        init="zero",
        max_iter=max_iter,
        random_state=0,
    )
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(moments=mu)
    seconds = time.perf_counter() - start
    fitted = exact(model.coef_)  # the fitted density's exact moments and log Z
    row = dict(
        problem=name,
        n=n,
        features=len(specs),
        iterations=int(model.n_iter_),
        converged=bool(model.converged_),
        seconds=seconds,
        peak_rss_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        moment_error=float(model.moment_error_),
        coef_error=float(np.linalg.norm(model.coef_ - coef) / np.linalg.norm(coef)),
        log_z=float(model.log_partition_),
        log_z_std=float(model.log_partition_std_),
        warnings=[str(w.message)[:120] for w in caught],
    )
    if fitted is not None:
        row["max_std_moment_error"] = float(np.max(np.abs(fitted[0] - mu) / sd))
        row["exact_log_z"] = float(fitted[2])
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--problems",
        nargs="+",
        default=["chain-gauss", "chain-legendre", "grid-gauss"],
    )
    parser.add_argument("--n", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--max-iter", type=int, default=4000)
    parser.add_argument("--one", nargs=2, metavar=("PROBLEM", "N"))
    args = parser.parse_args()
    if args.one:
        row = run_one(args.one[0], int(args.one[1]), args.max_iter)
        print(json.dumps(row))
        return
    rows = []
    head = (
        "problem",
        "n",
        "p",
        "iters",
        "conv",
        "s",
        "GB",
        "err",
        "max z",
        "coef",
        "logZ-exact",
        "std",
    )
    widths = "{:<15} {:>6} {:>6} {:>6} {:>5} {:>7} {:>5} {:>7} {:>6} {:>6} {:>10} {:>6}"
    print(widths.format(*head))
    for name in args.problems:
        for n in args.n:
            if name.startswith("grid") and int(round(np.sqrt(n))) ** 2 != n:
                continue
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    name,
                    str(n),
                    "--max-iter",
                    str(args.max_iter),
                ],
                capture_output=True,
                text=True,
            )
            if out.returncode:
                print(f"{name} n={n} failed:\n{out.stderr[-2000:]}", flush=True)
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(r)
            z = r.get("max_std_moment_error", np.nan)
            gap = r["log_z"] - r.get("exact_log_z", np.nan)
            print(
                f"{name:<15} {n:>6} {r['features']:>6} {r['iterations']:>6} "
                f"{r['converged']!s:>5} {r['seconds']:>7.1f} {r['peak_rss_gb']:>5.2f} "
                f"{r['moment_error']:>7.4f} {z:>6.3f} {r['coef_error']:>6.3f} "
                f"{gap:>10.3f} {r['log_z_std']:>6.3f}",
                flush=True,
            )
    path = write_results("scale", {"system": system_info(), "rows": rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
