"""The quadratic penalty as one sparse operator: value, gradient, matvec, diagonal.

``alpha`` (L2 on the user's coefficients) and ``roughness`` (``R``, the mean
squared curvature of the log-density) are one quadratic form in the
parameters ``theta``,

    P(theta) = 1/2 theta·Q·theta,   Q = S (alpha T Tᵀ + roughness R) S,

with ``S = diag(scale)`` (``coef = theta * scale``: ``1 / std`` for
standardised features, ones for other energies) and ``T`` the sparse map
from the fitted coefficients to the user's (the identity, or the centring
map of polynomial features, whose ``Tᵀ`` turns centred coefficients into
the user's). ``T`` and ``R`` are kept as COO entries, so the operator costs
``O(nnz)`` whatever the number of features: the dense and the matrix-free
natural steps, and the moment-matching gradient, all use the same object.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from skmaxent.core.types import Array

__all__ = ["Penalty", "build", "value_and_grad", "matvec", "diag", "dense"]


class Penalty(NamedTuple):
    """COO entries of ``T`` and ``R`` with their strengths (all traced arrays)."""

    scale: Array
    alpha: Array
    t_rows: Array
    t_cols: Array
    t_vals: Array
    roughness: Array
    r_rows: Array
    r_cols: Array
    r_vals: Array


def build(scale, alpha, roughness=0.0, R=None, T=None) -> Penalty:
    """A :class:`Penalty` from NumPy parts (float32 / int32), on the host.

    ``R`` and ``T`` are ``(rows, cols, vals)`` COO triples; ``None`` means no
    roughness and the identity map.
    """
    p = len(scale)
    if T is None:
        T = (np.arange(p), np.arange(p), np.ones(p))
    if R is None or roughness == 0:
        R = (np.zeros(0), np.zeros(0), np.zeros(0))
    i32, f32 = (
        (lambda a: np.asarray(a, np.int32)),
        (lambda a: np.asarray(a, np.float32)),
    )
    return Penalty(
        f32(scale),
        np.float32(alpha),
        i32(T[0]),
        i32(T[1]),
        f32(T[2]),
        np.float32(roughness),
        i32(R[0]),
        i32(R[1]),
        f32(R[2]),
    )


def _spmv(rows, cols, vals, v, p):
    return jax.ops.segment_sum(vals * v[cols], rows, p)


def matvec(pen: Penalty, v: Array) -> Array:
    """``Q v`` in ``O(nnz(T) + nnz(R))``."""
    p = v.shape[0]
    c = pen.scale * v
    user = _spmv(pen.t_cols, pen.t_rows, pen.t_vals, c, p)  # Tᵀ c
    out = pen.alpha * _spmv(pen.t_rows, pen.t_cols, pen.t_vals, user, p)
    out = out + pen.roughness * _spmv(pen.r_rows, pen.r_cols, pen.r_vals, c, p)
    return pen.scale * out


def value_and_grad(pen: Penalty, theta: Array) -> tuple[Array, Array]:
    """``(1/2 theta·Q·theta, Q theta)``."""
    g = matvec(pen, theta)
    return 0.5 * theta @ g, g


def diag(pen: Penalty, p: int) -> Array:
    """The diagonal of ``Q`` (p,), the preconditioner's share of the penalty."""
    t2 = jax.ops.segment_sum(pen.t_vals**2, pen.t_rows, p)
    on = jnp.where(pen.r_rows == pen.r_cols, pen.r_vals, 0.0)
    r = jax.ops.segment_sum(on, pen.r_rows, p)
    return pen.scale**2 * (pen.alpha * t2 + pen.roughness * r)


def dense(pen: Penalty, p: int) -> Array:
    """``Q`` as a dense (p, p) array (for the dense natural step only).

    Built column by column from :func:`matvec`: ``O(p (nnz(T) + nnz(R)))``,
    never a ``p x p`` product.
    """
    return jax.vmap(lambda e: matvec(pen, e))(jnp.eye(p, dtype=pen.scale.dtype))
