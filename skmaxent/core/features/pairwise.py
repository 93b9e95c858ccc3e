"""Legendre tensor products ``P_a(t_i) P_b(t_j)``: smooth pair potentials on a graph.

Each feature multiplies two entries of the map's clipped Legendre table
(:class:`~skmaxent.core.features.base.Context`), so values, energies and
gradients cost ``O(|E|)`` per point; the factors are independent and centred
under the uniform law, so the moments are exact.
"""

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from skmaxent.core.features.base import BoxKind, check_int, ints
from skmaxent.core.features.legendre import legendre_min

__all__ = ["Pairwise", "Pairwises"]


@dataclass(frozen=True)
class Pairwise:
    """``P_a(2 u_i - 1) P_b(2 u_j - 1)``, a product of shifted Legendre polynomials.

    ``u_i`` as for :class:`Legendre` (clipped to ``[0, 1]`` on an open
    axis, so the feature is bounded). A pairwise potential of any smooth
    shape on the edge ``(i, j)`` of a graph; :func:`pairwise` builds them
    from an edge list.

    Parameters
    ----------
    i, j : int
        Two different columns of ``X``.
    a, b : int
        Degrees, at least 1 (degree 0 is the unary :class:`Legendre`).
    """

    i: int
    j: int
    a: int
    b: int

    def __post_init__(self):
        for field in ("i", "j"):
            check_int(self, field, getattr(self, field), 0)
        for field in ("a", "b"):
            check_int(self, field, getattr(self, field), 1)
        if self.i == self.j:
            raise ValueError(
                f"Pairwise(i={self.i}, j={self.j}) needs i != j; for one variable "
                f"use Legendre({self.i}, degree)."
            )


class Pairwises(BoxKind):
    """The :class:`Pairwise` features of a map (see :class:`~.base.Kind`)."""

    spec, key = Pairwise, "pw"

    def __init__(self, specs, positions, n: int):
        super().__init__(specs, positions, n)
        self.i, self.j = ints(specs, "i"), ints(specs, "j")
        self.a, self.b = ints(specs, "a"), ints(specs, "b")
        self.degree = int(np.concatenate([self.a, self.b]).max(initial=-1))

    @classmethod
    def columns(cls, spec):
        return (spec.i, spec.j)

    @classmethod
    def identity(cls, spec):
        return Pairwise(spec.j, spec.i, spec.b, spec.a) if spec.i > spec.j else spec

    @classmethod
    def name(cls, spec, cols):
        return f"P{spec.a}({cols[spec.i]})*P{spec.b}({cols[spec.j]})"

    @classmethod
    def range(cls, spec, box):
        # Bilinear in the two factors, each in [min P_d, 1]: extremes at corners.
        return min(legendre_min(spec.a), legendre_min(spec.b)), 1.0

    def of_table(self, P):
        """``P_a(t_i) P_b(t_j)`` per feature from the table ``P`` (D+1, [N,] n).

        Returns ``(m,)`` for one point and ``(m, N)`` for rows.
        """
        if P.ndim == 2:
            return P[self.a, self.i] * P[self.b, self.j]
        return P[self.a, :, self.i] * P[self.b, :, self.j]

    def values(self, x, ctx):
        return self.of_table(ctx.table())

    def mean(self, X, w, square, ctx):
        v = self.of_table(ctx.table())
        return (v * v if square else v) @ w

    def grad(self, t, x, ctx):
        """``d/dx sum_k c_k P_a(t_i) P_b(t_j)`` (n,); zero where ``t`` is clipped."""
        P, D = ctx.table_grad()
        Pa, Pb = P[self.a, self.i], P[self.b, self.j]
        Da, Db = D[self.a, self.i], D[self.b, self.j]
        g = jnp.zeros(P.shape[-1], P.dtype)
        return g.at[self.i].add(t * Da * Pb).at[self.j].add(t * Pa * Db)

    def uniform_moments(self, low, high, n_points, seed):
        # Independent factors under the uniform law, each of mean 0 (degree >= 1).
        var = 1 / ((2 * self.a + 1) * (2 * self.b + 1))
        return np.zeros(self.i.size), var
