"""What a feature kind implements, so that the feature map loops over kinds, not types.

A *kind* is a subclass of :class:`Kind` in its own module of
:mod:`skmaxent.core.features`, listed once in its registry. Its class methods
are the rules on one spec (columns, identity, name, range on a box, growth on
an open support); an instance is the *group* of the features of that kind in
one :class:`~skmaxent.core.features.feature_map.FeatureMap`, holding NumPy index
tables and evaluating the whole group with a few vectorised ops (values,
weighted means, energy and its gradient) and its moments under the uniform law
on a box. :class:`Context` carries what several kinds share at one point or
batch (the clipped Legendre table, computed once).
"""

from numbers import Integral

import jax
import jax.numpy as jnp
import numpy as np

from skmaxent.core.features.shifted_legendre import clipped_table

__all__ = [
    "BoxKind",
    "Context",
    "Growth",
    "Kind",
    "bin_range",
    "check_int",
    "col",
    "ints",
    "number",
    "slot_gather",
    "slots",
    "take",
]

#: Matmul precision of the matrix forms.
HIGHEST = jax.lax.Precision.HIGHEST


class Growth:
    """How a feature grows on an open support (:meth:`Kind.growth`).

    ``BOUNDED``: bounded everywhere (it never confines nor escapes).
    ``UNKNOWN``: its growth is unknown (finite bounds are required).
    Otherwise a tuple ``((i, power), ...)``: a monomial in those columns.
    """

    BOUNDED = "bounded"
    UNKNOWN = "unknown"


class Context:
    """Shared pieces of one evaluation at ``x`` (n,) or rows (N, n) in user units.

    Parameters
    ----------
    x : array
        The point or the rows.
    low, high : array of shape (n,)
        The (reference) box, in the dtype of ``x``.
    degree : int
        Highest Legendre degree of the map (``-1`` when there is none).
    """

    def __init__(self, x, low, high, degree: int):
        self.x, self.low, self.high, self.degree = x, low, high, degree
        self._P = self._PD = None

    def table(self):
        """The clipped Legendre table ``(degree + 1, [N,] n)``, computed once."""
        if self._P is None:
            self._P = clipped_table(self.x, self.low, self.high, self.degree)
        return self._P

    def table_grad(self):
        """``(P, dP/dx)`` of the clipped Legendre table, computed once."""
        if self._PD is None:
            self._PD = clipped_table(self.x, self.low, self.high, self.degree, True)
        return self._PD


class Kind:
    """One feature kind: rules on its specs and the vectorised group of a map.

    Subclasses set :attr:`spec` (the frozen dataclass of the kind) and
    :attr:`key` (a short unique name), and implement the methods below;
    defaults cover the common cases. An instance is built by the map from
    the kind's specs and their positions among all features.

    Parameters
    ----------
    specs : tuple of specs of this kind, in feature order.
    positions : ndarray of int32, their positions among the map's features.
    n : int
        Number of variables.
    """

    spec: type = None
    key: str = ""
    #: Whether the energy of the kind's features is differentiable in x.
    differentiable: bool = True

    def __init__(self, specs, positions, n: int):
        self.specs, self.positions, self.n = tuple(specs), positions, n

    # ------------------------------------------------------ rules on a spec
    @classmethod
    def columns(cls, spec) -> tuple[int, ...]:
        """Columns of ``X`` the feature reads (checked against ``n``)."""
        return (spec.i,)

    @classmethod
    def identity(cls, spec):
        """Key under which two specs are the same feature (for duplicates)."""
        return spec

    @classmethod
    def name(cls, spec, cols: tuple[str, ...]) -> str:
        """The feature's name, ``cols`` the column names."""
        raise NotImplementedError

    @classmethod
    def range(cls, spec, box) -> tuple[float, float] | None:
        """``(min, max)`` of the feature on ``box`` (rows ``[lo, hi]``), or None."""
        return None

    @classmethod
    def growth(cls, spec):
        """How the feature grows on an open support (see :class:`Growth`)."""
        return Growth.UNKNOWN

    @classmethod
    def shift(cls, spec, c):
        """``f(x - c)`` as ``(terms, constant)``, or None if not in the span.

        ``terms`` lists ``(identity, coefficient)`` pairs, ``identity`` that
        (:meth:`identity`) of a feature that must be present, so that the
        features' span is closed under the shift by ``c`` (n,).
        """
        return None

    # ------------------------------------------------------ the group
    #: Highest Legendre degree the group reads from the shared table.
    degree: int = -1

    def values(self, x, ctx: Context):
        """The group's features at ``x`` (n,) or rows (N, n); ``(..., m)``."""
        raise NotImplementedError

    def mean(self, X, w, square: bool, ctx: Context):
        """``sum_r w_r f(x_r)`` (of ``f ** 2`` with ``square``); ``(m,)``."""
        v = self.values(X, ctx)
        return w @ (v * v if square else v)

    def coef_table(self, c, ctx: Context):
        """The group's coefficients ``c`` (m,) laid out for :meth:`energy`."""
        return c

    def energy(self, t, x, ctx: Context):
        """``sum_k c_k f_k(x)`` at one point from :meth:`coef_table`'s ``t``."""
        return jnp.dot(t, self.values(x, ctx))

    def grad(self, t, x, ctx: Context):
        """``d/dx`` of :meth:`energy` (n,), or ``None`` where it is zero."""
        return None

    def uniform_moments(self, low, high, n_points: int, seed: int):
        """Mean and variance (m,) float64 of the features under Uniform(box)."""
        raise NotImplementedError


