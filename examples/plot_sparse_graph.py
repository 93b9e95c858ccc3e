"""
A sparse graph with many variables
==================================

Features are a graph: ``Product(i, j)`` only for the edges of a lattice, and
``Moment(i)``, ``Moment(i, 2)`` for every node, give the maximum-entropy
distribution that is a Gaussian Markov random field on that lattice (up to
the box's truncation). With data from such a field, the fitted coefficients
of the products recover the precision matrix's edges: ``coef_`` of
``Product(i, j)`` estimates ``-P_ij`` and that of ``Moment(i, 2)`` estimates
``-P_ii / 2``. Here on lattices of up to 64 variables, with the fit time.
"""

# %%
# Lattice data and graph features
# -------------------------------
import time

import matplotlib.pyplot as plt
import numpy as np

from skmaxent import MaxEntDual
from skmaxent.features import Moment, Product


def lattice(side):
    """Edges of a side x side grid, and a diagonally dominant precision on it."""
    d = side * side
    edges = [
        (r * side + c, r * side + c + 1) for r in range(side) for c in range(side - 1)
    ]
    edges += [
        (r * side + c, (r + 1) * side + c) for r in range(side - 1) for c in range(side)
    ]
    P = np.eye(d)
    for k, (i, j) in enumerate(edges):
        P[i, j] = P[j, i] = -0.2 if k % 2 else 0.15
    return edges, P


def fit(side, n=4000, seed=0):
    edges, P = lattice(side)
    d = side * side
    rng = np.random.RandomState(seed)
    X = rng.multivariate_normal(np.zeros(d), np.linalg.inv(P), size=n)
    features = [Moment(i) for i in range(d)] + [Moment(i, 2) for i in range(d)]
    features += [Product(i, j) for i, j in edges]
    bounds = np.tile([-8.0, 8.0], (d, 1))  # wide: the truncation is negligible
    model = MaxEntDual(features, bounds=bounds, n_chains=256, random_state=seed)
    t0 = time.perf_counter()
    model.fit(X)
    seconds = time.perf_counter() - t0
    true = np.r_[np.zeros(d), -np.diag(P) / 2, [-P[i, j] for i, j in edges]]
    return model, edges, true, seconds


sizes = {}
for side in (4, 6, 8):
    model, edges, true, seconds = fit(side)
    sizes[side] = model, edges, true, seconds
    err = np.max(np.abs(model.coef_ - true))
    print(
        f"{side * side:3d} variables, {model.coef_.size:3d} features: fit in "
        f"{seconds:4.1f} s (init_={model.init_}, n_iter_={model.n_iter_}), "
        f"max |coef_ - truth| = {err:.3f}"
    )

# %%
# The recovered lattice
# ---------------------
# Left: the 8 x 8 lattice, each edge coloured by its fitted coefficient
# (the true ones alternate between -0.15 and +0.2). Middle: fitted against
# true coefficients for all three lattices. Right: the fit time (first fit
# of each size, compilation included) against the number of variables.
model, edges, true, _ = sizes[8]
d = 64
coef_edges = model.coef_[2 * d :]
fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
ax = axes[0]
cmap = plt.get_cmap("coolwarm")
for (i, j), c in zip(edges, coef_edges):
    (ri, ci), (rj, cj) = divmod(i, 8), divmod(j, 8)
    ax.plot([ci, cj], [ri, rj], color=cmap((c + 0.3) / 0.6), lw=4)
ax.scatter(*np.divmod(np.arange(d), 8)[::-1], color="k", s=12, zorder=3)
ax.set_aspect("equal")
ax.axis("off")
ax.set_title("8 x 8 lattice: fitted edge coefficients")
fig.colorbar(
    plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(-0.3, 0.3)), ax=ax, shrink=0.8
)
for side, (m, _, t, _) in sizes.items():
    axes[1].scatter(t, m.coef_, s=8, label=f"{side * side} variables")
axes[1].plot([-0.6, 0.3], [-0.6, 0.3], "k--", lw=1)
axes[1].set_xlabel("true coefficient")
axes[1].set_ylabel("fitted coef_")
axes[1].legend()
n_vars = [s * s for s in sizes]
axes[2].plot(n_vars, [v[3] for v in sizes.values()], "o-")
axes[2].set_ylim(0, None)
axes[2].set_xlabel("variables")
axes[2].set_ylabel("fit time (s), compilation included")
fig.tight_layout()
plt.show()
