"""Reflective Hamiltonian Monte Carlo on the unit box ``[0, 1]^n`` and its relatives.

The target is ``p(u) ∝ exp(-E(u))`` on the support: by default the box; with
``walls`` (n,) per axis, ``3`` (walls at 0 and 1), ``1`` (a wall at 0 only:
``[0, inf)``), ``2`` (at 1 only: ``(-inf, 1]``) or ``0`` (the whole line), so
that half-bounded and unbounded variables share the kernel. The kernel is
blackjax-shaped and works on ONE chain: ``init(position, energy_and_grad) ->
HMCState`` and ``step(key, state, energy_and_grad, step_size, n_leapfrog) -> (HMCState,
HMCInfo)``. :class:`ReflectiveHMC` is the kernel value over a batch of
chains (:mod:`skmaxent.core.sampling.kernel`): the per-chain kernel ``vmap``-ped,
``n_leapfrog`` static and the step size in its traced :class:`HMCParams`,
tracked towards a target acceptance by :meth:`ReflectiveHMC.adapt`.

The leapfrog integrator reflects at the walls: a coordinate that crosses a
wall during a drift is folded back and its momentum flipped (see
:func:`reflect`). The drift with reflections is the exact flow of a free
particle bouncing elastically in the box, so the whole leapfrog map stays
volume-preserving and reversible, and the Metropolis correction on
``H = E + |p|²/2`` is exact. A discontinuous energy (indicator features, whose
gradient is zero almost everywhere) is still sampled correctly: the
integrator is blind to the jump, but the Metropolis step sees it.

``energy_and_grad(u) -> (E, dE/du)`` is evaluated for one point. Pass an
analytic gradient when there is one, else ``jax.value_and_grad(E)``. The state
caches ``E`` and its gradient, so a transition costs exactly ``n_leapfrog``
evaluations.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp

from skmaxent.core.sampling import adaptation
from skmaxent.core.types import Array, ArrayLike, PRNGKey

EnergyAndGrad = Callable[[Array], tuple[Array, Array]]

#: A proposal whose total energy rises by more than this is called divergent.
DIVERGENCE_THRESHOLD = 1000.0

__all__ = [
    "HMCState",
    "HMCInfo",
    "HMCParams",
    "ReflectiveHMC",
    "init",
    "step",
    "leapfrog",
    "reflect",
    "BOX",
]

#: ``walls`` code of an axis bounded on both sides (bit 1: a wall at 0; bit 2:
#: a wall at 1).
BOX = 3


class HMCState(NamedTuple):
    """State of one chain.

    position : (n,) point of the unit box.
    energy : () ``E(position)``, cached for the Metropolis test.
    energy_grad : (n,) ``dE/du`` at ``position``, cached so that the first
        half-kick of the next trajectory needs no extra gradient evaluation.
    """

    position: Array
    energy: Array
    energy_grad: Array


class HMCInfo(NamedTuple):
    """Diagnostics of one transition.

    acceptance_rate : () Metropolis probability ``min(1, exp(-ΔH))``; 0 when
        divergent. This is what step-size adaptation averages.
    is_accepted : () whether the proposal was accepted.
    is_divergent : () whether ``ΔH > 1000`` or the proposal is not finite (such
        proposals are always rejected).
    energy : () potential energy ``E`` at the returned position.
    """

    acceptance_rate: Array
    is_accepted: Array
    is_divergent: Array
    energy: Array


def reflect(position: Array, momentum: Array, walls=None) -> tuple[Array, Array]:
    """Fold a free-flight position back into the support, flipping momenta.

    A particle moving freely from inside the box towards ``y = u + ε p`` crosses
    the walls ``floor(y)`` times (in absolute value). Unfolding the box into
    copies of ``[0, 1]`` mirrored at every integer, the copy ``[k, k + 1)``
    with ``k = floor(y)`` maps back by ``y - k`` when ``k`` is even and by
    ``1 - (y - k)`` when ``k`` is odd, where an odd number of bounces has
    reversed the direction: the momentum is flipped exactly when ``k`` is odd.
    Any number of reflections is handled at once. An axis with one wall
    folds once (``|y|`` for a wall at 0, ``1 - |1 - y|`` at 1), an axis with
    none not at all.

    Why the Metropolis step stays exact: the result equals the elastic
    billiard flow of a free particle in the support, which is Hamiltonian. On
    each piece ``{floor(y) = k}`` the fold is a translation or a mirror of
    ``(y, p)`` (Jacobian determinant ±1), so the drift preserves volume; and
    running the billiard from the end point with the momentum negated retraces
    the same path back, so the drift is reversible. Leapfrog composes it
    symmetrically with two half-kicks and inherits both properties.

    Parameters
    ----------
    position : (n,) unfolded position ``u + ε p`` (any real values).
    momentum : (n,) momentum before the reflections.
    walls : (n,) integer codes (see the module docstring), or None for the box.

    Returns
    -------
    position : (n,) in the support.
    momentum : (n,) with components flipped where an odd number of walls was hit.
    """
    # Cheap form of the fold: m = y - 2 round(y / 2) lies in [-1, 1], |m| is
    # the folded position and m < 0 exactly when floor(y) is odd (one
    # multiply, round, fma, abs and select; no floor-mod).
    m = position - 2.0 * jnp.round(0.5 * position)
    if walls is None:
        return jnp.abs(m), jnp.where(m < 0, -momentum, momentum)
    y = position
    one_wall = jnp.where(walls == 1, jnp.abs(y), 1.0 - jnp.abs(1.0 - y))
    folded = jnp.where(walls == BOX, jnp.abs(m), jnp.where(walls == 0, y, one_wall))
    flip = jnp.where(
        walls == BOX, m < 0, jnp.where(walls == 1, y < 0, (walls == 2) & (y > 1))
    )
    return folded, jnp.where(flip, -momentum, momentum)


def leapfrog(
    position: Array,
    momentum: Array,
    energy_grad: Array,
    energy_and_grad: EnergyAndGrad,
    step_size: ArrayLike,
    n_leapfrog: ArrayLike,
    walls=None,
) -> tuple[Array, Array, Array, Array]:
    """``n_leapfrog >= 1`` reflective leapfrog steps (kick/2, drift, kick/2).

    ``energy_grad`` is the cached gradient at ``position``; ``walls`` as in
    :func:`reflect`; every step costs
    one ``energy_and_grad`` evaluation. ``n_leapfrog`` may be traced (the loop
    is a ``lax.fori_loop``).

    The hot loop is lean: the half-kicks of consecutive steps are merged into
    one full kick, and the last step is peeled off the loop so that inside it
    only the gradient is used (XLA drops the energy when it is separable, as
    for the quadratic energies of the feature maps). One elementwise pass and
    one gradient per step remain.

    Returns
    -------
    position, momentum, energy, energy_grad : at the end of the trajectory.
    """
    half = 0.5 * step_size

    def drift(u, p):
        return reflect(u + step_size * p, p, walls)

    def body(_, carry):
        u, p = drift(*carry)
        _, g = energy_and_grad(u)
        return u, p - step_size * g

    u, p = jax.lax.fori_loop(
        0, n_leapfrog - 1, body, (position, momentum - half * energy_grad)
    )
    u, p = drift(u, p)
    e, g = energy_and_grad(u)
    return u, p - half * g, e, g


def init(position: ArrayLike, energy_and_grad: EnergyAndGrad) -> HMCState:
    """The state of one chain at ``position`` (n,) on the unit box."""
    position = jnp.asarray(position)
    energy, energy_grad = energy_and_grad(position)
    return HMCState(position=position, energy=energy, energy_grad=energy_grad)


def step(
    key: PRNGKey,
    state: HMCState,
    energy_and_grad: EnergyAndGrad,
    step_size: ArrayLike,
    n_leapfrog: ArrayLike,
    walls=None,
) -> tuple[HMCState, HMCInfo]:
    """One reflective HMC transition of one chain.

    Draws a standard Gaussian momentum (identity mass), integrates
    ``n_leapfrog`` reflective leapfrog steps of size ``step_size`` (both may be
    traced; ``n_leapfrog >= 1``) with reflections at ``walls`` (see
    :func:`reflect`; ``None``: the box), and accepts with probability
    ``min(1, exp(H_0 - H_1))``. A non-finite or divergent proposal
    (``H_1 - H_0 > 1000``) is rejected. Costs ``n_leapfrog`` evaluations of
    ``energy_and_grad``: the state caches the energy and gradient at its
    position.
    """
    k_momentum, k_accept = jax.random.split(key)
    u0 = state.position
    p0 = jax.random.normal(k_momentum, u0.shape, dtype=u0.dtype)
    u1, p1, e1, g1 = leapfrog(
        u0, p0, state.energy_grad, energy_and_grad, step_size, n_leapfrog, walls
    )
    h0 = state.energy + 0.5 * jnp.sum(p0 * p0)
    h1 = e1 + 0.5 * jnp.sum(p1 * p1)
    delta = h1 - h0
    is_divergent = ~jnp.isfinite(delta) | (delta > DIVERGENCE_THRESHOLD)
    # delta is +inf-safe: exp(-delta) = 0; NaN (divergent) is masked to 0.
    acceptance_rate = jnp.where(is_divergent, 0.0, jnp.minimum(1.0, jnp.exp(-delta)))
    log_uniform = jnp.log(jax.random.uniform(k_accept, dtype=u0.dtype))
    is_accepted = (log_uniform < -delta) & ~is_divergent
    new = HMCState(
        position=jnp.where(is_accepted, u1, u0),
        energy=jnp.where(is_accepted, e1, state.energy),
        energy_grad=jnp.where(is_accepted, g1, state.energy_grad),
    )
    info = HMCInfo(
        acceptance_rate=acceptance_rate.astype(u0.dtype),
        is_accepted=is_accepted,
        is_divergent=is_divergent,
        energy=new.energy,
    )
    return new, info


class HMCParams(NamedTuple):
    """Traced tuning parameters of :class:`ReflectiveHMC`: ``step_size`` ()."""

    step_size: Array


@dataclass(frozen=True)
class ReflectiveHMC:
    """Reflective HMC as a kernel over a batch of chains (:mod:`skmaxent.core.
    kernel`): :func:`init` and :func:`step` ``vmap``-ped, with one key per
    chain, ``n_leapfrog`` leapfrog steps (static) and the step size in
    :class:`HMCParams`."""

    n_leapfrog: int = 5

    def init(self, positions: Array, target) -> HMCState:
        """Batched states at ``positions`` (C, n) of the unit box."""
        return jax.vmap(lambda u: init(u, target.energy_and_grad))(positions)

    def step(self, key: PRNGKey, state: HMCState, target, params: HMCParams):
        """One transition of every chain: ``(state, HMCInfo (C,))``."""
        keys = jax.random.split(key, state.position.shape[0])

        def one(k, s):
            eg, walls = target.energy_and_grad, target.walls
            return step(k, s, eg, params.step_size, self.n_leapfrog, walls)

        return jax.vmap(one)(keys, state)

    def adapt(self, params: HMCParams, info: HMCInfo, target_accept, gain):
        """The step size tracked towards ``target_accept`` by the median
        chain's acceptance (:func:`skmaxent.core.sampling.adaptation.track`): a
        minority of chains stuck in a steep tail must not shrink everyone's
        step."""
        median = jnp.median(info.acceptance_rate)
        return HMCParams(
            adaptation.track(params.step_size, median, target_accept, gain)
        )
