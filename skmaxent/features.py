"""Feature specifications and their compilation: the public home of these names.

Specs are small frozen dataclasses (hyper-parameters that survive ``clone``):
:class:`Moment`, :class:`Product`, :class:`Indicator`, :class:`Legendre` and
:class:`Custom`. :func:`resolve_features` turns the ``features``
hyper-parameter (a preset in :data:`PRESETS` or a sequence of specs) into a
validated tuple, and :func:`compile_features` turns that tuple into a
vectorised :class:`FeatureMap`.

They live in the pure-JAX core (:mod:`skmaxent.core.specs`,
:mod:`skmaxent.core.feature_map`); this module re-exports them.
"""

from skmaxent.core.feature_map import FeatureMap, compile_features
from skmaxent.core.specs import (
    PRESETS,
    SPEC_TYPES,
    Custom,
    Indicator,
    Legendre,
    Moment,
    Product,
    resolve_features,
)

__all__ = [
    "PRESETS",
    "SPEC_TYPES",
    "Custom",
    "FeatureMap",
    "Indicator",
    "Legendre",
    "Moment",
    "Product",
    "compile_features",
    "resolve_features",
]
