"""Step-size adaptation during training: constant-gain tracking (:func:`track`).

The persistent chains' target distribution moves while it is learnt, so the
step size follows the acceptance rate with a constant gain instead of dual
averaging (Hoffman & Gelman 2014), which assumes a fixed target; the tests
keep a dual-averaging reference (``tests/core/test_adaptation.py``).
"""

import jax.numpy as jnp

from skmaxent.core.types import Array, ArrayLike

#: Bounds of the step size kept by :func:`track`. Below the floor chains on the
#: unit box no longer move; a target acceptance that no step size reaches (a
#: discontinuous energy) must not drive the step size to zero.
MIN_STEP_SIZE = 1e-3
MAX_STEP_SIZE = 10.0

__all__ = ["track", "MIN_STEP_SIZE", "MAX_STEP_SIZE"]


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
