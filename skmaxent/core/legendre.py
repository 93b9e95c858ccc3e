"""Legendre polynomials by their recurrence, so that every degree costs one loop.

The Legendre features of :class:`~skmaxent.core.feature_map.FeatureMap` use
the whole table ``P_0..P_d`` (and its derivative for the energy gradient) at
once, gathered by degree and column; the three-term recurrence builds it in
one Python loop over degrees, whatever the number of features.
"""

import jax.numpy as jnp

__all__ = ["legendre_table"]


def legendre_table(t, degree: int, derivative: bool = False):
    """``P_0..P_degree`` at ``t`` stacked on a new first axis (and ``P'`` if asked).

    Three-term recurrence ``(k+1) P_{k+1} = (2k+1) t P_k - k P_{k-1}`` and
    ``P'_{k+1} = P'_{k-1} + (2k+1) P_k``; a Python loop over degrees only.
    """
    P = [jnp.ones_like(t), t]
    for k in range(1, degree):
        P.append(((2 * k + 1) * t * P[k] - k * P[k - 1]) / (k + 1))
    P = P[: degree + 1]
    if not derivative:
        return jnp.stack(P)
    D = [jnp.zeros_like(t), jnp.ones_like(t)]
    for k in range(1, degree):
        D.append(D[k - 1] + (2 * k + 1) * P[k])
    return jnp.stack(P), jnp.stack(D[: degree + 1])
