"""
Sparse precision: score matching against GraphicalLasso
=======================================================

Zeros of a Gaussian's precision matrix are conditional independences, so a
sparse precision is an estimated graph. :class:`~skmaxent.ScoreMatchingGaussian`
with ``alpha > 0`` fits it by L1-penalised score matching, a lasso (quadratic
loss); :class:`~sklearn.covariance.GraphicalLasso` penalises the
log-likelihood instead. Both are run along a path of ``alpha`` on data from
a chain graph of 20 variables.
"""

# %%
# Data from a chain graph
# -----------------------
# ``x_i`` depends on its two neighbours only: the true precision is
# tridiagonal.
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.covariance import GraphicalLasso
from sklearn.exceptions import ConvergenceWarning

from skmaxent import ScoreMatchingGaussian

d, n = 20, 400
P = np.eye(d) + np.diag(np.full(d - 1, -0.4), 1) + np.diag(np.full(d - 1, -0.4), -1)
rng = np.random.RandomState(0)
X = rng.multivariate_normal(np.zeros(d), np.linalg.inv(P), size=n)
X = (X - X.mean(axis=0)) / X.std(axis=0)
S = np.cov(X.T, bias=True)
truth = (np.abs(P) > 0) & ~np.eye(d, dtype=bool)


def f1(precision):
    """Support F1 of the estimated edges against the chain's."""
    found = (np.abs(precision) > 1e-8) & ~np.eye(d, dtype=bool)
    tp = np.sum(found & truth)
    return 2 * tp / (found.sum() + truth.sum())


# %%
# A path of ``alpha``
# -------------------
# ``alpha_max`` is the smallest penalty that gives the empty graph (for score
# matching; GraphicalLasso's is ``max |S_ij|``, the same for standardised
# columns). Both estimators are fitted at the same fractions of it.
alpha_max = np.max(np.abs(S - np.diag(np.diag(S))))
fractions = np.geomspace(0.02, 0.9, 10)
scores = {"ScoreMatchingGaussian": [], "GraphicalLasso": []}
seconds = {"ScoreMatchingGaussian": 0.0, "GraphicalLasso": 0.0}
for frac in fractions:
    for name, make in (
        ("ScoreMatchingGaussian", lambda a: ScoreMatchingGaussian(alpha=a)),
        ("GraphicalLasso", lambda a: GraphicalLasso(alpha=a, max_iter=200)),
    ):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = make(frac * alpha_max).fit(X)
        seconds[name] += time.perf_counter() - t0
        scores[name].append(f1(model.precision_))
for name in scores:
    print(f"{name:<22} best F1 {max(scores[name]):.3f}, path in {seconds[name]:.2f} s")

# %%
# The graphs at one penalty, and the path
# ---------------------------------------
# Left to right: the true precision, the two estimates at ``0.4 alpha_max``
# (a colour per value, white for exact zeros), and the support F1 of both
# along the path (1 is the exact graph).
alpha = 0.4 * alpha_max
sm = ScoreMatchingGaussian(alpha=alpha).fit(X).precision_
gl = GraphicalLasso(alpha=alpha).fit(X).precision_
fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
for ax, (title, M) in zip(
    axes, (("truth", P), ("ScoreMatchingGaussian", sm), ("GraphicalLasso", gl))
):
    shown = np.ma.masked_where(np.abs(M) < 1e-8, M)
    ax.imshow(shown, cmap="RdBu_r", vmin=-1.5, vmax=1.5)
    ax.set_title(f"{title}\n{int(np.sum(np.abs(M) > 1e-8) - d) // 2} edges")
    ax.set_xticks([])
    ax.set_yticks([])
for name, marker in (("ScoreMatchingGaussian", "o"), ("GraphicalLasso", "s")):
    axes[3].semilogx(fractions, scores[name], marker=marker, label=name)
axes[3].set_xlabel("alpha / alpha_max")
axes[3].set_ylabel("support F1")
axes[3].legend()
fig.tight_layout()
plt.show()
