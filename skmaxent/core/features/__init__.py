"""Feature kinds behind one registry, so that a new kind is one module and one line.

Each kind is a module of this package defining its spec (a frozen dataclass) and a
:class:`~skmaxent.core.features.base.Kind` subclass; :data:`KINDS` lists them in the
order their features are evaluated and concatenated (the order of :data:`SPEC_TYPES`).
:class:`~skmaxent.core.features.feature_map.FeatureMap`,
:mod:`~skmaxent.core.features.presets`, :mod:`~skmaxent.core.features.uniform_moments`
and the shell's checks loop over the kinds present through :func:`kind_of`.
"""

from skmaxent.core.features.base import Context, Growth, Kind
from skmaxent.core.features.custom import Custom, Customs
from skmaxent.core.features.indicator import Indicator, Indicators
from skmaxent.core.features.indicator2 import Indicator2, Indicator2s
from skmaxent.core.features.legendre import Legendre, Legendres
from skmaxent.core.features.moment import Moment, Moments
from skmaxent.core.features.pairwise import Pairwise, Pairwises
from skmaxent.core.features.product import Product, Products

__all__ = [
    "KINDS",
    "SPEC_TYPES",
    "Context",
    "Custom",
    "Growth",
    "Indicator",
    "Indicator2",
    "Kind",
    "Legendre",
    "Moment",
    "Pairwise",
    "Product",
    "kind_of",
]

#: The registry: every feature kind, in evaluation (and concatenation) order.
KINDS: tuple[type[Kind], ...] = (
    Moments,
    Products,
    Indicators,
    Legendres,
    Pairwises,
    Indicator2s,
    Customs,
)

#: The spec classes of the registered kinds, in the same order.
SPEC_TYPES = tuple(k.spec for k in KINDS)

_BY_SPEC = {k.spec: k for k in KINDS}


def kind_of(spec) -> type[Kind]:
    """The registered kind of ``spec`` (by its class); ``TypeError`` if none."""
    for t in type(spec).__mro__:
        if t in _BY_SPEC:
            return _BY_SPEC[t]
    raise TypeError(
        f"{spec!r} is not a feature spec; expected one of "
        f"{', '.join(t.__name__ for t in SPEC_TYPES)}."
    )
