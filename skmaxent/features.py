"""Feature specifications and their compilation: the public home of these names.

Specs are small frozen dataclasses (hyper-parameters that survive ``clone``):
:class:`Moment`, :class:`Product`, :class:`Indicator`, :class:`Legendre`,
:class:`Pairwise`, :class:`Indicator2` and :class:`Custom`; :func:`pairwise`
builds the features of a pairwise Markov random field from an edge list.
:func:`resolve_features` turns the ``features`` hyper-parameter (a preset in
:data:`PRESETS` or a sequence of specs) into a validated tuple, and
:func:`compile_features` turns that tuple into a vectorised :class:`FeatureMap`.

They live in the pure-JAX core (:mod:`skmaxent.core.features`,
:mod:`skmaxent.core.features.presets`, :mod:`skmaxent.core.features.feature_map`); this
module re-exports them.
"""

from skmaxent.core.features import (
    SPEC_TYPES,
    Custom,
    Indicator,
    Indicator2,
    Legendre,
    Moment,
    Pairwise,
    Product,
)
from skmaxent.core.features.feature_map import FeatureMap, compile_features
from skmaxent.core.features.presets import PRESETS, pairwise, resolve_features

__all__ = [
    "PRESETS",
    "SPEC_TYPES",
    "Custom",
    "FeatureMap",
    "Indicator",
    "Indicator2",
    "Legendre",
    "Moment",
    "Pairwise",
    "Product",
    "compile_features",
    "pairwise",
    "resolve_features",
]
