"""Feature specifications, so that the features are hyper-parameters in plain data.

Specs are small frozen dataclasses (they survive ``clone`` and pickling), one
per feature: :class:`Moment`, :class:`Product`, :class:`Indicator`,
:class:`Legendre`, :class:`Pairwise`, :class:`Indicator2` and :class:`Custom`.
Each is defined with its kind in :mod:`skmaxent.core.features`; this module
re-exports them and answers the per-spec questions (columns, identity, name)
through the kinds' registry.
:func:`~skmaxent.core.features.presets.resolve_features` turns the
``features`` hyper-parameter (a preset or a sequence of specs) into a
validated tuple (:mod:`skmaxent.core.features.presets`);
:func:`skmaxent.core.features.feature_map.compile_features` turns that
tuple into a vectorised FeatureMap. The public home of these names is
:mod:`skmaxent.features`, which re-exports them.
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
    kind_of,
)

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


def _columns(spec) -> tuple[int, ...]:
    """Columns of ``X`` the feature reads."""
    return kind_of(spec).columns(spec)


def _identity(spec):
    """Key under which two specs are the same feature (x_i x_j is x_j x_i)."""
    return kind_of(spec).identity(spec)


def _name(spec, cols: tuple[str, ...]) -> str:
    """The feature's name, ``cols`` the column names."""
    return kind_of(spec).name(spec, cols)
