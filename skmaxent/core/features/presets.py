"""Named feature sets, so that a grid over features reads as a few strings.

The presets (``"quadratic"``, ``"legendre4"``, ``"legendre4x2"`` ...), the
graph builder :func:`pairwise`, and :func:`resolve_features`, which turns the
``features`` hyper-parameter into a validated tuple of specs
(:mod:`skmaxent.core.features`).
"""

from collections.abc import Sequence
from numbers import Integral

from skmaxent.core.features import (
    SPEC_TYPES,
    Legendre,
    Moment,
    Pairwise,
    Product,
    kind_of,
)

__all__ = ["PRESETS", "pairwise", "resolve_features"]

#: ``"legendre<d>"`` for d = 3..8: the quadratic preset plus each variable's
#: Legendre polynomials of degrees 3..d (a marginal shape on top of the
#: Gaussian; readable as a grid value: ``{"features": ["quadratic",
#: "legendre4"]}``).
LEGENDRE_PRESETS = tuple(f"legendre{d}" for d in range(3, 9))
#: ``"legendre<d>x<k>"`` for d = 2..8, k = 2..4: ``"legendre<d>"`` (d = 2 is
#: ``"quadratic"``) plus, on every pair ``i < j``, the tensor products
#: ``Pairwise(i, j, a, b)`` with ``1 <= a, b <= k`` other than ``a = b = 1``
#: (which the product ``x_i x_j`` already spans): a dependence of any smooth
#: shape between every two variables.
INTERACTION_PRESETS = tuple(
    f"legendre{d}x{k}" for d in range(2, 9) for k in range(2, 5)
)
PRESETS = ("linear", "quadratic", *LEGENDRE_PRESETS, *INTERACTION_PRESETS)


def _preset(name: str, n: int) -> tuple:
    linear = tuple(Moment(i) for i in range(n))
    if name == "linear":
        return linear
    squares = tuple(Moment(i, 2) for i in range(n))
    products = tuple(Product(i, j) for i in range(n) for j in range(i + 1, n))
    quadratic = linear + squares + products
    if name == "quadratic":
        return quadratic
    degree, _, k = name.removeprefix("legendre").partition("x")
    shape = tuple(Legendre(i, d) for i in range(n) for d in range(3, int(degree) + 1))
    if not k:
        return quadratic + shape
    ab = [(a, b) for a in range(1, int(k) + 1) for b in range(1, int(k) + 1)]
    pairs = tuple(
        Pairwise(i, j, a, b)
        for i in range(n)
        for j in range(i + 1, n)
        for a, b in ab
        if a + b > 2
    )
    return quadratic + shape + pairs


def pairwise(edges, degree: int = 3, *, unary: bool = True) -> tuple:
    """Legendre potentials on the edges of a graph: a pairwise MRF's features.

    Parameters
    ----------
    edges : sequence of (i, j) pairs
        The graph's edges, ``i != j``, each pair once (in either order).
    degree : int, default=3
        Highest degree of each factor.
    unary : bool, default=True
        Also add ``Legendre(i, d)``, ``d = 1..degree``, for every variable on
        an edge (the unary potentials).

    Returns
    -------
    specs : tuple of specs
        The unary terms (variables in increasing order), then
        ``Pairwise(i, j, a, b)`` for every edge and ``1 <= a, b <= degree``.
        Add ``Moment(i, 2)`` for variables unbounded on some side (Legendre
        features are bounded and do not confine).

    Examples
    --------
    >>> from skmaxent.features import pairwise
    >>> len(pairwise([(0, 1), (1, 2)], degree=2))
    14
    """
    if isinstance(degree, bool) or not isinstance(degree, Integral) or degree < 1:
        raise ValueError(f"degree must be an integer >= 1; got {degree!r}.")
    try:
        pairs = [tuple(e) for e in edges]
    except TypeError:
        raise TypeError(
            f"edges must be a sequence of (i, j) pairs; got {edges!r}."
        ) from None
    if any(len(e) != 2 for e in pairs):
        raise ValueError(f"edges must be (i, j) pairs; got {edges!r}.")
    seen = {}
    for k, (i, j) in enumerate(pairs):
        key = frozenset((i, j))
        if key in seen:
            raise ValueError(
                f"edges[{k}] = {(i, j)!r} repeats edges[{seen[key]}]; give each "
                "edge once."
            )
        seen[key] = k
    d = range(1, int(degree) + 1)
    terms = tuple(Pairwise(i, j, a, b) for i, j in pairs for a in d for b in d)
    nodes = sorted({v for e in pairs for v in e})
    return (tuple(Legendre(i, k) for i in nodes for k in d) if unary else ()) + terms


def resolve_features(features, n_features_in: int) -> tuple:
    """The validated tuple of specs for the ``features`` hyper-parameter.

    Parameters
    ----------
    features : str preset or sequence of specs
        A preset: ``"linear"``, ``"quadratic"``, ``"legendre3"`` ... ``"legendre8"``,
        ``"legendre<d>x<k>"`` (d = 2..8, k = 2..4).
        ``"linear"`` is every ``Moment(i)``; ``"quadratic"`` is every
        ``Moment(i)``, then every ``Moment(i, 2)``, then every ``Product(i, j)``
        with ``i < j``; ``"legendre<d>"`` is ``"quadratic"`` followed by every
        ``Legendre(i, k)`` for ``k = 3..d`` (variable by variable);
        ``"legendre<d>x<k>"`` is ``"legendre<d>"`` followed by every
        ``Pairwise(i, j, a, b)`` with ``i < j``, ``1 <= a, b <= k`` and
        ``a + b > 2`` (pair by pair).
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
                "'legendre3' to 'legendre8', 'legendre<d>x<k>' (d = 2..8, k = "
                "2..4), or a sequence of specs from skmaxent.features."
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
                "Product, Indicator, Legendre, Pairwise, Indicator2 or Custom "
                "from skmaxent.features."
            )
        for i in kind_of(spec).columns(spec):
            if i >= n:
                raise ValueError(
                    f"features[{k}] = {spec!r} refers to column {i}, but X has "
                    f"{n} column(s); column indices must lie in [0, {n})."
                )
        key = kind_of(spec).identity(spec)
        if key in seen:
            raise ValueError(
                f"features[{k}] = {spec!r} duplicates features[{seen[key]}] = "
                f"{features[seen[key]]!r}; remove one of them."
            )
        seen[key] = k
    return tuple(features)
