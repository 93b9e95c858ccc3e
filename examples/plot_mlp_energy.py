"""
MomentMatchingEBM with a neural (MLP) energy
============================================

:class:`~skmaxent.MomentMatchingEBM` matches feature expectations with any
differentiable energy. With a linear energy it is the maximum-entropy model
of the features; with an :class:`~skmaxent.energies.MLP` energy it matches the
same expectations with a density of a different shape, chosen by the network
and its training rather than by maximum entropy. Here both are fitted to a
two-humped data set on the box ``[0, 1]^2``, matching the means, the second
moments and the product moment (the ``"quadratic"`` preset).
"""

# %%
# Data and features
# -----------------
import matplotlib.pyplot as plt
import numpy as np

from skmaxent import MomentMatchingEBM
from skmaxent.energies import MLP
from skmaxent.plotting import plot_convergence

rng = np.random.RandomState(0)
centres = np.array([[0.3, 0.3], [0.7, 0.65]])
X = centres[rng.randint(2, size=600)] + 0.08 * rng.randn(600, 2)
X = X[np.all((X > 0) & (X < 1), axis=1)]
bounds = [[0.0, 1.0], [0.0, 1.0]]
features = "quadratic"

common = dict(bounds=bounds, n_chains=256, max_iter=2000, random_state=0)
linear = MomentMatchingEBM(features, energy_model="linear", **common).fit(X)
mlp = MomentMatchingEBM(features, energy_model=MLP(hidden=(32, 32)), **common).fit(X)
for name, model in (("linear", linear), ("MLP", mlp)):
    print(f"{name:>6}: n_iter_={model.n_iter_}, converged_={model.converged_}")

# %%
# The two densities
# -----------------
# Left: the data. Middle and right: the unnormalised densities
# ``exp(-energy(x))`` of the two fits on the box. Both match the same five
# expectations. The linear energy is the largest-entropy density that does:
# a Gaussian truncated to the box, with one hump. The network's density
# matches the same moments with a shape of its own: no longer the least
# committal one, and not a maximum-likelihood fit either, since only the
# five moments of the data enter the loss.
g = np.linspace(0.0, 1.0, 60)
g0, g1 = np.meshgrid(g, g)
grid = np.c_[g0.ravel(), g1.ravel()]
fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
axes[0].scatter(*X.T, s=4, alpha=0.5)
axes[0].set_title("data")
for ax, (name, model) in zip(
    axes[1:], (("linear energy", linear), ("MLP energy", mlp))
):
    energy = model.energy(grid)
    ax.contourf(g0, g1, np.exp(-(energy - energy.min())).reshape(g0.shape), levels=14)
    ax.set_title(name)
for ax in axes:
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
fig.tight_layout()

# %%
# Training traces
# ---------------
# ``history_`` records, per iteration, the standardised moment error and the
# moment-matching loss ``J = 1/2 |E[f] - mu|^2`` of the MLP fit.
plot_convergence(mlp, keys=["moment_error", "smm_loss"])
plt.show()
