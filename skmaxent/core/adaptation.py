"""Step-size adaptation by dual averaging (Hoffman & Gelman 2014, §3.2.1).

``(init, update, final)`` as in blackjax ``adaptation/step_size.py``: with
``x = log(step_size)`` and ``H_t = target - acceptance_t``,

    Hbar_t = (1 - 1/(t + t0)) Hbar_{t-1} + H_t / (t + t0)
    x_{t+1} = mu - sqrt(t) / gamma * Hbar_t
    xbar_{t+1} = t^-kappa x_{t+1} + (1 - t^-kappa) xbar_t

with ``mu = log(10 step_size_0)``. ``current`` is ``exp(x)``, the step size to
use during warm-up; ``final`` is ``exp(xbar)``, the one to keep afterwards.

All functions are pure and every state field is an array, so a caller can
switch adaptation on and off with a traced flag::

    new = update(da, acceptance, target)
    da = jax.tree.map(lambda a, b: jnp.where(adapt, a, b), new, da)
"""

import math
from typing import NamedTuple

import jax.numpy as jnp

from skmaxent.core.types import Array, ArrayLike

#: Defaults recommended by Hoffman & Gelman (2014).
T0 = 10.0
GAMMA = 0.05
KAPPA = 0.75
#: Upper bound on the adapted step size. On the unit box a drift of ten box
#: widths per leapfrog step is already pointless; the bound keeps a flat energy
#: (acceptance always 1, so ``x`` grows like ``sqrt(t)``) from overflowing.
MAX_LOG_STEP_SIZE = math.log(10.0)

#: Bounds of the step size kept by :func:`track`. Below the floor chains on the
#: unit box no longer move; a target acceptance that no step size reaches (a
#: discontinuous energy) must not drive the step size to zero.
MIN_STEP_SIZE = 1e-3
MAX_STEP_SIZE = 10.0

__all__ = [
    "DualAveragingState",
    "init",
    "update",
    "current",
    "final",
    "track",
    "MIN_STEP_SIZE",
    "MAX_STEP_SIZE",
]


class DualAveragingState(NamedTuple):
    """State of the dual-averaging scheme (all fields are arrays).

    log_step_size : () ``x_t``, the log step size to use next (warm-up).
    log_step_size_avg : () ``xbar_t``, its weighted average (after warm-up).
    step : () int32 iteration counter ``t``, starting at 1.
    avg_error : () ``Hbar_t``, running average of ``target - acceptance``.
    mu : () ``log(10 step_size_0)``, the point ``x`` is shrunk towards.
    """

    log_step_size: Array
    log_step_size_avg: Array
    step: Array
    avg_error: Array
    mu: Array


def init(step_size: ArrayLike) -> DualAveragingState:
    """Start dual averaging from an initial step size (may be traced)."""
    step_size = jnp.asarray(step_size)
    step_size = step_size.astype(jnp.result_type(step_size, float))
    log_step_size = jnp.log(step_size)
    zero = jnp.zeros_like(log_step_size)
    return DualAveragingState(
        log_step_size=log_step_size,
        log_step_size_avg=zero,
        step=jnp.ones((), dtype=jnp.int32),
        avg_error=zero,
        mu=jnp.log(10.0) + log_step_size,
    )


def update(
    state: DualAveragingState, acceptance_rate: ArrayLike, target: ArrayLike
) -> DualAveragingState:
    """One dual-averaging update from an observed mean acceptance rate.

    Acceptance below ``target`` shrinks the step size, above grows it. The
    log step size is capped at :data:`MAX_LOG_STEP_SIZE`.
    """
    dtype = state.avg_error.dtype
    t = state.step.astype(dtype)
    error = jnp.asarray(target, dtype) - jnp.asarray(acceptance_rate, dtype)
    reg = t + T0
    avg_error = (1.0 - 1.0 / reg) * state.avg_error + error / reg
    log_step_size = state.mu - jnp.sqrt(t) / GAMMA * avg_error
    log_step_size = jnp.minimum(log_step_size, MAX_LOG_STEP_SIZE)
    eta = t ** (-KAPPA)
    log_step_size_avg = eta * log_step_size + (1.0 - eta) * state.log_step_size_avg
    return DualAveragingState(
        log_step_size=log_step_size,
        log_step_size_avg=log_step_size_avg,
        step=state.step + 1,
        avg_error=avg_error,
        mu=state.mu,
    )


def current(state: DualAveragingState) -> Array:
    """The step size to use during warm-up, ``exp(x_t)``."""
    return jnp.exp(state.log_step_size)


def final(state: DualAveragingState) -> Array:
    """The step size to keep after warm-up, ``exp(xbar_t)``.

    Before any update this is 1 (``xbar_1 = 0``); call it after warm-up.
    """
    return jnp.exp(state.log_step_size_avg)


def track(
    step_size: ArrayLike, acceptance_rate: ArrayLike, target: ArrayLike, gain: float
) -> Array:
    """Constant-gain Robbins–Monro update of the step size towards ``target``.

    ``log eps <- log eps + gain * (acceptance - target)``, kept within
    ``[MIN_STEP_SIZE, MAX_STEP_SIZE]``. Unlike dual averaging, whose gain grows
    like ``sqrt(t)`` and which assumes a fixed target distribution, a constant
    gain tracks a distribution that moves while it is learnt (persistent
    chains during training), and an unreachable target only pins the step size
    at a bound instead of sending it to zero.
    """
    step_size = jnp.asarray(step_size)
    log_step = jnp.log(step_size) + gain * (
        jnp.asarray(acceptance_rate, step_size.dtype) - target
    )
    return jnp.clip(jnp.exp(log_step), MIN_STEP_SIZE, MAX_STEP_SIZE)
