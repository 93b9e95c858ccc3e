"""Persistent chains: init, refresh, step, advance; for training, sampling, AIS.

Chains are a batched :class:`~skmaxent.core.hmc.HMCState` on the unit box.
The per-point kernel of :mod:`skmaxent.core.hmc` is ``vmap``-ped here, once,
and everything that moves chains -- the training loop, ``sample``,
``energy`` and the annealed importance sampler -- goes through these
functions with an energy of :mod:`skmaxent.core.energy`. The jitted entry
points take the energy as a static argument and everything else traced.
"""

import jax
import jax.numpy as jnp

from skmaxent.core import hmc, programs
from skmaxent.core.energy import Geometry, to_unit
from skmaxent.core.types import Array, PRNGKey

__all__ = [
    "init",
    "refresh",
    "step",
    "run",
    "advance",
    "start",
    "sample",
    "settle",
    "energies",
    "finite",
]


def init(positions: Array, energy_and_grad):
    """Batched HMC states at ``positions`` (C, n) of the unit box."""
    return jax.vmap(lambda u: hmc.init(u, energy_and_grad))(positions)


def refresh(chains, energy_and_grad):
    """Chains whose cached energy and gradient are re-evaluated for a new energy.

    After a parameter step the cache belongs to the old parameters, and the
    Metropolis test would compare two different energies: the chains would
    no longer leave the current model invariant.
    """
    return init(chains.position, energy_and_grad)


def step(key: PRNGKey, chains, energy_and_grad, step_size, n_leapfrog, walls=None):
    """One reflective HMC transition of every chain; ``(chains, HMCInfo (C,))``.

    ``walls``: the support's walls (:func:`skmaxent.core.hmc.reflect`), None
    for the box.
    """
    keys = jax.random.split(key, chains.position.shape[0])
    return jax.vmap(
        lambda k, s: hmc.step(k, s, energy_and_grad, step_size, n_leapfrog, walls)
    )(keys, chains)


def run(
    key: PRNGKey,
    chains,
    energy_and_grad,
    step_size,
    n_leapfrog,
    n_steps: int,
    walls=None,
):
    """``n_steps`` transitions keeping only per-step means over chains.

    Returns the final chains and an :class:`~skmaxent.core.hmc.HMCInfo` of
    (n_steps,) arrays: mean acceptance probability, fraction accepted,
    fraction divergent, mean potential energy. Memory is O(n_steps), not
    O(n_steps C n).
    """

    def body(chains, k):
        chains, info = step(k, chains, energy_and_grad, step_size, n_leapfrog, walls)
        dtype = info.energy.dtype
        summary = hmc.HMCInfo(
            acceptance_rate=jnp.mean(info.acceptance_rate),
            is_accepted=jnp.mean(info.is_accepted.astype(dtype)),
            is_divergent=jnp.mean(info.is_divergent.astype(dtype)),
            energy=jnp.mean(info.energy),
        )
        return chains, summary

    return jax.lax.scan(body, chains, jax.random.split(key, n_steps))


def advance(
    key: PRNGKey, chains, energy_and_grad, step_size, n_leapfrog, n_steps, walls=None
):
    """``n_steps`` transitions; the final chains and positions (n_steps, C, n)."""

    def body(chains, k):
        chains, _ = step(k, chains, energy_and_grad, step_size, n_leapfrog, walls)
        return chains, chains.position

    return jax.lax.scan(body, chains, jax.random.split(key, n_steps))


@programs.jit(static_argnames=("energy",))
def start(energy, theta: Array, geo: Geometry, positions: Array):
    """Chains at ``positions`` (C, n) for the energy at ``theta`` (jitted)."""
    return init(positions, energy.on_unit(theta, geo))


@programs.jit(static_argnames=("energy", "n_leapfrog", "n_steps"))
def sample(key, energy, theta, geo, positions, step_size, n_leapfrog, n_steps):
    """Positions (n_steps, C, n) of chains started at ``positions`` (jitted)."""
    eg = energy.on_unit(theta, geo)
    chains = init(positions, eg)
    _, out = advance(key, chains, eg, step_size, n_leapfrog, n_steps, geo.walls)
    return out


@programs.jit(static_argnames=("energy", "n_leapfrog", "n_steps"))
def settle(key, energy, theta, geo, positions, step_size, n_leapfrog, n_steps):
    """Chains started at ``positions`` (C, n) after ``n_steps`` transitions at
    ``theta`` (jitted): the chains of the model a fit returns, where that is
    not the last iterate their training followed."""
    eg = energy.on_unit(theta, geo)
    chains = init(positions, eg)
    return run(key, chains, eg, step_size, n_leapfrog, n_steps, geo.walls)[0]


@programs.jit(static_argnames=("energy",))
def energies(energy, theta: Array, geo: Geometry, X: Array) -> Array:
    """Energies (N,) at the rows of ``X`` (N, n) in user units (jitted)."""
    eg = energy.on_unit(theta, geo)
    return jax.vmap(lambda x: eg(to_unit(geo, x))[0])(X)


def finite(chains) -> Array:
    """Whether every chain position is finite."""
    return jnp.all(jnp.isfinite(chains.position))
