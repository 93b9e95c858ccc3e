"""Indicators ``1[low <= x_i < high]``, the kind that bins one variable.

Bounded and piecewise constant: no gradient (the Metropolis step sees the
jump), exact uniform moments from the overlap of the bin with the box.
"""

import math
from dataclasses import dataclass
from numbers import Real

import jax.numpy as jnp
import numpy as np

from skmaxent.core.features.base import (
    Growth,
    Kind,
    bin_range,
    check_int,
    ints,
    number,
    take,
)

__all__ = ["Indicator", "Indicators"]


@dataclass(frozen=True)
class Indicator:
    """``1[low <= x_i < high]``.

    Parameters
    ----------
    i : int
        Column of ``X``.
    low, high : float
        Finite limits of the interval, ``low < high``.
    """

    i: int
    low: float
    high: float

    def __post_init__(self):
        check_int(self, "i", self.i, 0)
        for field in ("low", "high"):
            value = getattr(self, field)
            if (
                isinstance(value, bool)
                or not isinstance(value, Real)
                or not math.isfinite(value)
            ):
                raise ValueError(
                    f"Indicator.{field} must be a finite real number; got {value!r}."
                )
            object.__setattr__(self, field, float(value))
        if not self.low < self.high:
            raise ValueError(
                f"Indicator(i={self.i}) needs low < high; got low={self.low!r}, "
                f"high={self.high!r}."
            )


class Indicators(Kind):
    """The :class:`Indicator` features of a map (see :class:`~.base.Kind`)."""

    spec, key, differentiable = Indicator, "ind", False

    def __init__(self, specs, positions, n: int):
        super().__init__(specs, positions, n)
        self.i = ints(specs, "i")
        self.low = np.array([s.low for s in specs], np.float64)
        self.high = np.array([s.high for s in specs], np.float64)

    @classmethod
    def name(cls, spec, cols):
        return f"1[{number(spec.low)}<={cols[spec.i]}<{number(spec.high)}]"

    @classmethod
    def range(cls, spec, box):
        return bin_range(((spec.low, spec.high),), (box[spec.i],))

    @classmethod
    def growth(cls, spec):
        return Growth.BOUNDED

    def values(self, x, ctx):
        xi = take(x, self.i, x.ndim - 1)
        lo = jnp.asarray(self.low, x.dtype)
        hi = jnp.asarray(self.high, x.dtype)
        return ((xi >= lo) & (xi < hi)).astype(x.dtype)

    def mean(self, X, w, square, ctx):
        return w @ self.values(X, ctx)  # 1[...] ** 2 = 1[...]

    def uniform_moments(self, low, high, n_points, seed):
        a, b = low[self.i], high[self.i]
        overlap = np.minimum(self.high, b) - np.maximum(self.low, a)
        q = np.clip(overlap / (b - a), 0.0, 1.0)
        return q, q * (1 - q)
