"""Shifted Legendre polynomials ``P_d(2 u_i - 1)``, bounded shapes of one variable.

Every Legendre feature (and every :mod:`~skmaxent.core.features.pairwise`
factor) is gathered from one clipped table ``P_0..P_D`` per point
(:class:`~skmaxent.core.features.base.Context`), whatever their number;
under the uniform law they are orthogonal, so their moments are exact.
"""

import functools
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from skmaxent.core.features.base import (
    BoxKind,
    check_int,
    ints,
    slot_gather,
    slots,
)
from skmaxent.core.features.shifted_legendre import sum_rows

__all__ = ["Legendre", "Legendres", "legendre_min"]


@dataclass(frozen=True)
class Legendre:
    """Shifted Legendre polynomial of degree ``degree`` at ``u_i``.

    ``P_degree(2 u_i - 1)`` with ``u_i = (x_i - lo_i) / (hi_i - lo_i)`` in ``[0, 1]``,
    where ``lo_i, hi_i`` are the bounds of column ``i``. On a column open on
    some side they are its reference interval (the data's or the targets'
    mean plus or minus 3 standard deviations, cut at a finite wall), and
    ``u_i`` is clipped to ``[0, 1]``: the feature is constant beyond it, a
    bounded shape on top of ``Moment(i, 2)``, which must confine the density.

    Parameters
    ----------
    i : int
        Column of ``X``.
    degree : int
        Non-negative degree.
    """

    i: int
    degree: int

    def __post_init__(self):
        check_int(self, "i", self.i, 0)
        check_int(self, "degree", self.degree, 0)


@functools.lru_cache(maxsize=64)
def legendre_min(d: int) -> float:
    """Minimum of the Legendre polynomial ``P_d`` on ``[-1, 1]``."""
    c = np.zeros(d + 1)
    c[d] = 1.0
    crit = np.polynomial.legendre.legroots(np.polynomial.legendre.legder(c))
    t = np.concatenate([[-1.0, 1.0], np.real(crit[np.abs(np.imag(crit)) < 1e-12])])
    return float(np.polynomial.legendre.legval(np.clip(t, -1.0, 1.0), c).min())


class Legendres(BoxKind):
    """The :class:`Legendre` features of a map (see :class:`~.base.Kind`)."""

    spec, key = Legendre, "leg"

    def __init__(self, specs, positions, n: int):
        super().__init__(specs, positions, n)
        self.i, self.deg = ints(specs, "i"), ints(specs, "degree")
        self.degree = int(self.deg.max(initial=-1))
        self._slots = {}  # coefficient layout per table degree of the map

    @classmethod
    def name(cls, spec, cols):
        return f"P{spec.degree}({cols[spec.i]})"

    @classmethod
    def range(cls, spec, box):
        return legendre_min(spec.degree), 1.0

    def values(self, x, ctx):
        return ctx.table()[self.deg, self.i]

    def mean(self, X, w, square, ctx):
        P = ctx.table()
        L = jnp.einsum("r,dri->di", w, P * P if square else P)
        return L[self.deg, self.i]

    def coef_table(self, c, ctx):
        """``c`` laid out as the map's Legendre table ``(D + 1, n)``."""
        if ctx.degree not in self._slots:
            shape = (ctx.degree + 1, self.n)
            self._slots[ctx.degree] = slots(self.deg, self.i, shape)
        return slot_gather(c, self._slots[ctx.degree])

    def energy(self, t, x, ctx):
        return jnp.sum(t * ctx.table())

    def grad(self, t, x, ctx):
        if ctx.degree <= 0:
            return None
        return sum_rows(t * ctx.table_grad()[1])

    def uniform_moments(self, low, high, n_points, seed):
        d = self.deg
        # Shifted Legendre: orthogonal to P0 = 1 and ∫₀¹ P_d(2u - 1)² du = 1/(2d+1).
        return np.where(d == 0, 1.0, 0.0), np.where(d == 0, 0.0, 1 / (2 * d + 1))
