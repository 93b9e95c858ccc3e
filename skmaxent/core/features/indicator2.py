"""2-D bins ``1[x_i in box_i, x_j in box_j]``, the kind that bins a pair of variables.

A gather of the two columns and four comparisons per feature, ``O(|E|)`` per
point; no gradient (piecewise constant), exact uniform moments from the
overlap of the bin with the box.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real

import jax.numpy as jnp
import numpy as np

from skmaxent.core.features.base import (
    Growth,
    Kind,
    bin_range,
    check_int,
    col,
    ints,
    number,
)

__all__ = ["Indicator2", "Indicator2s"]


def _interval(owner, field, value):
    """``value`` as a ``(low, high)`` tuple of finite floats with ``low < high``."""
    ok = isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2
    if ok:
        ok = all(
            not isinstance(v, bool) and isinstance(v, Real) and math.isfinite(v)
            for v in value
        )
    if not ok or not value[0] < value[1]:
        raise ValueError(
            f"{type(owner).__name__}.{field} must be a pair (low, high) of finite "
            f"real numbers with low < high; got {value!r}."
        )
    object.__setattr__(owner, field, (float(value[0]), float(value[1])))


@dataclass(frozen=True)
class Indicator2:
    """``1[low_i <= x_i < high_i and low_j <= x_j < high_j]``, a 2-D bin.

    Parameters
    ----------
    i, j : int
        Two different columns of ``X``.
    box_i, box_j : pair of float
        ``(low, high)`` limits along ``x_i`` and ``x_j``, finite, ``low < high``.
    """

    i: int
    j: int
    box_i: tuple
    box_j: tuple

    def __post_init__(self):
        check_int(self, "i", self.i, 0)
        check_int(self, "j", self.j, 0)
        if self.i == self.j:
            raise ValueError(
                f"Indicator2(i={self.i}, j={self.j}) needs i != j; for one "
                f"variable use Indicator({self.i}, low, high)."
            )
        _interval(self, "box_i", self.box_i)
        _interval(self, "box_j", self.box_j)


class Indicator2s(Kind):
    """The :class:`Indicator2` features of a map (see :class:`~.base.Kind`).

    Attributes
    ----------
    i, j : ndarray of int32, the two columns.
    lo, hi : ndarray of shape (m, 2), float64, the limits along ``x_i``, ``x_j``.
    """

    spec, key, differentiable = Indicator2, "i2", False

    def __init__(self, specs, positions, n: int):
        super().__init__(specs, positions, n)
        self.i, self.j = ints(specs, "i"), ints(specs, "j")
        self.lo = np.array(
            [(b.box_i[0], b.box_j[0]) for b in specs], np.float64
        ).reshape(-1, 2)
        self.hi = np.array(
            [(b.box_i[1], b.box_j[1]) for b in specs], np.float64
        ).reshape(-1, 2)

    @classmethod
    def columns(cls, spec):
        return (spec.i, spec.j)

    @classmethod
    def identity(cls, spec):
        if spec.i > spec.j:
            return Indicator2(spec.j, spec.i, spec.box_j, spec.box_i)
        return spec

    @classmethod
    def name(cls, spec, cols):
        (a, b), (c, d) = spec.box_i, spec.box_j
        i, j = cols[spec.i], cols[spec.j]
        return f"1[{number(a)}<={i}<{number(b)},{number(c)}<={j}<{number(d)}]"

    @classmethod
    def range(cls, spec, box):
        return bin_range((spec.box_i, spec.box_j), (box[spec.i], box[spec.j]))

    @classmethod
    def growth(cls, spec):
        return Growth.BOUNDED

    def values(self, x, ctx):
        xi, xj = col(x, self.i, -1), col(x, self.j, -1)
        lo = jnp.asarray(self.lo, x.dtype)
        hi = jnp.asarray(self.hi, x.dtype)
        inside = (xi >= lo[:, 0]) & (xi < hi[:, 0]) & (xj >= lo[:, 1]) & (xj < hi[:, 1])
        return inside.astype(x.dtype)

    def mean(self, X, w, square, ctx):
        return w @ self.values(X, ctx)  # 1[...] ** 2 = 1[...]

    def uniform_moments(self, low, high, n_points, seed):
        q = np.ones(self.i.size)
        for axis, cols in enumerate((self.i, self.j)):
            a, b = low[cols], high[cols]
            lo, hi = self.lo[:, axis], self.hi[:, axis]
            q *= np.clip((np.minimum(hi, b) - np.maximum(lo, a)) / (b - a), 0.0, 1.0)
        return q, q * (1 - q)
