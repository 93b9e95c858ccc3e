"""Feature specifications, so that the features are hyper-parameters in plain data.

Specs are small frozen dataclasses (they survive ``clone`` and pickling), one
per feature: :class:`Moment`, :class:`Product`, :class:`Indicator`,
:class:`Legendre`, :class:`Pairwise`, :class:`Indicator2` and :class:`Custom`.
:func:`~skmaxent.core.presets.resolve_features` turns the
``features`` hyper-parameter (a preset or a sequence of specs) into a
validated tuple (:mod:`skmaxent.core.presets`);
:func:`skmaxent.core.feature_map.compile_features` turns that
tuple into a vectorised FeatureMap. The public home of these names is
:mod:`skmaxent.features`, which re-exports them.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Integral, Real

__all__ = [
    "SPEC_TYPES",
    "Custom",
    "Indicator",
    "Indicator2",
    "Legendre",
    "Moment",
    "Pairwise",
    "Product",
]


def _check_int(owner, field, value, minimum):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(
            f"{type(owner).__name__}.{field} must be an integer >= {minimum}; "
            f"got {value!r}."
        )
    object.__setattr__(owner, field, int(value))


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
        _check_int(self, "i", self.i, 0)
        _check_int(self, "power", self.power, 1)


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
        _check_int(self, "i", self.i, 0)
        _check_int(self, "j", self.j, 0)
        if self.i == self.j:
            raise ValueError(
                f"Product(i={self.i}, j={self.j}) needs i != j; for x_i ** 2 use "
                f"Moment({self.i}, 2)."
            )


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
        _check_int(self, "i", self.i, 0)
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
        _check_int(self, "i", self.i, 0)
        _check_int(self, "degree", self.degree, 0)


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
            _check_int(self, field, getattr(self, field), 0)
        for field in ("a", "b"):
            _check_int(self, field, getattr(self, field), 1)
        if self.i == self.j:
            raise ValueError(
                f"Pairwise(i={self.i}, j={self.j}) needs i != j; for one variable "
                f"use Legendre({self.i}, degree)."
            )


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
        _check_int(self, "i", self.i, 0)
        _check_int(self, "j", self.j, 0)
        if self.i == self.j:
            raise ValueError(
                f"Indicator2(i={self.i}, j={self.j}) needs i != j; for one "
                f"variable use Indicator({self.i}, low, high)."
            )
        _interval(self, "box_i", self.box_i)
        _interval(self, "box_j", self.box_j)


@dataclass(frozen=True)
class Custom:
    """``fn(x)``, a JAX-traceable scalar function of one point ``x``.

    ``x`` has shape ``(n_features_in_,)`` and is in user units.

    Parameters
    ----------
    fn : callable
        ``fn(x) -> scalar``, written with ``jax.numpy``.
    name : str
        The feature's name in ``get_feature_names_out()``.
    """

    fn: Callable
    name: str

    def __post_init__(self):
        if not callable(self.fn):
            raise TypeError(f"Custom.fn must be callable; got {self.fn!r}.")
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Custom.name must be a non-empty str; got {self.name!r}.")


SPEC_TYPES = (Moment, Product, Indicator, Legendre, Pairwise, Indicator2, Custom)


def _columns(spec) -> tuple[int, ...]:
    if isinstance(spec, Custom):
        return ()
    if isinstance(spec, (Product, Pairwise, Indicator2)):
        return (spec.i, spec.j)
    return (spec.i,)


def _identity(spec):
    """Key under which two specs are the same feature (x_i x_j is x_j x_i)."""
    if isinstance(spec, Product):
        return (Product, min(spec.i, spec.j), max(spec.i, spec.j))
    if isinstance(spec, Pairwise) and spec.i > spec.j:
        return Pairwise(spec.j, spec.i, spec.b, spec.a)
    if isinstance(spec, Indicator2) and spec.i > spec.j:
        return Indicator2(spec.j, spec.i, spec.box_j, spec.box_i)
    return spec


def _number(v: float) -> str:
    r = repr(float(v))
    return r[:-2] if r.endswith(".0") else r


def _name(spec, cols: tuple[str, ...]) -> str:
    if isinstance(spec, Moment):
        return cols[spec.i] if spec.power == 1 else f"{cols[spec.i]}^{spec.power}"
    if isinstance(spec, Product):
        return f"{cols[spec.i]}*{cols[spec.j]}"
    if isinstance(spec, Indicator):
        return f"1[{_number(spec.low)}<={cols[spec.i]}<{_number(spec.high)}]"
    if isinstance(spec, Legendre):
        return f"P{spec.degree}({cols[spec.i]})"
    if isinstance(spec, Pairwise):
        return f"P{spec.a}({cols[spec.i]})*P{spec.b}({cols[spec.j]})"
    if isinstance(spec, Indicator2):
        (a, b), (c, d) = spec.box_i, spec.box_j
        i, j = cols[spec.i], cols[spec.j]
        return f"1[{_number(a)}<={i}<{_number(b)},{_number(c)}<={j}<{_number(d)}]"
    return spec.name
