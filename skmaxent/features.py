"""Feature specifications and their compilation into one vectorised FeatureMap.

(Spec classes fixed by API.md; the FeatureMap is being written.)
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Moment:
    """``x_i ** power``."""

    i: int
    power: int = 1


@dataclass(frozen=True)
class Product:
    """``x_i * x_j`` with ``i != j``."""

    i: int
    j: int


@dataclass(frozen=True)
class Indicator:
    """``1[low <= x_i < high]``."""

    i: int
    low: float
    high: float


@dataclass(frozen=True)
class Legendre:
    """Shifted Legendre polynomial of degree ``degree`` at ``(x_i - lo_i) / (hi_i - lo_i)``."""

    i: int
    degree: int


@dataclass(frozen=True)
class Custom:
    """``fn(x)`` for one point ``x`` of shape ``(n_features_in_,)``, returning a scalar."""

    fn: Callable
    name: str
