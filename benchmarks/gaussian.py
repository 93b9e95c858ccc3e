"""ScoreMatchingGaussian against scikit-learn, in the same run.

(a) Closed form vs ``sklearn.covariance.EmpiricalCovariance``: median fit time
    on n = 10,000 x d = 200 (acceptance: within 2x).
(b) Sparse precision on a d = 50 chain graph (AR(1) covariance rho^|i-j|,
    tridiagonal precision), n = 1,000: support-recovery F1 and wall time of
    ``ScoreMatchingGaussian(alpha=a)`` and ``GraphicalLasso(alpha=a)``, each
    over the same kind of grid (fractions of its own alpha_max, the smallest
    alpha giving a diagonal precision); acceptance: best F1 of score matching
    >= best F1 of GraphicalLasso.

Run: ``python benchmarks/gaussian.py [--repeats 7]``. Prints the tables and
writes them with the system information to ``benchmarks/results/``.
"""

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.covariance import EmpiricalCovariance, GraphicalLasso
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import system_info, write_results  # noqa: E402

from skmaxent._gaussian import ScoreMatchingGaussian  # noqa: E402

FRACTIONS = np.geomspace(0.01, 0.8, 9)  # alpha / alpha_max


def median_fit_time(make, X, repeats):
    """Median wall time of ``make().fit(X)`` and the last fitted estimator."""
    times = []
    for _ in range(repeats):
        est = make()
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est.fit(X)
        times.append(time.perf_counter() - start)
    return statistics.median(times), est, len(caught) > 0


def support_f1(P, truth, threshold=1e-8):
    """F1 of the edges ``|partial correlation| > threshold`` against ``truth``."""
    d = np.sqrt(np.diag(P))
    iu = np.triu_indices(P.shape[0], k=1)
    found = (np.abs(P) / np.outer(d, d))[iu] > threshold
    true = truth[iu]
    tp = np.sum(found & true)
    return 2 * tp / (found.sum() + true.sum()) if found.any() else 0.0


def bench_closed_form(repeats):
    X = np.random.RandomState(0).randn(10_000, 200) @ np.random.RandomState(1).randn(
        200, 200
    )
    ours, est, _ = median_fit_time(ScoreMatchingGaussian, X, repeats)
    ref, emp, _ = median_fit_time(EmpiricalCovariance, X, repeats)
    agree = np.max(np.abs(est.covariance_ - emp.covariance_)) / np.max(
        np.abs(emp.covariance_)
    )
    print("(a) closed form, n = 10,000 x d = 200 (median of", repeats, "fits)")
    print(f"    {'estimator':<34}{'time [ms]':>10}")
    print(f"    {'ScoreMatchingGaussian()':<34}{1e3 * ours:>10.1f}")
    print(f"    {'EmpiricalCovariance()':<34}{1e3 * ref:>10.1f}")
    print(f"    ratio ours / sklearn = {ours / ref:.2f}  (acceptance <= 2)")
    print(f"    max |cov difference| / max |cov| = {agree:.1e}\n")
    return {"ours_s": ours, "sklearn_s": ref, "ratio": ours / ref, "agree": agree}


def bench_chain(repeats):
    d, n, rho = 50, 1000, 0.5
    idx = np.arange(d)
    cov = rho ** np.abs(idx[:, None] - idx[None, :])
    X = np.random.RandomState(0).multivariate_normal(np.zeros(d), cov, size=n)
    truth = np.abs(idx[:, None] - idx[None, :]) == 1
    S = np.cov(X.T, bias=True)
    off = ~np.eye(d, dtype=bool)
    # alpha_max: at P = diag(1/S_ii) the score-matching gradient off the
    # diagonal is (S_ij/S_jj + S_ij/S_ii)/2; GraphicalLasso's is |S_ij|.
    max_sm = np.max(np.abs((S / np.diag(S) + (S.T / np.diag(S)).T) / 2)[off])
    max_gl = np.max(np.abs(S[off]))

    rows = []
    for frac in FRACTIONS[::-1]:
        t_sm, sm, w_sm = median_fit_time(
            lambda a=frac * max_sm: ScoreMatchingGaussian(alpha=a), X, repeats
        )
        t_gl, gl, w_gl = median_fit_time(
            lambda a=frac * max_gl: GraphicalLasso(alpha=a), X, repeats
        )
        rows.append(
            {
                "fraction": float(frac),
                "sm_alpha": float(frac * max_sm),
                "sm_f1": float(support_f1(sm.precision_, truth)),
                "sm_s": t_sm,
                "sm_warned": w_sm,
                "gl_alpha": float(frac * max_gl),
                "gl_f1": float(support_f1(gl.precision_, truth)),
                "gl_s": t_gl,
                "gl_warned": w_gl,
            }
        )

    print(
        f"(b) chain graph, d = {d}, n = {n}, rho = {rho}: support F1 and median fit "
        f"time of {repeats}"
    )
    head = (
        f"    {'a/a_max':>8} | {'SM alpha':>9} {'F1':>6} {'ms':>8} |"
        f" {'GL alpha':>9} {'F1':>6} {'ms':>8}"
    )
    print(head)
    print("    " + "-" * (len(head) - 4))
    for r in rows:
        print(
            f"    {r['fraction']:>8.3f} | {r['sm_alpha']:>9.4f} {r['sm_f1']:>6.3f}"
            f" {1e3 * r['sm_s']:>7.1f}{'*' if r['sm_warned'] else ' '}|"
            f" {r['gl_alpha']:>9.4f} {r['gl_f1']:>6.3f}"
            f" {1e3 * r['gl_s']:>7.1f}{'*' if r['gl_warned'] else ' '}"
        )
    best_sm = max(r["sm_f1"] for r in rows)
    best_gl = max(r["gl_f1"] for r in rows)
    total_sm = sum(r["sm_s"] for r in rows)
    total_gl = sum(r["gl_s"] for r in rows)
    print("    (* = ConvergenceWarning)")
    print(
        f"    best F1: score matching {best_sm:.3f}, GraphicalLasso {best_gl:.3f}"
        f"  (acceptance: SM >= GL: {'yes' if best_sm >= best_gl else 'NO'})"
    )
    print(
        f"    whole grid: score matching {1e3 * total_sm:.1f} ms, GraphicalLasso "
        f"{1e3 * total_gl:.1f} ms (ratio {total_sm / total_gl:.2f})"
    )
    return {
        "rows": rows,
        "best_f1_sm": best_sm,
        "best_f1_gl": best_gl,
        "grid_s_sm": total_sm,
        "grid_s_gl": total_gl,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    info = system_info()
    print(
        f"jax {info['jax']} on {info['device']}, {info['cpu_count']} CPUs, "
        f"git {info['git'][:10]}\n"
    )
    closed = bench_closed_form(args.repeats)
    chain = bench_chain(args.repeats)
    path = write_results("gaussian", {"closed_form": closed, "chain": chain})
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
