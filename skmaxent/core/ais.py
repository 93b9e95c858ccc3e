"""Log-partition by annealed importance sampling (Neal 2001).

The path is geometric, from the uniform distribution on the unit box
(``pi_0 = 1``, ``log Z_0 = 0``) to the model: ``pi_beta(u) ∝ exp(-beta E(u))``
with ``beta_t = (t / T) ** power``, ``t = 0 .. T``. Each particle starts from
an exact uniform draw; at temperature ``t`` it gains the log-weight
``-(beta_t - beta_{t-1}) E(u)`` and then moves by one reflective HMC transition
that leaves ``pi_{beta_t}`` invariant. The mean weight is an unbiased
estimate of ``Z = ∫_[0,1]^n exp(-E(u)) du`` whatever the mixing; the log of it
is biased low by about ``Var(log Z_hat) / 2`` (Jensen).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from skmaxent.core import chains, hmc, programs
from skmaxent.core.hmc import EnergyAndGrad
from skmaxent.core.types import Array, ArrayLike, PRNGKey

__all__ = ["AISInfo", "log_partition", "model_log_partition", "summarize"]


class AISInfo(NamedTuple):
    """Result of :func:`log_partition`.

    log_z : () estimate of ``log ∫_[0,1]^n exp(-E(u)) du``.
    log_z_std : () its standard error by the delta method,
        ``std(w) / (sqrt(N) mean(w))``.
    ess : () effective sample size of the weights, ``(Σw)² / Σw²``, in
        ``[1, N]``; small values mean the standard error is not to be trusted.
    """

    log_z: Array
    log_z_std: Array
    ess: Array


def summarize(log_weights: Array) -> AISInfo:
    """Estimate, delta-method standard error and ESS from log-weights (N,).

    Weights are shifted by their maximum before exponentiating, which
    cancels in every ratio below.
    """
    n = log_weights.shape[0]
    log_n = jnp.log(jnp.asarray(n, log_weights.dtype))
    log_z = logsumexp(log_weights) - log_n
    w = jnp.exp(log_weights - jnp.max(log_weights))
    log_z_std = jnp.std(w) / (jnp.sqrt(jnp.asarray(n, w.dtype)) * jnp.mean(w))
    ess = jnp.exp(2.0 * logsumexp(log_weights) - logsumexp(2.0 * log_weights))
    return AISInfo(log_z=log_z, log_z_std=log_z_std, ess=ess)


def log_partition(
    key: PRNGKey,
    energy_and_grad: EnergyAndGrad,
    n_dim: int,
    n_particles: int,
    n_temperatures: int,
    step_size: ArrayLike,
    n_leapfrog: ArrayLike,
    power: float = 2.0,
) -> AISInfo:
    """Annealed importance sampling estimate of the log-partition on the unit box.

    Parameters
    ----------
    key : PRNG key.
    energy_and_grad : per-point ``u -> (E, dE/du)`` on the unit box.
    n_dim, n_particles, n_temperatures : static sizes (``T = n_temperatures``).
    step_size, n_leapfrog : of the HMC transitions (may be traced). The step
        size is used at every temperature; a step size tuned for the model
        (``beta = 1``) is a safe choice, as hotter targets are flatter.
    power : schedule exponent, ``beta_t = (t / T) ** power``; ``power > 1``
        spends more temperatures near the uniform end, where the weights
        change fastest for most energies.

    Returns
    -------
    :class:`AISInfo` with the estimate, its standard error and the ESS.

    Notes
    -----
    Only ``T - 1`` transitions are made (at ``beta_1 .. beta_{T-1}``): the
    start is an exact uniform draw and a move at ``beta_T`` would not change
    the weights. The state caches the untempered ``E`` and gradient, so each
    transition costs ``n_leapfrog`` evaluations and the weights none.
    """
    k_init, k_steps = jax.random.split(key)
    positions = jax.random.uniform(k_init, (n_particles, n_dim))
    states = chains.init(positions, energy_and_grad)
    betas = jnp.arange(n_temperatures + 1, dtype=positions.dtype) / n_temperatures
    betas = betas**power

    def transition(k, states, beta):
        # HMC on exp(-beta E): temper the cached untempered energy and back.
        def tempered(u):
            e, g = energy_and_grad(u)
            return beta * e, beta * g

        hot = hmc.HMCState(
            states.position, beta * states.energy, beta * states.energy_grad
        )
        hot, _ = chains.step(k, hot, tempered, step_size, n_leapfrog)
        # beta_t > 0 for t >= 1; the division is exact up to rounding.
        return hmc.HMCState(hot.position, hot.energy / beta, hot.energy_grad / beta)

    def body(carry, xs):
        states, log_w = carry
        k, beta_prev, beta = xs
        log_w = log_w - (beta - beta_prev) * states.energy
        return (transition(k, states, beta), log_w), None

    log_w = jnp.zeros((n_particles,), positions.dtype)
    xs = (
        jax.random.split(k_steps, n_temperatures - 1),
        betas[:-2],
        betas[1:-1],
    )
    (states, log_w), _ = jax.lax.scan(body, (states, log_w), xs)
    log_w = log_w - (betas[-1] - betas[-2]) * states.energy
    return summarize(log_w)


@programs.jit(
    static_argnames=("energy", "n_particles", "n_temperatures", "n_leapfrog"),
)
def model_log_partition(
    key, energy, theta, geo, step_size, n_particles, n_temperatures, n_leapfrog
) -> AISInfo:
    """:func:`log_partition` of an energy of :mod:`skmaxent.core.energy` at
    ``theta`` (jitted; the energy static, everything else traced)."""
    return log_partition(
        key,
        energy.on_unit(theta, geo),
        n_dim=geo.low.shape[0],
        n_particles=n_particles,
        n_temperatures=n_temperatures,
        step_size=step_size,
        n_leapfrog=n_leapfrog,
    )
