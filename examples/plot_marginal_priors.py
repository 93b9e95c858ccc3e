"""
Marginal priors: moments and a prior histogram in one fit
=========================================================

An expert gives the mean and second moment of a quantity on ``[0, 1]``, and
separately a histogram they believe in (probabilities of the four quarters).
A :class:`~skmaxent.MarginalPrior` adds ``strength * KL(probs || p_hat)`` to
the fit, ``p_hat`` the model's bin probabilities, so ``strength`` trades the
moments against the histogram: 0 ignores the histogram, a large strength
honours it at the expense of the moments.
"""

# %%
# Four fits, one per strength
# ---------------------------
import matplotlib.pyplot as plt
import numpy as np

from skmaxent import MarginalPrior, MaxEntDual
from skmaxent.features import Moment

edges = [0.0, 0.25, 0.5, 0.75, 1.0]
probs = [0.1, 0.2, 0.3, 0.4]
strengths = [0.0, 1.0, 10.0, 100.0]
x = np.linspace(0.0, 1.0, 401)[:, None]
fits = {}
for strength in strengths:
    prior = MarginalPrior(0, edges=edges, probs=probs, strength=strength)
    model = MaxEntDual(
        [Moment(0), Moment(0, 2)],
        bounds=[[0.0, 1.0]],
        marginal_priors=[prior],
        n_chains=256,
        random_state=0,
    ).fit(moments=[0.3, 0.13])
    density = np.exp(model.score_samples(x))
    # the model's bin probabilities and mean, from 8,000 of its samples
    samples = model.sample(8000, random_state=1)[:, 0]
    p_hat = np.histogram(samples, bins=edges)[0] / len(samples)
    fits[strength] = density, p_hat
    kl = np.sum(np.array(probs) * np.log(np.array(probs) / p_hat))
    print(
        f"strength {strength:5g}: bins {np.round(p_hat, 3)}, KL {kl:.3f}, "
        f"E[x] {samples.mean():.3f}, n_iter_ {model.n_iter_}"
    )

# %%
# The fitted densities
# --------------------
# Left: the fitted density for each strength (its ``score_samples``,
# normalised by the AIS estimate of ``log Z``), with the prior histogram in
# grey. Right: the model's bin probabilities against the prior's. At
# strength 0 the density is the maximum-entropy one for the two moments
# (mean 0.3: most mass on the left); as the strength grows it tilts towards
# the prior's rising histogram, and the mean moves away from 0.3.
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
left.bar(
    edges[:-1],
    np.array(probs) * 4,
    width=0.25,
    align="edge",
    color="0.85",
    label="prior histogram",
)
for k, (strength, (density, _)) in enumerate(fits.items()):
    left.plot(x[:, 0], density, color=f"C{k}", label=f"strength={strength:g}")
left.set_xlabel("x")
left.set_ylabel("density")
left.legend(fontsize="small")
width = 0.18
for k, (strength, (_, p_hat)) in enumerate(fits.items()):
    right.bar(
        np.arange(4) + (k - 1.5) * width,
        p_hat,
        width=width,
        color=f"C{k}",
        label=f"strength={strength:g}",
    )
right.plot(np.arange(4), probs, "k_", ms=30, mew=2, label="prior probs")
right.set_xticks(range(4), ["[0, .25)", "[.25, .5)", "[.5, .75)", "[.75, 1]"])
right.set_ylabel("bin probability")
right.legend(fontsize="small")
fig.tight_layout()
plt.show()
