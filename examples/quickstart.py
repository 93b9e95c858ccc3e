"""skmaxent quickstart: a distribution from expert numbers, and a density from data.

(a) Elicitation. An expert gives the means of three quantities with physical
ranges, the spread of two of them, how cost and duration co-vary (a product
moment), and one probability. ``MaxEntDual`` returns the least-committal joint
distribution that honours exactly those numbers; we draw 10,000 scenarios.

(b) Density from data. A smooth maximum-entropy density fitted to three
columns of scikit-learn's wine data, scored by held-out log-likelihood beside
``GaussianMixture`` and ``KernelDensity`` on the same split.

Run: ``python examples/quickstart.py`` (a PNG of the marginals is written when
matplotlib is installed).
"""

import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_wine
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KernelDensity
from sklearn.preprocessing import StandardScaler

from skmaxent import MaxEntDual
from skmaxent.features import Indicator, Moment, Product


def elicitation():
    names = ["cost", "duration", "share"]
    bounds = [[0.0, 500.0], [1.0, 36.0], [0.0, 1.0]]
    mean_cost, sd_cost = 150.0, 80.0
    mean_dur, sd_dur = 12.0, 6.0
    rho = 0.5  # cost and duration rise together
    features = [
        Moment(0),
        Moment(1),
        Moment(2),
        Moment(0, 2),
        Moment(1, 2),
        Product(0, 1),
        Indicator(2, 0.5, 1.0),
    ]
    moments = [
        mean_cost,
        mean_dur,
        0.35,  # mean share
        sd_cost**2 + mean_cost**2,
        sd_dur**2 + mean_dur**2,
        mean_cost * mean_dur + rho * sd_cost * sd_dur,  # E[cost * duration]
        0.2,  # P(share >= 0.5)
    ]
    model = MaxEntDual(features, bounds=bounds, random_state=0)
    t0 = time.perf_counter()
    model.fit(moments=moments)
    fit_time = time.perf_counter() - t0
    scenarios = model.sample(10_000, random_state=1)
    F = model.transform(scenarios)
    achieved = F.mean(axis=0)
    # Scenarios come round by round over the persistent chains, which are
    # independent: the spread of per-chain means is an honest standard error.
    C = model.n_chains
    rounds = len(F) // C
    chain_means = F[: rounds * C].reshape(rounds, C, -1).mean(axis=0)
    se = chain_means.std(axis=0, ddof=1) / np.sqrt(C)

    print(f"(a) elicitation: 3 variables, 7 targets, fit in {fit_time:.1f} s")
    print(
        f"    converged_={model.converged_} after n_iter_={model.n_iter_}: every "
        f"standardised error within tol={model.tol} of zero up to its Monte "
        "Carlo error"
    )
    out = [
        "cost",
        "duration",
        "share",
        "cost^2",
        "duration^2",
        "cost*duration",
        "P(share>=0.5)",
    ]
    print("    10,000 scenarios drawn; their feature means against the targets:")
    print(f"    {'target':<16}{'asked':>12}{'achieved':>12}{'MC s.e.':>10}{'z':>7}")
    for name, want, got, err in zip(out, moments, achieved, se):
        z = (got - want) / err
        print(f"    {name:<16}{want:12.4g}{got:12.4g}{err:10.2g}{z:7.1f}")
    corr = np.corrcoef(scenarios[:, 0], scenarios[:, 1])[0, 1]
    print(f"    correlation(cost, duration) in the scenarios: {corr:.3f} (asked {rho})")
    return names, bounds, model, scenarios, moments


def density_from_data():
    X = load_wine().data[:, [0, 6, 9]]  # alcohol, flavanoids, colour intensity
    X = StandardScaler().fit_transform(X)
    lo, hi = X.min(axis=0), X.max(axis=0)
    bounds = np.c_[lo - 0.25 * (hi - lo), hi + 0.25 * (hi - lo)]  # physical range
    X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)

    t0 = time.perf_counter()
    maxent = MaxEntDual("quadratic", bounds=bounds, random_state=0).fit(X_train)
    t_maxent = time.perf_counter() - t0
    gmm = GridSearchCV(
        GaussianMixture(random_state=0), {"n_components": [1, 2, 3, 4]}, cv=5
    ).fit(X_train)
    kde = GridSearchCV(
        KernelDensity(), {"bandwidth": np.logspace(-1, 0.3, 12)}, cv=5
    ).fit(X_train)
    print()
    print("(b) density of 3 wine columns (standardised), 124 train / 54 test rows")
    print(f"    {'model':<38}{'held-out mean log-lik':>22}")
    print(f"    {'MaxEntDual(quadratic)':<38}{maxent.score(X_test):22.3f}")
    print(
        f"    {'  log Z +- s.e.':<38}"
        f"{maxent.log_partition_:15.3f} +- {maxent.log_partition_std_:.3f}"
    )
    label = f"GaussianMixture(n={gmm.best_params_['n_components']})"
    print(f"    {label:<38}{gmm.score(X_test):22.3f}")
    label = f"KernelDensity(bw={kde.best_params_['bandwidth']:.2f})"
    print(f"    {label:<38}{kde.best_estimator_.score(X_test) / len(X_test):22.3f}")
    print(f"    (MaxEntDual fit + log Z in {t_maxent:.1f} s)")


def plot(names, bounds, model, scenarios, moments):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, axes = plt.subplots(1, 3, figsize=(11, 3))
    for i, ax in enumerate(axes):
        ax.hist(scenarios[:, i], bins=40, range=bounds[i], density=True, alpha=0.7)
        ax.axvline(moments[i], color="k", ls="--", label="target mean")
        ax.axvline(scenarios[:, i].mean(), color="C3", label="achieved mean")
        ax.set_xlabel(names[i])
    axes[0].legend(fontsize=8)
    fig.suptitle("MaxEntDual: marginals of 10,000 scenarios")
    fig.tight_layout()
    path = Path(__file__).with_name("quickstart_marginals.png")
    fig.savefig(path, dpi=100)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    start = time.perf_counter()
    result = elicitation()
    density_from_data()
    plot(*result)
    print(f"\ntotal {time.perf_counter() - start:.1f} s")
