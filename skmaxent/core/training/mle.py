"""Maximum likelihood for any energy: the persistent-chain gradient and its update.

The negative log-likelihood of data under ``p = exp(-E) / Z`` is
``L(theta) = mean_data E + log Z(theta)``, whose gradient is

    grad L = E_data[grad_theta E] - E_model[grad_theta E]

with the model expectation taken over persistent chains (persistent
contrastive divergence; Tieleman 2008). Both terms are one contraction
``energy.param_dot(theta, geo, U, F, w)``: weights ``+1/B`` on a minibatch of
``B`` data rows and ``-1/C`` on the ``C`` chains. For the linear energy
``grad_theta E = -g`` (standardised features), so the data term is the
constant ``-nu`` (the data's feature means, exactly, with no minibatch) and
``grad L = E_chains[g] - nu``: the max-ent dual's residual, the same optimum
as :class:`~skmaxent.core.training.dual.Dual`.

Two penalties keep a flexible energy in check: ``P(theta)`` (weight decay
``alpha``, roughness) and, after Du & Mordatch (2019), the energy's
magnitude ``reg * (mean_data E^2 + mean_chains E^2)`` (samples held fixed),
whose gradient is again a weight per row: ``2 reg E(u) / rows``. The update is
gradient clipping then Adam (:func:`skmaxent.core.training.smm.optimizer`).

:func:`held_out_loss` is the criterion of early stopping: the generalised
(box-weighted) Hyvärinen score of held-out rows, a proper scoring rule that
needs no ``log Z``.
"""

from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from skmaxent.core import programs
from skmaxent.core.energy import Geometry, Linear, to_user
from skmaxent.core.training import penalties
from skmaxent.core.training.problem import Problem, Stats
from skmaxent.core.training.score_matching import unit_weights
from skmaxent.core.training.smm import optimizer
from skmaxent.core.types import Array

__all__ = ["Data", "MLE", "held_out_loss"]


class Data(NamedTuple):
    """The traced data of a maximum-likelihood fit.

    reg : () the energy-magnitude penalty's weight.
    second : (p, p) ``mean_data g gᵀ`` of the standardised features (the
        linear energy's data term of that penalty); (0, 0) otherwise.
    U : (N, n) training rows in unit coordinates (padded; any other energy);
        (0, n) for the linear energy, whose data term is ``nu``.
    w : (N,) row weights, mean one over the ``n_rows`` real rows (zero on
        the padding).
    n_rows : () int32, the real rows (minibatches are drawn among them).
    key : (2,) uint32 raw key data of the minibatch draws.
    """

    reg: Array
    second: Array
    U: Array
    w: Array
    n_rows: Array
    key: Array


def _split(raw):
    """``(next raw key, a key to use)`` from raw uint32 key data."""
    a, b = jax.random.split(jax.random.wrap_key_data(raw))
    return jax.random.key_data(a), b


