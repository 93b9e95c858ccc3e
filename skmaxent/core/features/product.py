"""Products ``x_i x_j``: a gather per edge on a sparse graph, a matmul on a dense one.

Each product is a gather of its two columns and a multiply, so values,
energies and gradients cost ``O(|E|)`` per point. Products over most pairs (at
least a quarter of all ``n (n - 1) / 2``, e.g. the quadratic preset) use the
matrix form instead: ``sum_k c_k x_i x_j = x·Wx / 2`` with ``W`` symmetric,
gradient ``Wx``, batch mean ``XᵀX / N`` then a gather -- one matmul where
``|E|`` is ``O(n²)``, and never an ``n × n`` matrix where the graph is sparse.
"""

from dataclasses import dataclass

import jax.numpy as jnp

from skmaxent.core.features.base import (
    HIGHEST,
    Kind,
    check_int,
    col,
    ints,
    slot_gather,
    slots,
)
from skmaxent.core.features.moment import Moment, power_moments

__all__ = ["Product", "Products", "dense_products"]


@dataclass(frozen=True)
class Product:
    """``x_i * x_j`` with ``i != j``.

    Parameters
    ----------
    i, j : int
        Two different columns of ``X``.
    """

    i: int
    j: int

    def __post_init__(self):
        check_int(self, "i", self.i, 0)
        check_int(self, "j", self.j, 0)
        if self.i == self.j:
            raise ValueError(
                f"Product(i={self.i}, j={self.j}) needs i != j; for x_i ** 2 use "
                f"Moment({self.i}, 2)."
            )


def dense_products(n_products: int, n: int) -> bool:
    """Whether products over ``n`` variables take the matrix form.

    It costs ``O(n²)`` per point against ``O(n_products)`` for the gather,
    and a matmul is several times faster per entry than a gather: the matrix
    wins from about a quarter of all pairs on.
    """
    return n_products > 0 and 8 * n_products >= n * (n - 1)


def _times(a: float, b: float) -> float:
    """``a * b`` with ``0 * inf = 0`` (a corner of an open box)."""
    return 0.0 if a == 0 or b == 0 else a * b


class Products(Kind):
    """The :class:`Product` features of a map (see :class:`~.base.Kind`).

    Attributes
    ----------
    i, j : ndarray of int32, the two columns of each product.
    dense : bool, whether the matrix form is used (:func:`dense_products`).
    """

    spec, key = Product, "prod"

    def __init__(self, specs, positions, n: int):
        super().__init__(specs, positions, n)
        self.i, self.j = ints(specs, "i"), ints(specs, "j")
        self.dense = dense_products(self.i.size, n)
        self.slots = slots(self.i, self.j, (n, n), True) if self.dense else None

    @classmethod
    def columns(cls, spec):
        return (spec.i, spec.j)

    @classmethod
    def identity(cls, spec):
        return (Product, min(spec.i, spec.j), max(spec.i, spec.j))

    @classmethod
    def name(cls, spec, cols):
        return f"{cols[spec.i]}*{cols[spec.j]}"

    @classmethod
    def range(cls, spec, box):
        corners = [_times(a, b) for a in box[spec.i] for b in box[spec.j]]
        lo_i, hi_i = box[spec.i]
        lo_j, hi_j = box[spec.j]
        if lo_i < 0 < hi_i or lo_j < 0 < hi_j:  # 0 * inf corners: products span 0
            corners.append(0.0)
        return min(corners), max(corners)

    @classmethod
    def growth(cls, spec):
        return ((spec.i, 1), (spec.j, 1))

    @classmethod
    def shift(cls, spec, c):
        # (x_i - c_i)(x_j - c_j) = x_i x_j - c_j x_i - c_i x_j + c_i c_j
        i, j = spec.i, spec.j
        terms = [(cls.identity(spec), 1.0), (Moment(i), -c[j]), (Moment(j), -c[i])]
        return terms, c[i] * c[j]

    def values(self, x, ctx):
        """``x_i x_j`` of every product at one point ``x`` (n,) or rows (N, n)."""
        return col(x, self.i, -1) * col(x, self.j, -1)

    def mean(self, X, w, square, ctx):
        Xp = X * X if square else X
        if self.dense:
            G = jnp.matmul(Xp.T, Xp * w[:, None], precision=HIGHEST)
            return G[self.i, self.j]
        return w @ self.values(Xp, ctx)

    def coef_table(self, c, ctx):
        """The symmetric ``W`` (n, n) of the matrix form, or ``c`` for the gather."""
        return slot_gather(c, self.slots) if self.dense else c

    def energy(self, t, x, ctx):
        if self.dense:
            return 0.5 * jnp.dot(x, jnp.dot(t, x, precision=HIGHEST))
        return jnp.dot(t, self.values(x, ctx))

    def grad(self, t, x, ctx):
        if self.dense:
            return jnp.dot(t, x, precision=HIGHEST)
        g = jnp.zeros_like(x)
        g = g.at[self.i].add(t * col(x, self.j, 0))
        return g.at[self.j].add(t * col(x, self.i, 0))

    def uniform_moments(self, low, high, n_points, seed):
        m, v = power_moments(low, high, 1)
        I, J = self.i, self.j
        # Var(XY) for independent X, Y, without E[X²Y²] - E[XY]² cancellation.
        return m[I] * m[J], v[I] * v[J] + v[I] * m[J] ** 2 + v[J] * m[I] ** 2
