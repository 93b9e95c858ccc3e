"""Legendre polynomials by their recurrence, so that every degree costs one loop.

The Legendre features of :class:`~skmaxent.core.features.feature_map.FeatureMap` use
the whole table ``P_0..P_d`` (and its derivative for the energy gradient) at
once, gathered by degree and column; the three-term recurrence builds it in
one Python loop over degrees, whatever the number of features.
"""

import jax.numpy as jnp

__all__ = ["clipped_table", "legendre_table", "sum_rows"]


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


def clipped_table(x, low, high, degree: int, derivative: bool = False):
    """Legendre table at ``t = 2 (x - low) / (high - low) - 1`` clipped to ``[-1, 1]``.

    On a box nothing is clipped; on an open axis ``[low, high]`` is the
    reference interval, beyond which a Legendre feature is constant (a
    bounded shape on top of the square that confines the density). ``None``
    for ``degree < 0``; with ``derivative``, ``(P, dP/dx)`` with the
    derivative in ``x`` and zero where ``t`` is clipped.
    """
    if degree < 0:
        return (None, None) if derivative else None
    t = jnp.clip(2 * (x - low) / (high - low) - 1, -1.0, 1.0)
    if not derivative:
        return legendre_table(t, degree)
    P, D = legendre_table(t, degree, True)
    inside = (x >= low) & (x <= high)
    return P, jnp.where(inside, D, 0.0) * (2 / (high - low))


def sum_rows(a):
    """``a.sum(0)`` for a short first axis, as a chain of elementwise adds
    (XLA's CPU reduction is far slower here: ``docs/decisions.md``)."""
    out = a[0]
    for row in a[1:]:
        out = out + row
    return out