def take(v, idx: np.ndarray, axis: int = 0):
    """``v[idx]`` along ``axis``; a static slice when ``idx`` is a contiguous range."""
    if idx.size and np.array_equal(idx, np.arange(idx[0], idx[0] + idx.size)):
        return jax.lax.slice_in_dim(v, int(idx[0]), int(idx[0]) + idx.size, axis=axis)
    return jnp.take(v, idx, axis=axis)


def bin_range(intervals, rows):
    """Range of the probability of a bin: 1 if it covers the box, 0 if it misses it."""
    meets = all(max(a, lo) < min(b, hi) for (a, b), (lo, hi) in zip(intervals, rows))
    covers = all(a <= lo and b >= hi for (a, b), (lo, hi) in zip(intervals, rows))
    return (1.0 if covers else 0.0), (1.0 if meets else 0.0)


def col(v, idx, axis=-1):
    """Columns ``idx`` of ``v`` along ``axis`` (a gather)."""
    return jnp.take(v, idx, axis=axis)


def ints(specs, attr) -> np.ndarray:
    """Field ``attr`` of each spec as an int32 array."""
    return np.array([getattr(s, attr) for s in specs], dtype=np.int32)


def slots(rows, cols, shape, symmetric=False) -> np.ndarray:
    """Static int32 table of ``shape``: ``k`` at ``(rows[k], cols[k])`` (and at
    ``(cols[k], rows[k])`` with ``symmetric``), ``len(rows)`` elsewhere.

    Entries must be unique (the specs are deduplicated), so that
    :func:`slot_gather` lays coefficients out by one gather.
    """
    table = np.full(shape, len(rows), np.int32)
    table[rows, cols] = np.arange(len(rows))
    if symmetric:
        table[cols, rows] = np.arange(len(rows))
    return table


def slot_gather(c, table):
    """``c`` laid out as ``table`` (from :func:`slots`), zero where unused."""
    return jnp.take(jnp.concatenate([c, jnp.zeros((1,), c.dtype)]), table)


def number(v: float) -> str:
    """``v`` as in a feature name: ``1`` for ``1.0``, ``0.5`` for ``0.5``."""
    r = repr(float(v))
    return r[:-2] if r.endswith(".0") else r


def check_int(owner, field, value, minimum):
    """Store ``owner.field`` as an int, or raise if it is not one >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(
            f"{type(owner).__name__}.{field} must be an integer >= {minimum}; "
            f"got {value!r}."
        )
    object.__setattr__(owner, field, int(value))


class BoxKind(Kind):
    """A kind defined on the box itself (shifted Legendre polynomials of the
    box's coordinates): bounded on any support, and the same feature in the
    box-centred coordinates of moment matching."""

    @classmethod
    def growth(cls, spec):
        return Growth.BOUNDED

    @classmethod
    def shift(cls, spec, c):
        return [(cls.identity(spec), 1.0)], 0.0  # defined on the shifted box
