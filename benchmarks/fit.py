"""Fit speed: ``MaxEntDual.fit(moments=...)`` on quadratic problems of growing size.

Two families of known models ``θ*`` on the box ``[-1, 1]^n``, both Gaussians
with mean 0 and random correlations restricted to the box:

* ``wide``: sd 0.15, every face more than six standard deviations away, so
  the truncated mass is below 1e-8 and the targets are the Gaussian's exact
  moments (``E[x] = m``, ``E[x_i x_j] = Σ_ij + m_i m_j``);
* ``truncated``: sd 0.5, faces two standard deviations away; the targets are
  the means of 400,000 exact draws (rejection of Gaussian draws outside the
  box), so the Gaussian start is off and the chains must correct it.

* ``zero``: the ``wide`` targets fitted with ``init="zero"``, so that the
  chains must learn every parameter from the uniform distribution (the wide
  family otherwise ends at its verified Gaussian start).

For each problem
the fit runs once to compile and then is timed in turns; reported are the
compile time (first minus second), the wall time after compilation, the
iterations, the natural-step solver (``dense`` up to 1,024 features, else
``cg``, matrix-free), and the achieved standardised moment error measured on
20,000 fresh model samples (``max_k |mean f_k - mu_k| / s_k``, ``s_k`` the
uniform standard deviation on the box, in closed form) beside the Monte Carlo
floor of that measurement (the largest per-feature standard error of
independent draws; the sampler's draws are autocorrelated, so the real noise
of the measurement is larger). For the ``wide`` and ``zero`` families the
model is also read as a Gaussian (the box holds all but 1e-8 of its mass),
and ``err exact`` is its moment error in closed form, free of sampling noise.
Moments
of the samples are taken in matrix form (``SᵀS / N``), never as a
``(N, p)`` feature matrix, so ``n = 1000`` (500,500 features) fits in memory.

Run: ``python benchmarks/fit.py [--sizes 5 20 100 1000] [--zero-sizes 100 200]``.
"""

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import system_info, write_results  # noqa: E402

import skmaxent  # noqa: E402
from skmaxent import MaxEntDual  # noqa: E402


def problem(n, seed=0, sd=0.15, truncated=False):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    cov = A @ A.T + n * np.eye(n)
    d = np.sqrt(np.diag(cov))
    cov = sd**2 * cov / np.outer(d, d)
    iu, ju = np.triu_indices(n, k=1)
    if truncated:
        draws = []
        while sum(len(x) for x in draws) < 400_000:
            x = rng.multivariate_normal(np.zeros(n), cov, size=200_000)
            draws.append(x[np.all(np.abs(x) <= 1, axis=1)])
        x = np.concatenate(draws)[:400_000]
        mu = np.r_[x.mean(0), (x**2).mean(0), (x[:, iu] * x[:, ju]).mean(0)]
    else:
        mu = np.r_[np.zeros(n), np.diag(cov), cov[iu, ju]]
    # Uniform on [-1, 1]: sd of x is 1/sqrt(3), of x^2 sqrt(4/45), of x_i x_j 1/3.
    s = np.r_[np.full(n, 3**-0.5), np.full(n, (4 / 45) ** 0.5), np.full(iu.size, 1 / 3)]
    return mu, s, np.c_[-np.ones(n), np.ones(n)]


def sample_moments(S):
    """Means (p,) of the quadratic features of samples ``S`` (N, n) and their
    standard errors, in matrix form."""
    N, n = S.shape
    iu, ju = np.triu_indices(n, k=1)
    S = S.astype(np.float64)
    S2 = S * S
    cross = S.T @ S / N
    mean = np.r_[S.mean(0), S2.mean(0), cross[iu, ju]]
    fourth = S2.T @ S2 / N
    var = np.r_[S.var(0), S2.var(0), fourth[iu, ju] - cross[iu, ju] ** 2]
    return mean, np.sqrt(np.maximum(var, 0.0) / N)


def gaussian_error(coef, mu, s, n):
    """Exact standardised moment error of a quadratic ``coef`` read as a Gaussian.

    For the ``wide`` targets the box holds all but 1e-8 of the mass, so the
    model ``exp(coef·f)`` is the Gaussian with precision ``P`` (``P_ii = -2
    coef[x_i^2]``, ``P_ij = -coef[x_i x_j]``) and mean ``P^-1 coef[x]``: its
    moments in closed form, with no sampling noise. ``nan`` if ``P`` is not
    positive definite.
    """
    iu, ju = np.triu_indices(n, k=1)
    P = np.zeros((n, n))
    P[iu, ju] = P[ju, iu] = -coef[2 * n :]
    P[np.arange(n), np.arange(n)] = -2 * coef[n : 2 * n]
    try:
        L = np.linalg.cholesky(P)
    except np.linalg.LinAlgError:
        return float("nan")
    cov = np.linalg.inv(L).T @ np.linalg.inv(L)
    m = cov @ coef[:n]
    second = cov + np.outer(m, m)
    exact = np.r_[m, np.diag(second), second[iu, ju]]
    return float(np.max(np.abs(exact - mu) / s))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[5, 20, 100])
    parser.add_argument("--truncated-sizes", type=int, nargs="*", default=[5, 20])
    parser.add_argument("--zero-sizes", type=int, nargs="*", default=[20, 100, 200])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    info = system_info()
    print(f"jax {info['jax']} on {info['device']} ({info['cpu_count']} CPUs)")
    head = (
        f"{'case':>10} {'n':>5} {'p':>7} {'solver':>6} {'compile s':>10} "
        f"{'fit s':>8} {'iters':>6} {'conv':>5} {'err (20k)':>10} {'MC floor':>9} "
        f"{'err exact':>9}"
    )
    print(head)
    rows = {}
    cases = [("wide", n) for n in args.sizes]
    cases += [("truncated", n) for n in args.truncated_sizes]
    cases += [("zero", n) for n in args.zero_sizes]
    for case, n in cases:
        if case == "truncated":
            mu, s, bounds = problem(n, sd=0.5, truncated=True)
        else:
            mu, s, bounds = problem(n)
        init = "zero" if case == "zero" else "auto"
        model = MaxEntDual(bounds=bounds, init=init, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            model.fit(moments=mu)
            first = time.perf_counter() - start
            times = []
            for r in range(args.repeats):
                model.set_params(random_state=r + 1)
                start = time.perf_counter()
                model.fit(moments=mu)
                times.append(time.perf_counter() - start)
        fit_s = statistics.median(times)
        mean, se = sample_moments(model.sample(20_000, random_state=0))
        err = np.abs(mean - mu) / s
        floor = se / s
        solver = (
            "dense" if mu.size <= skmaxent.get_config().dense_max_features else "cg"
        )
        exact = np.nan if case == "truncated" else gaussian_error(model.coef_, mu, s, n)
        rows[f"{case}-{n}"] = {
            "p": mu.size,
            "solver": solver,
            "compile_s": first - fit_s,
            "fit_s": fit_s,
            "n_iter": model.n_iter_,
            "converged": model.converged_,
            "init": model.init_,
            "error": float(err.max()),
            "mc_floor": float(floor.max()),
            "error_exact": exact,
        }
        print(
            f"{case:>10} {n:5d} {mu.size:7d} {solver:>6} {first - fit_s:10.2f} "
            f"{fit_s:8.2f} "
            f"{model.n_iter_:6d} {str(model.converged_):>5} {err.max():10.4f} "
            f"{floor.max():9.4f} {exact:9.4f}"
        )
    path = write_results("fit", {"args": vars(args), "rows": rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
