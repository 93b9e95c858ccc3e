"""Persistent chains moved by any kernel: for training, sampling, settling, AIS.

Everything that moves chains goes through a kernel value of
:mod:`skmaxent.core.sampling.kernel` (reflective HMC, or a composition around it),
passed as an argument: :func:`run` and :func:`advance` scan its steps;
:func:`sample` and :func:`settle` are the jitted entry points for a fitted
energy of :mod:`skmaxent.core.energy` (the energy and the kernel static,
everything else traced).
"""

import jax
import jax.numpy as jnp

from skmaxent.core import programs
from skmaxent.core.energy import Geometry, to_unit
from skmaxent.core.sampling.kernel import Target
from skmaxent.core.types import Array, PRNGKey

__all__ = ["target", "run", "advance", "sample", "settle", "energies", "finite"]


def target(energy, theta: Array, geo: Geometry) -> Target:
    """The :class:`~skmaxent.core.sampling.kernel.Target` of ``energy`` at ``theta``."""
    return Target(energy.on_unit(theta, geo), geo.walls, theta, geo)


def run(kernel, key: PRNGKey, state, target: Target, params, n_steps: int):
    """``n_steps`` transitions keeping only per-step means over chains.

    Returns the final state and the kernel's info with each field averaged
    over chains, (n_steps,) arrays (booleans as fractions). Memory is
    O(n_steps), not O(n_steps C n).
    """

    def body(state, k):
        state, info = kernel.step(k, state, target, params)
        dtype = state.position.dtype

        def mean(a):
            return jnp.mean(a.astype(dtype) if a.dtype == bool else a)

        return state, jax.tree.map(mean, info)

    return jax.lax.scan(body, state, jax.random.split(key, n_steps))


def advance(kernel, key: PRNGKey, state, target: Target, params, n_steps: int):
    """``n_steps`` transitions; the final state and positions (n_steps, C, n)."""

    def body(state, k):
        state, _ = kernel.step(k, state, target, params)
        return state, state.position

    return jax.lax.scan(body, state, jax.random.split(key, n_steps))


@programs.jit(static_argnames=("energy", "kernel", "n_steps"))
def sample(key, energy, theta, geo, positions, kernel, params, n_steps):
    """Positions (n_steps, C, n) of chains started at ``positions`` (jitted)."""
    goal = target(energy, theta, geo)
    state = kernel.init(positions, goal)
    return advance(kernel, key, state, goal, params, n_steps)[1]


@programs.jit(static_argnames=("energy", "kernel", "n_steps"))
def settle(key, energy, theta, geo, positions, kernel, params, n_steps):
    """Chains started at ``positions`` (C, n) after ``n_steps`` transitions at
    ``theta`` (jitted): the chains of the model a fit returns, where that is
    not the last iterate their training followed."""
    goal = target(energy, theta, geo)
    state = kernel.init(positions, goal)
    return run(kernel, key, state, goal, params, n_steps)[0]


@programs.jit(static_argnames=("energy",))
def energies(energy, theta: Array, geo: Geometry, X: Array) -> Array:
    """Energies (N,) at the rows of ``X`` (N, n) in user units (jitted)."""
    eg = energy.on_unit(theta, geo)
    return jax.vmap(lambda x: eg(to_unit(geo, x))[0])(X)


def finite(chains) -> Array:
    """Whether every chain position is finite."""
    return jnp.all(jnp.isfinite(chains.position))
