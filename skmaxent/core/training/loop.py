"""The one training loop: persistent chains and any objective, in jitted chunks.

One iteration re-initialises the chains' kernel state at the current
parameters (while learning: its cache belongs to the old ones), moves every
chain by one transition of the kernel (a value of :mod:`skmaxent.core.sampling.kernel`:
reflective HMC, or the Gaussian metric's move composed with it), lets the
objective measure its statistics at the chains and take one parameter step,
and adapts the kernel's parameters (the HMC step size) towards the target
acceptance. :func:`run_chunk` runs ``config.chunk_size`` iterations in one
``lax.scan``; the host sees the state only between chunks.

The objective (:class:`~skmaxent.core.training.dual.Dual`,
:class:`~skmaxent.core.training.smm.SMM`, :class:`~skmaxent.core.training.mle.MLE`), the
kernel and :class:`~skmaxent.core.training.problem.LoopConfig` are static; the
:class:`~skmaxent.core.training.problem.Problem`, the kernel's parameters and the
:class:`~skmaxent.core.training.problem.Phase` are traced, so fits of equal shapes and
configuration reuse the compiled code whatever their targets, box, penalties,
learning rate, step size or phase.
"""

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from skmaxent.core import programs
from skmaxent.core.sampling import chains
from skmaxent.core.training.problem import LoopConfig, Phase, Problem
from skmaxent.core.types import Array, PRNGKey

__all__ = ["LoopState", "ChunkInfo", "start", "run_chunk"]


class LoopState(NamedTuple):
    """Carried across iterations and chunks: ``theta`` (K,), the update's
    state, the chains (the kernel's state on the unit box), the kernel's
    parameters, the key and the number of iterations done."""

    theta: Array
    opt_state: Any
    chains: Any
    params: Any
    key: PRNGKey
    iteration: Array


class ChunkInfo(NamedTuple):
    """What the host needs after a chunk (means over its active iterations).

    residual : (p,) the reported standardised residual.
    residual_se : (p,) its Monte Carlo standard error: the spread of the
        per-chain (or per-group) chunk means over ``sqrt(R)``. Chains are
        independent given the parameter path, and a chain's mean over the
        chunk absorbs its autocorrelation.
    gradient : (K,) the objective's gradient.
    theta : (K,) the mean of the iterates (the host's Polyak average).
    group_means : (R, p) the per-chain (or per-group) chunk means of the
        reported features, whose spread over a run of chunks gives the SE
        of a longer average.
    spread : (p,) the reported features' standard deviation under the
        model (the per-iteration spread of the means, scaled by the
        chains per mean).
    moment_error, loss, acceptance : (chunk_size,) per iteration.
    params : the kernel's parameters at each iteration (leaves (chunk_size,)).
    finite : whether parameters and chains stayed finite.
    """

    residual: Array
    residual_se: Array
    gradient: Array
    theta: Array
    group_means: Array
    spread: Array
    moment_error: Array
    loss: Array
    acceptance: Array
    params: Any
    finite: Array


@programs.jit(static_argnames=("objective", "kernel"))
def start(key, objective, kernel, theta, positions, params, problem) -> LoopState:
    """Initial state: chains at ``positions`` (C, n) of the unit box, the
    kernel's parameters ``params`` (cast to ``theta``'s dtype)."""
    goal = chains.target(objective.energy, theta, problem.geo)
    return LoopState(
        theta=theta,
        opt_state=objective.init(theta, problem),
        chains=kernel.init(positions, goal),
        params=jax.tree.map(lambda a: jnp.asarray(a, theta.dtype), params),
        key=key,
        iteration=jnp.zeros((), jnp.int32),
    )


def _iteration(objective, kernel, config, problem, phase: Phase, carry, _):
    state, sums = carry
    key, k_step = jax.random.split(state.key)
    goal = chains.target(objective.energy, state.theta, problem.geo)
    active = state.iteration < phase.max_iter
    # At fixed parameters (verification) the cache is exact: skip the refresh.
    current = jax.lax.cond(
        phase.learn,
        lambda c: kernel.init(c.position, goal),
        lambda c: c,
        state.chains,
    )
    moved, info = kernel.step(k_step, current, goal, state.params)
    theta, opt_state, stats = objective.iterate(
        state.theta, state.opt_state, moved.position, problem, phase.learn & active
    )
    tuned = kernel.adapt(state.params, info, problem.target_accept, config.adapt_gain)

    def keep(new, old, flag=active):
        return jax.tree.map(lambda a, b: jnp.where(flag, a, b), new, old)

    new = LoopState(
        theta=keep(theta, state.theta),
        opt_state=keep(opt_state, state.opt_state),
        chains=keep(moved, state.chains),
        params=keep(tuned, state.params, phase.adapt & active),
        key=key,
        iteration=state.iteration + active.astype(jnp.int32),
    )
    on = active.astype(theta.dtype)
    spread = jnp.var(problem.report(stats.means), axis=0, ddof=1)
    parts = (stats.means, stats.residual, stats.gradient, theta, spread)
    sums = tuple(s + on * v for s, v in zip(sums, parts))
    error = jnp.max(jnp.abs(problem.report(stats.residual)))
    acceptance = jnp.mean(info.acceptance_rate)
    return (new, sums), (error, stats.loss, acceptance, state.params, active)


@programs.jit(static_argnames=("objective", "kernel", "config"))
def run_chunk(
    state: LoopState,
    problem: Problem,
    phase: Phase,
    objective,
    kernel,
    config: LoopConfig,
) -> tuple[LoopState, ChunkInfo]:
    """Run ``config.chunk_size`` iterations in one ``lax.scan``.

    Iterations beyond ``phase.max_iter`` are no-ops and count in nothing.
    """
    C, n = state.chains.position.shape
    p, K = problem.nu.shape[0], state.theta.shape[0]
    R, dt = objective.n_means(C), state.theta.dtype
    # Sums of the means, residual, gradient, iterate and the means' variance.
    shapes = ((R, p), (p,), (K,), (K,), (p,))
    sums = tuple(jnp.zeros(shape, dt) for shape in shapes)
    (state, sums), (err, loss, acc, params, active) = jax.lax.scan(
        partial(_iteration, objective, kernel, config, problem, phase),
        (state, sums),
        None,
        length=config.chunk_size,
    )
    n_active = jnp.maximum(jnp.sum(active), 1)
    means, residual, gradient, theta, var = (s / n_active for s in sums)
    chain_means = problem.report(means)
    se = jnp.std(chain_means, axis=0, ddof=1) / jnp.sqrt(R)
    finite = jnp.all(jnp.isfinite(state.theta)) & chains.finite(state.chains)
    info = ChunkInfo(
        residual=problem.report(residual),
        residual_se=se,
        gradient=gradient,
        theta=theta,
        group_means=chain_means,
        spread=jnp.sqrt(var * (C // R)),
        moment_error=err,
        loss=loss,
        acceptance=acc,
        params=params,
        finite=finite,
    )
    return state, info
