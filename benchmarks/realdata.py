"""Held-out log-likelihood on real data against GaussianMixture and KernelDensity.

Datasets bundled with scikit-learn (column subsets), standardised inside a
``Pipeline``, a 70/30 split, every model chosen by ``GridSearchCV`` (5
shuffled folds) over its own grid, with default ``bounds``:

- ``MaxEntDual`` over ``features`` (``"quadratic"``, ``"legendre4"``, and
  the interaction presets ``"legendre2x2"``, ``"legendre4x2"``) and
  ``alpha``;
- ``MaxLikelihoodEBM`` with the linear energy over the same ``features``
  and ``alpha`` (label ``MaxLikelihoodEBM``), and
  ``MaxLikelihoodEBM`` with an ``MLP(hidden=(32, 32))`` energy and early
  stopping over ``alpha`` (label ``MaxLikelihoodMLP``; the density guide's
  recommended grid);
- ``GaussianMixture`` over ``n_components``;
- ``KernelDensity`` over ``bandwidth``.

Printed per dataset: the held-out mean log-likelihood of each chosen model
(mean of ``score_samples``, also the grid searches' scoring),
the number of non-finite fold scores in its grid search, the number of
``ConvergenceWarning``s its grid search raised (all folds and the refit),
fit time, and for
MaxEntDual and MaxLikelihoodEBM an independent check of the reported
score: ``log Z`` of the refitted model by defensive importance sampling
(400,000 draws from a mixture of a Gaussian fitted to the model's samples,
widened 1.5x, and a defensive part, uniform on boxed axes and a 3x wider
Gaussian on open ones; the estimate's standard error is printed),
so that ``score + log_partition_ - log Z_IS`` is the score with an
independent normaliser.

Run: ``python benchmarks/realdata.py [--cases 0 2] [--models MaxEntDual]``
(by default every case and every model).
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats
from scipy.special import logsumexp
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, KFold, train_test_split
from sklearn.neighbors import KernelDensity
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import write_results  # noqa: E402

from skmaxent import MaxEntDual, MaxLikelihoodEBM  # noqa: E402
from skmaxent.energies import MLP  # noqa: E402

CASES = [
    ("wine, 3 columns", datasets.load_wine, [0, 1, 2]),
    ("wine, 6 columns", datasets.load_wine, [0, 1, 2, 3, 4, 5]),
    ("iris, 4 columns", datasets.load_iris, [0, 1, 2, 3]),
    ("breast cancer, 5 columns", datasets.load_breast_cancer, [0, 1, 2, 3, 4]),
    ("diabetes, 4 columns", datasets.load_diabetes, [2, 3, 4, 5]),
    ("diabetes, 5 columns", datasets.load_diabetes, [0, 2, 3, 8, 9]),
]

FEATURES = ["quadratic", "legendre4", "legendre2x2", "legendre4x2"]

MODELS = {
    "MaxEntDual": (
        MaxEntDual(random_state=0),
        {
            "maxentdual__features": FEATURES,
            "maxentdual__alpha": [1e-4, 1e-3, 1e-2],
        },
    ),
    "MaxLikelihoodEBM": (
        MaxLikelihoodEBM(random_state=0),
        {
            "maxlikelihoodebm__features": FEATURES,
            "maxlikelihoodebm__alpha": [1e-4, 1e-3, 1e-2],
        },
    ),
    "MaxLikelihoodMLP": (
        MaxLikelihoodEBM(
            energy_model=MLP(hidden=(32, 32)), early_stopping=True, random_state=0
        ),
        {"maxlikelihoodebm__alpha": [1e-4, 1e-3, 1e-2]},
    ),
    "GaussianMixture": (
        GaussianMixture(random_state=0),
        {"gaussianmixture__n_components": [1, 2, 3]},
    ),
    "KernelDensity": (
        KernelDensity(),
        {"kerneldensity__bandwidth": [0.2, 0.3, 0.5, 0.8]},
    ),
}


def importance_log_z(model, n=400_000, eps=0.1, inflate=1.5, seed=0):
    """``(log Z, standard error)`` of a fitted MaxEntDual by defensive IS.

    The proposal mixes a Gaussian fitted to the model's samples (widened by
    ``inflate``) with a defensive part: uniform on the axes of the support
    with two finite walls, Gaussian three times wider on the open ones.
    """
    rng = np.random.default_rng(seed)
    draws = model.sample(4000, random_state=seed)
    mean, cov = draws.mean(0), np.cov(draws.T) * inflate**2
    lo, hi = model.bounds_[:, 0], model.bounds_[:, 1]
    box = np.isfinite(lo) & np.isfinite(hi)
    a, b = np.where(box, lo, 0.0), np.where(box, hi, 1.0)
    wide = 3.0 * np.sqrt(np.diag(cov))
    pick = rng.uniform(size=n) < eps
    defensive = np.where(
        box, rng.uniform(a, b, size=(n, lo.size)), rng.normal(mean, wide, (n, lo.size))
    )
    X = np.where(pick[:, None], defensive, rng.multivariate_normal(mean, cov, size=n))
    inside = np.all((X >= lo) & (X <= hi), axis=1)
    Xin = X[inside]
    log_d = np.where(box, -np.log(b - a), stats.norm(mean, wide).logpdf(Xin)).sum(
        axis=1
    )
    log_q = np.logaddexp(
        np.log1p(-eps) + stats.multivariate_normal(mean, cov).logpdf(Xin),
        np.log(eps) + log_d,
    )
    log_w = np.full(n, -np.inf)
    log_w[inside] = -model.energy(Xin) - log_q
    w = np.exp(log_w - log_w.max())
    return float(logsumexp(log_w) - np.log(n)), float(w.std() / (np.sqrt(n) * w.mean()))


def mean_log_likelihood(estimator, X, y=None):
    """Mean held-out log-density (``KernelDensity.score`` is a sum)."""
    del y
    return float(np.mean(estimator.score_samples(X)))


def run_case(name, loader, cols, labels):
    X = loader().data[:, cols]
    X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)
    out = {}
    for label in labels:
        estimator, grid = MODELS[label]
        search = GridSearchCV(
            make_pipeline(StandardScaler(), estimator),
            grid,
            scoring=mean_log_likelihood,
            cv=KFold(5, shuffle=True, random_state=0),
        )
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            search.fit(X_train)
            score = mean_log_likelihood(search, X_test)
        seconds = time.perf_counter() - start
        n_fits = 5 * len(search.cv_results_["params"]) + 1
        folds = np.array([search.cv_results_[f"split{k}_test_score"] for k in range(5)])
        row = {
            "score": score,
            "nonfinite_folds": int(np.sum(~np.isfinite(folds))),
            "convergence_warnings": sum(
                issubclass(w.category, ConvergenceWarning) for w in caught
            ),
            "n_fits": n_fits,
            "seconds": seconds,
            "best": {
                k.split("__")[-1]: repr(v) for k, v in search.best_params_.items()
            },
        }
        if label.startswith(("MaxEntDual", "MaxLikelihood")):
            model = search.best_estimator_[-1]
            log_z, se = importance_log_z(model)
            row["log_z"], row["log_z_std"] = (
                model.log_partition_,
                model.log_partition_std_,
            )
            row["log_z_is"], row["log_z_is_std"] = log_z, se
            row["score_is"] = score + model.log_partition_ - log_z
        out[label] = row
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, nargs="+", default=range(len(CASES)))
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    args = parser.parse_args()
    results = {}
    print(
        f"{'case':<26} {'model':<16} {'held-out':>9} {'-inf folds':>10} "
        f"{'warnings':>8} {'fit s':>7}  check: log Z AIS vs IS; chosen"
    )
    for index in args.cases:
        name, loader, cols = CASES[index]
        results[name] = run_case(name, loader, cols, args.models)
        for label, row in results[name].items():
            check = ""
            if "log_z_is" in row:
                check = (
                    f"{row['log_z']:.3f} ± {row['log_z_std']:.3f} vs "
                    f"{row['log_z_is']:.3f} ± {row['log_z_is_std']:.3f}; "
                    f"score with IS log Z {row['score_is']:.3f}; "
                )
            warned = f"{row['convergence_warnings']}/{row['n_fits']}"
            print(
                f"{name:<26} {label:<16} {row['score']:>9.3f} "
                f"{row['nonfinite_folds']:>10d} {warned:>8} {row['seconds']:>7.1f}  "
                f"{check}{row['best']}",
                flush=True,
            )
    print(f"results: {write_results('realdata', {'cases': results})}")


if __name__ == "__main__":
    main()
