"""Sparse pairwise MRFs with thousands of variables, fitted from zero.

Problems on ``[-1, 1]^n`` whose exact moments and natural parameters are
computed here, independently of the package:

- ``chain-gauss`` / ``grid-gauss``: a Gaussian MRF deep inside the box
  (precision 100 on the diagonal, -40 between chain neighbours, -20 between
  grid neighbours; marginal sd 0.11-0.14, so the walls are irrelevant);
  features ``x_i``, ``x_i^2``, ``x_i x_j`` on the edges; exact moments from
  the covariance (sparse LU solves, columns in blocks), exact coef from the
  precision.
- ``chain-legendre``: a non-Gaussian chain, unary and pairwise Legendre
  potentials of degree 3 (features ``skmaxent.features.pairwise(edges, 3)``),
  exact moments and ``log Z`` by transfer matrices on an 80-node
  Gauss–Legendre rule per variable.

Each problem is fitted with ``MaxEntDual(..., init="zero")`` in a fresh
process (``--one``), so the wall time includes compilation and the peak
resident memory is that problem's. Printed: iterations, convergence, time,
peak memory, the reported moment error, the largest standardised error of
the fitted model's moments (``--check-samples`` draws of ``sample``,
against the exact moments, divided by the features' exact sd), the relative
coefficient error, and ``log_partition_`` against the exact ``log Z`` with
its reported standard error.

Run: ``python benchmarks/scale.py [--problems chain-gauss ...] [--n 100 1000]``.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sps
from scipy.sparse.linalg import splu

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import system_info, write_results  # noqa: E402

# Legendre potentials of the non-Gaussian chain: unary (degrees 1..3) and
# pairwise (a, b = 1..3), the same on every variable and edge.
UNARY = np.array([0.2, -0.5, 0.3])
PAIR = np.array([[1.0, 0.3, -0.2], [0.3, -0.4, 0.1], [-0.2, 0.1, 0.2]])


def graph(kind, n):
    """Edges ``(i, j)``, ``i < j``, of a chain or of a square grid (n a square)."""
    if kind == "chain":
        return [(i, i + 1) for i in range(n - 1)]
    side = int(round(np.sqrt(n)))
    if side * side != n:
        raise ValueError(f"a grid needs a square n; got {n}.")
    idx = np.arange(n).reshape(side, side)
    right = np.c_[idx[:, :-1].ravel(), idx[:, 1:].ravel()]
    down = np.c_[idx[:-1, :].ravel(), idx[1:, :].ravel()]
    return [tuple(map(int, e)) for e in np.r_[right, down]]


def gaussian_problem(kind, n):
    """Features, exact targets and coef of the Gaussian MRF on ``graph``."""
    from skmaxent.features import Moment, Product

    edges = np.array(graph(kind, n))
    off = -40.0 if kind == "chain" else -20.0
    I, J = edges[:, 0], edges[:, 1]
    P = sps.coo_array(
        (
            np.r_[np.full(n, 100.0), np.full(2 * len(I), off)],
            (np.r_[np.arange(n), I, J], np.r_[np.arange(n), J, I]),
        ),
        shape=(n, n),
    ).tocsc()
    lu = splu(P)
    diag, cross = np.empty(n), np.empty(len(I))
    for start in range(0, n, 1000):  # covariance columns in blocks
        cols = np.arange(start, min(n, start + 1000))
        E = np.zeros((n, cols.size))
        E[cols, np.arange(cols.size)] = 1.0
        S = lu.solve(E)
        diag[cols] = S[cols, np.arange(cols.size)]
        sel = (J >= cols[0]) & (J <= cols[-1])
        cross[sel] = S[I[sel], J[sel] - cols[0]]
    specs = [Moment(i) for i in range(n)] + [Moment(i, 2) for i in range(n)]
    specs += [Product(int(i), int(j)) for i, j in edges]
    mu = np.r_[np.zeros(n), diag, cross]
    coef = np.r_[np.zeros(n), np.full(n, -50.0), np.full(len(I), -off)]
    sd = np.r_[np.sqrt(diag), np.sqrt(2) * diag, np.sqrt(diag[I] * diag[J] + cross**2)]
    logdet = np.sum(np.log(np.abs(lu.U.diagonal())))  # L has a unit diagonal
    log_z = 0.5 * n * np.log(2 * np.pi) - 0.5 * logdet
    return specs, mu, coef, sd, log_z


def legendre_chain(n, m=80):
    """Features, exact targets, coef, feature sd and log Z of the Legendre chain."""
    from skmaxent.features import pairwise

    edges = graph("chain", n)
    x, w = np.polynomial.legendre.leggauss(m)
    L = np.stack([np.polynomial.legendre.legval(x, np.eye(4)[d]) for d in (1, 2, 3)])
    unary = w * np.exp(UNARY @ L)  # (m,) node weight times exp(unary potential)
    T = np.exp(L.T @ PAIR @ L)  # (m, m) exp(pairwise potential)
    alpha, beta, log_z = [unary / unary.sum()], [np.ones(m) / m], np.log(unary.sum())
    for _ in range(n - 1):
        a = (alpha[-1] @ T) * unary
        log_z += np.log(a.sum())
        alpha.append(a / a.sum())
    for _ in range(n - 1):
        b = T @ (unary * beta[-1])
        beta.append(b / b.sum())
    beta = beta[::-1]
    marg = np.array([a * b for a, b in zip(alpha, beta)])
    marg /= marg.sum(1, keepdims=True)  # (n, m)
    E1 = marg @ L.T  # (n, 3): E[P_d(x_i)]
    V1 = marg @ (L.T**2) - E1**2
    # Pair marginals p(k, l) ∝ alpha_i(k) T(k, l) unary(l) beta_{i+1}(l).
    A, B = np.array(alpha[:-1]), np.array(beta[1:]) * unary
    pair = A[:, :, None] * T[None] * B[:, None, :]
    pair /= pair.sum((1, 2), keepdims=True)
    E2 = np.einsum("ekl,ak,bl->eab", pair, L, L).reshape(n - 1, 9)
    S2 = np.einsum("ekl,ak,bl->eab", pair, L**2, L**2).reshape(n - 1, 9) - E2**2
    specs = pairwise(edges, degree=3)
    mu = np.r_[E1.ravel(), E2.ravel()]
    sd = np.sqrt(np.r_[V1.ravel(), S2.ravel()])
    coef = np.r_[np.tile(UNARY, n), np.tile(PAIR.ravel(), n - 1)]
    return specs, mu, coef, sd, log_z


def problem(name, n):
    if name == "chain-legendre":
        return legendre_chain(n)
    return gaussian_problem(name.split("-")[0], n)


def run_one(name, n, max_iter, check_samples):
    from skmaxent import MaxEntDual
    from skmaxent.features import compile_features

    specs, mu, coef, sd, log_z = problem(name, n)
    bounds = np.tile([-1.0, 1.0], (n, 1))
    model = MaxEntDual(
        specs, bounds=bounds, init="zero", max_iter=max_iter, random_state=0
    )
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(moments=mu)
    seconds = time.perf_counter() - start
    fm = compile_features(specs, n)
    X = model.sample(check_samples, random_state=1)
    lo, hi = bounds[:, 0], bounds[:, 1]
    fitted = sum(
        np.asarray(fm.mean(X[s : s + 1000], lo, hi), np.float64) * len(X[s : s + 1000])
        for s in range(0, len(X), 1000)
    ) / len(X)
    return dict(
        problem=name,
        n=n,
        features=len(specs),
        iterations=int(model.n_iter_),
        converged=bool(model.converged_),
        seconds=seconds,
        peak_rss_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        moment_error=float(model.moment_error_),
        max_std_moment_error=float(np.max(np.abs(fitted - mu) / sd)),
        coef_error=float(np.linalg.norm(model.coef_ - coef) / np.linalg.norm(coef)),
        log_z=float(model.log_partition_),
        log_z_std=float(model.log_partition_std_),
        exact_log_z=float(log_z),
        warnings=[str(w.message)[:120] for w in caught],
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--problems",
        nargs="+",
        default=["chain-gauss", "chain-legendre", "grid-gauss"],
    )
    parser.add_argument("--n", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--max-iter", type=int, default=4000)
    parser.add_argument("--check-samples", type=int, default=20000)
    parser.add_argument("--one", nargs=2, metavar=("PROBLEM", "N"))
    args = parser.parse_args()
    if args.one:
        row = run_one(args.one[0], int(args.one[1]), args.max_iter, args.check_samples)
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
                    "--check-samples",
                    str(args.check_samples),
                ],
                capture_output=True,
                text=True,
            )
            if out.returncode:
                print(f"{name} n={n} failed:\n{out.stderr[-2000:]}", flush=True)
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(r)
            print(
                f"{name:<15} {n:>6} {r['features']:>6} {r['iterations']:>6} "
                f"{r['converged']!s:>5} {r['seconds']:>7.1f} {r['peak_rss_gb']:>5.2f} "
                f"{r['moment_error']:>7.4f} {r['max_std_moment_error']:>6.3f} "
                f"{r['coef_error']:>6.3f} {r['log_z'] - r['exact_log_z']:>10.3f} "
                f"{r['log_z_std']:>6.3f}",
                flush=True,
            )
    path = write_results("scale", {"system": system_info(), "rows": rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
