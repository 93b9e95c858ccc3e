"""Moment matching for any energy: the split-half covariance gradient and its update.

``J = 1/2 |E[g] - nu|^2 + P(theta) + priors`` in standardised features
``g``. With ``r = dJ/dE[F]`` (the moment residual, and the priors' gradient
in their bin probabilities), ``grad J = -Cov[F, grad_theta E]ᵀ r``: a weight
per chain times that chain's energy gradient (``energy.param_dot``), never a
covariance matrix. The weights come from two halves of the chains (the
covariance from one, the residual from the other), which removes the
``O(1/C)`` bias of estimating both from the same chains. The update is an
optax transform fixed at compile time: gradient clipping, then Adam.
"""

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import optax

from skmaxent.core.energy import to_user
from skmaxent.core.training import penalties
from skmaxent.core.training.cross_fit import cross_fit_weights
from skmaxent.core.training.marginal_priors import bin_indicators, prior_penalty
from skmaxent.core.training.problem import Problem, Stats

__all__ = ["SMM", "optimizer"]


def optimizer(learning_rate, max_norm) -> optax.GradientTransformation:
    """Clipping by global norm, then Adam (traced settings are fine)."""
    return optax.chain(optax.clip_by_global_norm(max_norm), optax.adam(learning_rate))


@dataclass(frozen=True)
class SMM:
    """The moment-matching objective: the chains sample ``energy``; the
    moments are those of ``features`` (a :class:`~skmaxent.core.energy.Linear`
    over the feature map, taken at the problem's shift and standardisation)."""

    energy: Any
    features: Any

    def n_means(self, C: int) -> int:
        return C

    def init(self, theta, problem: Problem):
        return optimizer(problem.learning_rate, problem.max_norm).init(theta)

    def iterate(self, theta, opt_state, U, problem: Problem, learn):
        """Stats at the chains ``U`` (C, n) and, while ``learn``, one Adam step."""
        geo = problem.geo
        x = to_user(geo, U)
        G = self.features.features(geo, x)
        Ind = bin_indicators(x, problem.bins)
        p = G.shape[1]

        def residual(m):
            _, prior_grad = prior_penalty(m[p:], problem.bins)
            return jnp.concatenate([m[:p] - problem.nu, prior_grad])

        w, _, _ = cross_fit_weights(jnp.concatenate([G, Ind], axis=1), residual)
        pen_value, pen_grad = penalties.value_and_grad(problem.penalty, theta)
        grad = self.energy.param_dot(theta, geo, U, G, w) + pen_grad

        delta = jnp.mean(G, axis=0) - problem.nu
        prior_value, _ = prior_penalty(jnp.mean(Ind, axis=0), problem.bins)
        loss = 0.5 * delta @ delta + prior_value + pen_value

        opt = optimizer(problem.learning_rate, problem.max_norm)
        updates, new_state = opt.update(grad, opt_state, theta)
        theta = jnp.where(learn, theta + updates, theta)
        opt_state = jax.tree.map(
            lambda new, old: jnp.where(learn, new, old), new_state, opt_state
        )
        return theta, opt_state, Stats(G, delta, grad, loss)
