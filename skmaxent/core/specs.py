"""Feature specifications, so that the features are hyper-parameters in plain data.

Specs are small frozen dataclasses (they survive ``clone`` and pickling), one
per feature: :class:`Moment`, :class:`Product`, :class:`Indicator`,
:class:`Legendre` and :class:`Custom`. :func:`resolve_features` turns the
``features`` hyper-parameter (a preset or a sequence of specs) into a
validated tuple; :func:`skmaxent.core.feature_map.compile_features` turns that
tuple into a vectorised FeatureMap. The public home of these names is
:mod:`skmaxent.features`, which re-exports them.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Integral, Real

__all__ = [
    "PRESETS",
    "SPEC_TYPES",
    "Custom",
    "Indicator",
    "Legendre",
    "Moment",
    "Product",
    "resolve_features",
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


SPEC_TYPES = (Moment, Product, Indicator, Legendre, Custom)
#: ``"legendre<d>"`` for d = 3..8: the quadratic preset plus each variable's
#: Legendre polynomials of degrees 3..d (a marginal shape on top of the
#: Gaussian; readable as a grid value: ``{"features": ["quadratic",
#: "legendre4"]}``).
LEGENDRE_PRESETS = tuple(f"legendre{d}" for d in range(3, 9))
PRESETS = ("linear", "quadratic", *LEGENDRE_PRESETS)


def _preset(name: str, n: int) -> tuple:
    linear = tuple(Moment(i) for i in range(n))
    if name == "linear":
        return linear
    squares = tuple(Moment(i, 2) for i in range(n))
    products = tuple(Product(i, j) for i in range(n) for j in range(i + 1, n))
    quadratic = linear + squares + products
    if name == "quadratic":
        return quadratic
    degree = int(name.removeprefix("legendre"))
    shape = tuple(Legendre(i, d) for i in range(n) for d in range(3, degree + 1))
    return quadratic + shape


def _columns(spec) -> tuple[int, ...]:
    if isinstance(spec, Custom):
        return ()
    if isinstance(spec, Product):
        return (spec.i, spec.j)
    return (spec.i,)


def _identity(spec):
    """Key under which two specs are the same feature (x_i x_j is x_j x_i)."""
    if isinstance(spec, Product):
        return (Product, min(spec.i, spec.j), max(spec.i, spec.j))
    return spec


def resolve_features(features, n_features_in: int) -> tuple:
    """The validated tuple of specs for the ``features`` hyper-parameter.

    Parameters
    ----------
    features : str preset or sequence of specs
        A preset: ``"linear"``, ``"quadratic"``, ``"legendre3"`` ... ``"legendre8"``.
        ``"linear"`` is every ``Moment(i)``; ``"quadratic"`` is every
        ``Moment(i)``, then every ``Moment(i, 2)``, then every ``Product(i, j)``
        with ``i < j``; ``"legendre<d>"`` is ``"quadratic"`` followed by every
        ``Legendre(i, k)`` for ``k = 3..d`` (variable by variable).
    n_features_in : int
        Number of columns of ``X``; spec column indices must lie in
        ``[0, n_features_in)``.

    Returns
    -------
    specs : tuple of specs
        The specs, in feature order.
    """
    n = n_features_in
    if isinstance(features, str):
        if features not in PRESETS:
            raise ValueError(
                f"features={features!r} is not a preset; use 'linear', 'quadratic', "
                "'legendre3' to 'legendre8', or a sequence of specs from "
                "skmaxent.features."
            )
        return _preset(features, n)
    if isinstance(features, SPEC_TYPES):
        raise TypeError(
            f"features={features!r} is a single spec; wrap it in a list: "
            f"features=[{features!r}]."
        )
    if not isinstance(features, Sequence):
        raise TypeError(
            "features must be 'linear', 'quadratic' or a sequence of specs; got "
            f"{type(features).__name__} {features!r}."
        )
    if len(features) == 0:
        raise ValueError("features is empty; give at least one spec or a preset.")
    seen = {}
    for k, spec in enumerate(features):
        if not isinstance(spec, SPEC_TYPES):
            raise TypeError(
                f"features[{k}] = {spec!r} is not a feature spec; expected Moment, "
                "Product, Indicator, Legendre or Custom from skmaxent.features."
            )
        for i in _columns(spec):
            if i >= n:
                raise ValueError(
                    f"features[{k}] = {spec!r} refers to column {i}, but X has "
                    f"{n} column(s); column indices must lie in [0, {n})."
                )
        key = _identity(spec)
        if key in seen:
            raise ValueError(
                f"features[{k}] = {spec!r} duplicates features[{seen[key]}] = "
                f"{features[seen[key]]!r}; remove one of them."
            )
        seen[key] = k
    return tuple(features)


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
    return spec.name
