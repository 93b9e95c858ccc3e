"""Powers ``x_i ** k``, the kind that confines a density on an open support.

Values from a table of powers ``x ** 0..K``, energies and gradients by Horner's
rule on a ``(K + 1, n)`` coefficient table, weighted means from column sums of
``X ** k``, and exact moments under the uniform law.
"""

import math
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from skmaxent.core.features.base import Kind, check_int, ints, slot_gather, slots

__all__ = ["Moment", "Moments", "power_moments"]


@dataclass(frozen=True)
class Moment:
    """``x_i ** power``.

    Parameters
    ----------
    i : int
        Column of ``X``.
    power : int, default=1
        Positive integer power.
    """

    i: int
    power: int = 1

    def __post_init__(self):
        check_int(self, "i", self.i, 0)
        check_int(self, "power", self.power, 1)


class Moments(Kind):
    """The :class:`Moment` features of a map (see :class:`~.base.Kind`)."""

    spec, key = Moment, "mom"

    def __init__(self, specs, positions, n: int):
        super().__init__(specs, positions, n)
        self.i, self.power = ints(specs, "i"), ints(specs, "power")
        self.max_power = int(self.power.max(initial=0))
        self.slots = slots(self.power, self.i, (self.max_power + 1, n))

    @classmethod
    def name(cls, spec, cols):
        return cols[spec.i] if spec.power == 1 else f"{cols[spec.i]}^{spec.power}"

    @classmethod
    def range(cls, spec, box):
        k = spec.power
        lo, hi = box[spec.i]
        a, b = sorted((lo**k, hi**k))
        if k % 2 == 0 and k > 0 and lo <= 0 <= hi:
            a = 0.0
        return a, b

    @classmethod
    def growth(cls, spec):
        return ((spec.i, spec.power),)

    @classmethod
    def shift(cls, spec, c):
        # (x - c)^k = sum_j C(k, j) (-c)^(k - j) x^j
        terms, constant = [], 0.0
        for j in range(spec.power + 1):
            coeff = math.comb(spec.power, j) * (-c[spec.i]) ** (spec.power - j)
            if j == 0:
                constant = coeff
            else:
                terms.append((Moment(spec.i, j), coeff))
        return terms, constant

    def values(self, x, ctx):
        T = [jnp.ones_like(x)]  # x ** k for k = 0..max power, shape (K + 1, n)
        for _ in range(self.max_power):
            T.append(T[-1] * x)
        return jnp.stack(T)[self.power, self.i]

    def mean(self, X, w, square, ctx):
        k2 = 2 if square else 1
        M = jnp.stack(
            [jnp.full(X.shape[1], jnp.sum(w), X.dtype)]
            + [w @ X ** (k2 * k) for k in range(1, self.max_power + 1)]
        )
        return M[self.power, self.i]

    def coef_table(self, c, ctx):
        return slot_gather(c, self.slots)

    def energy(self, t, x, ctx):
        h = t[self.max_power]  # Horner, as in grad
        for k in range(self.max_power - 1, -1, -1):
            h = h * x + t[k]
        return jnp.sum(h)

    def grad(self, t, x, ctx):
        if not self.max_power:
            return None
        # Horner: sum_k k c_k x^(k-1), elementwise on (n,) (see sum_rows).
        d = t[self.max_power] * self.max_power
        for k in range(self.max_power - 1, 0, -1):
            d = d * x + k * t[k]
        return d

    def uniform_moments(self, low, high, n_points, seed):
        mean, var = np.empty(self.i.size), np.empty(self.i.size)
        for k in np.unique(self.power):
            sel = self.power == k
            i = self.i[sel]
            mean[sel], var[sel] = power_moments(low[i], high[i], int(k))
        return mean, var


def power_moments(a: np.ndarray, b: np.ndarray, k: int):
    """Mean and variance of ``x ** k`` for x ~ U(a, b), elementwise in ``a, b``.

    With ``x = c + h s``, s ~ U(-1, 1), ``x**k - c**k = sum_j q_j s^j`` (j >= 1)
    and ``E[s^j] = 1/(j+1)`` for even j, else 0. This is stable for narrow boxes
    far from 0: no ``b^(k+1) - a^(k+1)`` cancellation, and the variance is taken
    of the centred polynomial.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    c, h = (a + b) / 2, (b - a) / 2

    def es(j):
        return 1 / (j + 1) if j % 2 == 0 else 0.0

    q = [math.comb(k, j) * c ** (k - j) * h**j for j in range(1, k + 1)]
    m = sum(es(j) * qj for j, qj in enumerate(q, start=1))
    m2 = sum(
        es(j1 + j2) * q1 * q2
        for j1, q1 in enumerate(q, start=1)
        for j2, q2 in enumerate(q, start=1)
    )
    return c**k + m, m2 - m**2
