"""
Convergence diagnostics from ``history_``
=========================================

Every chain estimator records, per iteration, the standardised moment error
of its chains, the HMC acceptance rate and step size, and the phase of the
fit: ``"verify"`` (parameters fixed at a score-matching or Gaussian start,
checking that it already matches the targets), ``"learn"`` (parameter
steps) and ``"average"`` (the Polyak-Ruppert averaging window after the
convergence rule held). :func:`skmaxent.plotting.plot_convergence` draws them.
"""

# %%
# Three fits of the same problem
# ------------------------------
# A 3-variable quadratic model: from data with the default ``init="auto"``
# (a score-matching start, verified), from the same data with
# ``init="zero"`` (learning from the uniform distribution), and a fit cut
# short by ``max_iter``, which warns.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skmaxent import MaxEntDual
from skmaxent.plotting import plot_convergence

rng = np.random.RandomState(0)
cov = [[1.0, 0.6, 0.2], [0.6, 1.0, 0.4], [0.2, 0.4, 1.0]]
X = rng.multivariate_normal([0.0, 0.5, -0.5], cov, size=2000)
bounds = np.tile([-5.0, 5.0], (3, 1))
common = dict(bounds=bounds, n_chains=256, random_state=0)

auto = MaxEntDual("quadratic", **common).fit(X)
zero = MaxEntDual("quadratic", init="zero", **common).fit(X)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", ConvergenceWarning)
    short = MaxEntDual("quadratic", init="zero", max_iter=100, **common).fit(X)
for name, m in (("auto", auto), ("zero", zero), ("max_iter=100", short)):
    phases = {
        p: int(np.sum(m.history_["phase"] == p)) for p in ("verify", "learn", "average")
    }
    print(
        f"{name:>13}: init_={m.init_}, converged_={m.converged_}, "
        f"n_iter_={m.n_iter_}, iterations per phase {phases}"
    )
print("warning:", caught[0].message if caught else None)

# %%
# The verified start
# ------------------
# With ``init="auto"`` the chains run at the score-matching solution for one
# window of 50 iterations; the moment error is already at its Monte Carlo
# floor, the convergence rule holds and no parameter step is taken (all
# iterations are ``"verify"``).
plot_convergence(auto, keys=["moment_error", "acceptance"])
plt.gcf().suptitle('init="auto": a verified score-matching start')
plt.tight_layout()

# %%
# Learning from zero
# ------------------
# From the uniform distribution the moment error falls over a few hundred
# natural-gradient steps, while the step size adapts towards a median
# acceptance of 0.8 (it is fixed once the rule holds); then 200 iterations
# are averaged. The shaded bands are the phases.
# The moment error never reaches ``tol`` itself: each iteration's error is
# that of 256 chains, and the rule compares a window's mean with its Monte
# Carlo standard error.
plot_convergence(zero)
plt.gcf().suptitle('init="zero": learning, then averaging')
plt.tight_layout()

# %%
# A fit that stopped early
# ------------------------
# With ``max_iter=100`` the error is still falling when the fit stops;
# ``converged_`` is False and a ``ConvergenceWarning`` says what to change.
plot_convergence(short, keys=["moment_error"])
plt.gcf().suptitle("max_iter=100: not converged")
plt.tight_layout()
plt.show()