@dataclass(frozen=True)
class MLE:
    """The maximum-likelihood objective (static).

    energy : the chains' energy, :class:`~skmaxent.core.energy.Linear` or
        :class:`~skmaxent.core.energy.Flat`.
    features : a :class:`~skmaxent.core.energy.Linear` over the feature map
        whose moment error is reported (the residual).
    batch_size : data rows per iteration (non-linear energies).
    """

    energy: Any
    features: Any
    batch_size: int = 256

    def n_means(self, C: int) -> int:
        return C

    def init(self, theta, problem: Problem):
        adam = optimizer(problem.learning_rate, problem.max_norm).init(theta)
        return adam, problem.own.key

    def _linear(self, theta, G, problem: Problem):
        """``(gradient, energy gap)`` of the linear energy (``E = -theta·g``
        up to a constant): no data rows, the data term is ``-nu``."""
        data, C = problem.own, G.shape[0]
        Ec = -(G @ theta)
        grad = jnp.mean(G, axis=0) - problem.nu
        chain_term = G.T @ (-Ec) / C
        if data.second.shape[0]:  # static: (0, 0) when there is no penalty
            grad += 2 * data.reg * (data.second @ theta + chain_term)
        return grad, -theta @ problem.nu - jnp.mean(Ec)

    def _rows(self, theta, U, key, problem: Problem):
        """``(gradient, energy gap)`` of any energy from a minibatch of rows."""
        data, geo, C = problem.own, problem.geo, U.shape[0]
        B = self.batch_size
        idx = jax.random.randint(key, (B,), 0, data.n_rows)
        Ub, wb = data.U[idx], data.w[idx] / B
        both = jnp.concatenate([Ub, U], axis=0)
        E = jax.vmap(lambda u: self.energy(theta, u, geo))(both)
        Eb, Ec = E[:B], E[B:]
        w = jnp.concatenate([wb, -jnp.full((C,), 1.0 / C, E.dtype)])
        w += 2 * data.reg * E * jnp.concatenate([wb, jnp.full((C,), 1.0 / C)])
        grad = self.energy.param_dot(theta, geo, both, None, w)
        return grad, jnp.sum(wb * Eb) - jnp.mean(Ec)

    def iterate(self, theta, opt_state, U, problem: Problem, learn):
        """Stats at the chains ``U`` (C, n) and, while ``learn``, one Adam step."""
        adam, raw = opt_state
        geo = problem.geo
        G = self.features.features(geo, to_user(geo, U))
        raw_next, key = _split(raw)
        linear = isinstance(self.energy, Linear)  # static
        if linear:
            grad, gap = self._linear(theta, G, problem)
        else:
            grad, gap = self._rows(theta, U, key, problem)
        pen_value, pen_grad = penalties.value_and_grad(problem.penalty, theta)
        del pen_value
        grad = grad + pen_grad
        opt = optimizer(problem.learning_rate, problem.max_norm)
        updates, new_adam = opt.update(grad, adam, theta)
        theta = jnp.where(learn, theta + updates, theta)
        new_state = (new_adam, raw_next)
        opt_state = jax.tree.map(
            lambda new, old: jnp.where(learn, new, old), new_state, opt_state
        )
        # The linear energy reports its penalised gradient (MaxEntDual's
        # residual: standardised feature units); others their moment error.
        delta = grad if linear else jnp.mean(G, axis=0) - problem.nu
        return theta, opt_state, Stats(G, delta, grad, gap)


def _row_score(eg, u, h, dh):
    """Generalised Hyvärinen score of ``log p = -E`` at one row ``u``:
    ``sum_j 1/2 h_j (d_j E)^2 - dh_j d_j E - h_j d_j^2 E``."""
    n = u.shape[0]

    def grad(z):
        return eg(z)[1]

    d = grad(u)
    diag = jax.vmap(lambda e: jax.jvp(grad, (u,), (e,))[1] @ e)(
        jnp.eye(n, dtype=u.dtype)
    )
    return jnp.sum(0.5 * h * d**2 - dh * d - h * diag)


@programs.jit(static_argnames=("energy",))
def held_out_loss(energy, theta: Array, geo: Geometry, U: Array, w: Array) -> Array:
    """Weighted mean generalised score-matching loss of rows ``U`` (N, n).

    ``U`` are in the chains' unit coordinates, where the box weights are ``h_j = u_j (1
    - u_j)`` (:func:`~skmaxent.core.training.score_matching.unit_weights`); the loss is
    the same in user units (``h_j`` scales by the squared width, each derivative by its
    inverse). It is minimised in expectation by the data's own density and does not
    involve ``log Z``: lower is better. ``w`` (N,) are non-negative weights (zero on
    padding rows).
    """
    eg = energy.on_unit(theta, geo)
    h, dh = unit_weights(U, geo.walls)
    scores = jax.vmap(lambda u, a, b: _row_score(eg, u, a, b))(U, h, dh)
    return jnp.sum(w * scores) / jnp.maximum(jnp.sum(w), 1e-30)
