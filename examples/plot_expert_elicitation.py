"""
Expert elicitation: a joint distribution from a handful of numbers
==================================================================

An expert gives the means of three quantities with physical ranges (a cost
in k€, a duration in months, a market share), the spread of the first two,
how cost and duration move together, and one probability. The
maximum-entropy distribution is the least-committal joint distribution that
honours exactly those numbers on the box of physical ranges; we draw
scenarios from it and check them against the targets.
"""

# %%
# The targets
# -----------
# A correlation ``rho`` between cost and duration is the product moment
# ``E[cost * duration] = m_c m_d + rho sd_c sd_d``; the spreads enter as second
# moments. The box matters here: it is the physical range of each quantity,
# so it is passed explicitly.
import matplotlib.pyplot as plt
import numpy as np

from skmaxent import MaxEntDual
from skmaxent.features import Indicator, Moment, Product
from skmaxent.plotting import plot_marginals, plot_pairs

names = ["cost", "duration", "share"]
bounds = np.array([[0.0, 500.0], [1.0, 36.0], [0.0, 1.0]])
mean_cost, sd_cost, mean_dur, sd_dur, rho = 150.0, 80.0, 12.0, 6.0, 0.5
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
    0.35,
    sd_cost**2 + mean_cost**2,
    sd_dur**2 + mean_dur**2,
    mean_cost * mean_dur + rho * sd_cost * sd_dur,
    0.2,  # P(share >= 0.5)
]

model = MaxEntDual(features, bounds=bounds, n_chains=256, random_state=0)
model.fit(moments=moments)
print(f"converged_={model.converged_} after n_iter_={model.n_iter_}")

# %%
# Scenarios against the targets
# -----------------------------
# ``transform`` gives the feature values of the scenarios, so their means can
# be read against the targets directly.
scenarios = model.sample(5_000, random_state=1)
achieved = model.transform(scenarios).mean(axis=0)
for name, want, got in zip(model.get_feature_names_out(), moments, achieved):
    print(f"{name:>14}  asked {want:10.4g}  achieved {got:10.4g}")
corr = np.corrcoef(scenarios[:, 0], scenarios[:, 1])[0, 1]
print(f"correlation(cost, duration) = {corr:.3f} (asked {rho})")

# %%
# The marginals: each histogram is one quantity's distribution over the
# scenarios, the dashed line the expert's mean and the red line the
# scenarios' mean. The share's density drops at 0.5, where the indicator
# constraint ``P(share >= 0.5) = 0.2`` acts.
axes = plot_marginals(scenarios, bounds=bounds, targets=moments[:3], names=names)
axes[0].figure.suptitle("Marginals of 5,000 scenarios against the elicited means")
axes[0].figure.tight_layout()

# %%
# The pairwise scatter: cost and duration rise together (the product
# moment), and the share is independent of both, since no target links it
# to them; the maximum-entropy distribution adds no dependence it was not
# asked for.
grid = plot_pairs(scenarios, bounds=bounds, names=names, max_points=1500)
grid[0, 0].figure.suptitle("Pairs of scenarios")
plt.show()
