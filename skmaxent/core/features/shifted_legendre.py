"""Legendre polynomials by their recurrence, so that every degree costs one loop.

The Legendre features of :class:`~skmaxent.core.features.feature_map.FeatureMap` use
the whole table ``P_0..P_d`` (and its derivative for the energy gradient) at
once, gathered by degree and column; the three-term recurrence builds it in
one loop over degrees, whatever the number of features: written out for low
degrees, a ``lax.scan`` (kept as a loop by the compiler) for high ones.
"""

import jax.numpy as jnp
from jax import lax

__all__ = ["clipped_table", "legendre_table", "sum_rows"]


def legendre_table(t, degree: int, derivative: bool = False, unrolled: int = 8):
    """``P_0..P_degree`` at ``t`` stacked on a new first axis (and ``P'`` if asked).

    Three-term recurrence ``(k+1) P_{k+1} = (2k+1) t P_k - k P_{k-1}`` and
    ``P'_{k+1} = P'_{k-1} + (2k+1) P_k``: written out up to degree
    ``unrolled``, beyond it one step per degree inside a ``lax.scan`` that
    the compiler keeps as a loop, so that the program (and its compile time)
    does not grow with the degree (``docs/decisions.md``).
    """
    if degree > unrolled:
        return _scanned_table(t, degree, derivative)
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


def _scanned_table(t, degree: int, derivative: bool):
    """:func:`legendre_table` for ``degree >= 2``, one scan step per degree."""

    def step(carry, k):
        p0, p1, d0, d1 = carry
        k = k.astype(t.dtype)
        p2 = ((2 * k + 1) * t * p1 - k * p0) / (k + 1)
        d2 = d0 + (2 * k + 1) * p1 if derivative else d1
        return (p1, p2, d1, d2), (p2, d2) if derivative else p2

    P, D = [jnp.ones_like(t), t], [jnp.zeros_like(t), jnp.ones_like(t)]
    _, rows = lax.scan(step, (*P, *D), jnp.arange(1, degree, dtype=jnp.int32))
    if not derivative:
        return jnp.concatenate([jnp.stack(P), rows])
    return (
        jnp.concatenate([jnp.stack(P), rows[0]]),
        jnp.concatenate([jnp.stack(D), rows[1]]),
    )


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


def sum_rows(a, unrolled: int = 8):
    """``a.sum(0)`` for a short first axis, as a chain of elementwise adds
    (XLA's CPU reduction is far slower here: ``docs/decisions.md``).

    Up to ``unrolled`` rows the adds are written out; beyond, the same adds
    in the same order run in a loop, so that the program does not grow
    with the number of rows (a high Legendre degree).
    """
    if a.shape[0] > unrolled:
        return lax.fori_loop(1, a.shape[0], lambda k, out: out + a[k], a[0])
    out = a[0]
    for row in a[1:]:
        out = out + row
    return out
