"""Score-matching start against a zero start for ``MaxEntDual.fit(X)``.

Data: 5,000 exact-ish draws of a 20-variable Gaussian (sd 0.2, random
correlations) well inside the box ``[-1, 1]^20`` (the nearest face is more than
four standard deviations away, so truncation removes a fraction of order
1e-4 of the mass and the data are, to that accuracy, exact draws from the
max-ent model with quadratic features). Two true parameter draws: "weak"
pairwise terms (covariance ``A Aᵀ + n I``: partial correlations, the
precision's standardised off-diagonals, 0.07 on average, at most 0.27) and
"strong" ones (``A Aᵀ + 0.05 n I``: 0.19 on average, up to 0.68). Each
start is fitted once to compile, then timed in turns (fit including AIS);
the achieved standardised moment error is measured on 50,000 fresh model
samples against the data means,
``max_k |mean_model f_k - mean_data f_k| / s_k`` with ``s_k`` the feature's
standard deviation under the uniform distribution on the box (estimated here
from 200,000 uniform draws, independently of the package).

Run: ``python benchmarks/init.py [--n 20] [--rows 5000]``. The last line is
``speedup auto/zero: R``, the smaller of the two draws' speed-ups.
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

from skmaxent import MaxEntDual  # noqa: E402

#: The two parameter draws: (seed, ridge of the covariance in units of n).
DRAWS = {"weak": (0, 1.0), "strong": (1, 0.05)}


def data(n, rows, seed=0, ridge=1.0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    cov = A @ A.T + ridge * n * np.eye(n)
    d = np.sqrt(np.diag(cov))
    corr = cov / np.outer(d, d)
    sd = 0.2
    X = rng.multivariate_normal(np.zeros(n), sd**2 * corr, size=4 * rows)
    X = X[np.all(np.abs(X) < 1, axis=1)][:rows]
    return X, np.c_[-np.ones(n), np.ones(n)]


def compare(X, bounds, repeats):
    """Fit both starts (once to compile, then in turns); print and return rows."""
    models = {
        init: MaxEntDual(bounds=bounds, init=init, random_state=0)
        for init in ("zero", "auto")
    }
    rows = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(X)
            rows[name] = {"first_s": time.perf_counter() - start, "times": []}
        for _ in range(repeats):
            for name, model in models.items():
                start = time.perf_counter()
                model.fit(X)
                rows[name]["times"].append(time.perf_counter() - start)
    n = X.shape[1]
    rng = np.random.default_rng(1)
    U = rng.uniform(bounds[:, 0], bounds[:, 1], size=(200_000, n))
    s_uniform = models["zero"].transform(U).std(axis=0)
    target = models["zero"].transform(X).mean(axis=0)
    print(
        f"{'init':>6} {'used':>15} {'fit s':>8} {'first s':>8} {'iters':>6} "
        f"{'verify':>6} {'conv':>5} {'moment err (50k)':>17} {'logZ se':>8}"
    )
    for name, model in models.items():
        row = rows[name]
        row["seconds"] = statistics.median(row["times"])
        S = model.sample(50_000, random_state=2)
        err = np.max(np.abs(model.transform(S).mean(axis=0) - target) / s_uniform)
        row.update(
            init_used=model.init_,
            n_iter=model.n_iter_,
            n_verify=int(np.sum(model.history_["phase"] == "verify")),
            converged=model.converged_,
            moment_error=float(err),
            log_partition_std=model.log_partition_std_,
        )
        print(
            f"{name:>6} {model.init_:>15} {row['seconds']:8.3f} {row['first_s']:8.2f} "
            f"{model.n_iter_:6d} {row['n_verify']:6d} {str(model.converged_):>5} "
            f"{err:17.4f} {model.log_partition_std_:8.4f}"
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    info = system_info()
    print(f"jax {info['jax']} on {info['device']} ({info['cpu_count']} CPUs)")
    results, speedups = {}, {}
    for draw, (seed, ridge) in DRAWS.items():
        X, bounds = data(args.n, args.rows, seed, ridge)
        print(
            f"{draw} pairwise terms: {args.n} variables, quadratic features, "
            f"{len(X)} rows"
        )
        rows = compare(X, bounds, args.repeats)
        speedups[draw] = rows["zero"]["seconds"] / rows["auto"]["seconds"]
        results[draw] = rows
        print(f"  speedup auto/zero ({draw}): {speedups[draw]:.2f}")
    path = write_results(
        "init", {"args": vars(args), "draws": results, "speedups": speedups}
    )
    print(f"results: {path}")
    print(f"speedup auto/zero: {min(speedups.values()):.2f}")


if __name__ == "__main__":
    main()
