"""Supports open on one or both sides: existence checks and the finite reference box.

A variable may live on ``[lo, hi]``, ``[lo, inf)``, ``(-inf, hi]`` or the
whole line. The chains still move in unit coordinates ``u = (x - a) / (b -
a)`` of a finite *reference box* ``[a, b]`` (the box itself where both walls
are finite; the data's or the targets' centre plus or minus three spreads
where a side is open), reflecting only at the finite walls (codes of
:func:`skmaxent.core.sampling.hmc.reflect`). Everything here is NumPy, before tracing.
"""

import numpy as np

from skmaxent._inputs.feasibility import _fmt_row
from skmaxent._inputs.validation import infer_bounds
from skmaxent.core.energy import Geometry
from skmaxent.core.features import Growth, kind_of
from skmaxent.core.sampling.hmc import BOX

__all__ = [
    "walls_of",
    "check_support",
    "confinement",
    "infer_support",
    "reference_box",
    "reference_coef",
    "box_geometry",
    "clip_unit",
]

#: Half-width of the reference box of an open axis, in spreads of the variable.
_SPREADS = 3.0


def walls_of(bounds) -> np.ndarray | None:
    """Wall codes (n,) int32 of ``bounds``; ``None`` when every side is finite."""
    lower = np.isfinite(bounds[:, 0])
    upper = np.isfinite(bounds[:, 1])
    if np.all(lower & upper):
        return None
    return (lower * 1 + upper * 2).astype(np.int32)


def _powers(specs):
    """``{i: {power k: index of the feature x_i^k}}`` (Moment), by growth rule."""
    powers = {}
    for k, spec in enumerate(specs):
        growth = kind_of(spec).growth(spec)
        if isinstance(growth, tuple) and len(growth) == 1:
            ((i, power),) = growth
            powers.setdefault(i, {})[power] = k
    return powers


def _couplings(specs):
    """``[(k, i, j)]`` of the features growing as ``x_i x_j`` (Product)."""
    out = []
    for k, spec in enumerate(specs):
        growth = kind_of(spec).growth(spec)
        if isinstance(growth, tuple) and len(growth) == 2:
            (i, _), (j, _) = growth
            out.append((k, i, j))
    return out


def _unknown_growth(specs) -> bool:
    """Whether a feature's growth on an open support is unknown (Custom)."""
    return any(kind_of(s).growth(s) == Growth.UNKNOWN for s in specs)


def check_support(specs, bounds, names) -> None:
    """Raise ``ValueError`` when no max-ent density can exist on an open axis.

    On an axis open on both sides the density ``exp(coef·f)`` is normalisable
    only with a confining feature: this package asks for the second moment
    ``Moment(i, 2)`` (with the mean alone, ``exp(c x)`` is not integrable on
    the line). On an axis open on one side a mean or a second moment
    suffices (the exponential, the half-Gaussian). Legendre features are
    bounded (constant beyond the reference interval) and do not confine.
    """
    walls = walls_of(bounds)
    if walls is None:
        return
    if _unknown_growth(specs):
        raise ValueError(
            "Custom features need finite bounds: their growth on an open "
            "support is unknown, so a normalisable density cannot be checked; "
            f"got bounds = {bounds.tolist()}."
        )
    _check_products(specs, bounds, names, walls)
    powers = _powers(specs)
    for i in np.flatnonzero(walls != BOX):
        i = int(i)
        where = f"bounds[{i}] = {_fmt_row(bounds[i])}"
        have = powers.get(i, {})
        top = max(have, default=0)
        if walls[i] == 0 and top % 2:
            raise ValueError(
                f"{where}: x{i} is unbounded on both sides, and its highest "
                f"power among the features, Moment({i}, {top}), is odd: "
                f"exp(coef x^{top}) is not normalisable on the line. Add "
                f"Moment({i}, {top + 1}) or give x{i} finite bounds."
            )
        if walls[i] == 0 and 2 not in have:
            raise ValueError(
                f"{where}: x{i} is unbounded on both sides, where a max-ent "
                f"density needs the second moment Moment({i}, 2) among the "
                "features to be normalisable (a mean alone has none): add it, "
                f"or give x{i} finite bounds."
            )
        if walls[i] != 0 and not ({1, 2} & set(have)):
            raise ValueError(
                f"{where}: x{i} is unbounded on one side, where a max-ent "
                f"density needs its mean Moment({i}) or second moment "
                f"Moment({i}, 2) among the features to be normalisable: add "
                f"one, or give x{i} finite bounds."
            )


def _check_products(specs, bounds, names, walls) -> None:
    """A product with an open axis needs that axis's square (or higher) too."""
    powers = _powers(specs)
    for k, *axes in _couplings(specs):
        for i in axes:
            if walls[i] != BOX and max(powers.get(i, {}), default=0) < 2:
                raise ValueError(
                    f"features[{k}] ({names[k]!r}) multiplies x{i}, unbounded "
                    f"on bounds[{i}] = {_fmt_row(bounds[i])}, whose features "
                    f"lack Moment({i}, 2): the product can outgrow the rest and "
                    f"leave no normalisable density. Add Moment({i}, 2)."
                )


def confinement(specs, coef, bounds) -> str | None:
    """Why ``exp(coef · f)`` is not normalisable on the open axes, or ``None``.

    Per open axis, the highest power's coefficient must decay away from the
    finite walls (negative for an even power; for an odd power negative on
    ``[lo, inf)`` and positive on ``(-inf, hi]``). Among the axes whose
    highest power is 2, the quadratic form of those on the whole line must
    be negative definite, and each one with a wall must not grow once the
    line's axes are integrated out (its Schur complement's diagonal). These
    are exact for one open axis and for Gaussians on the line; with several
    walled axes coupled by products they are necessary, not sufficient.
    Bounded features (Indicator) do not matter.
    """
    walls = walls_of(bounds)
    if walls is None:
        return None
    powers = _powers(specs)
    quad = []
    for i in map(int, np.flatnonzero(walls != BOX)):
        have = powers.get(i, {})
        top = max(have)
        c = coef[have[top]]
        decays = c < 0 if (top % 2 == 0 or walls[i] == 1) else c > 0
        if top == 2:
            quad.append(i)
        elif not decays:
            return f"the coefficient of x{i}^{top} is {c:.3g}, which does not decay"
    if not quad:
        return None
    pos = {i: a for a, i in enumerate(quad)}
    Q = np.zeros((len(quad), len(quad)))
    for i in quad:
        Q[pos[i], pos[i]] = -coef[powers[i][2]]
    for k, i, j in _couplings(specs):
        if i in pos and j in pos:
            a, b = pos[i], pos[j]
            Q[a, b] = Q[b, a] = Q[a, b] - coef[k] / 2
    line = np.array([walls[i] == 0 for i in quad])
    Q_ll = Q[np.ix_(line, line)]
    if line.any() and np.linalg.eigvalsh(Q_ll).min() <= 0:
        names = [i for i in quad if walls[i] == 0]
        return (
            f"the quadratic form of x{names} (their squares and products) is not "
            "negative definite"
        )
    Q_hl = Q[np.ix_(~line, line)]
    schur = np.diag(Q)[~line]
    if line.any():
        schur = schur - np.einsum("ij,ji->i", Q_hl, np.linalg.solve(Q_ll, Q_hl.T))
    for i, s in zip((i for i in quad if walls[i] != 0), schur):
        if s < 0:
            return f"x{i}^2 grows once the unbounded axes are integrated out"
    return None


def infer_support(specs, X) -> np.ndarray:
    """``bounds=None`` for data ``X``: unbounded where the features allow it.

    An axis is the whole line when the features hold its second moment ``Moment(i, 2)``,
    its highest power is even, the column varies (a density on the line has a positive
    variance), there is no Custom feature (whose growth is unknown), and, where products
    couple such columns, their correlation matrix is non-singular (a Gaussian tail
    exists; not so with fewer rows than columns); otherwise it is the data's range
    widened by 5% on each side (:func:`skmaxent._inputs.validation.infer_bounds`),
    outside which the density is zero. So with the default ``"quadratic"`` features no
    held-out row is ever outside the support.
    """
    B = infer_bounds(X)
    if _unknown_growth(specs):
        return B
    powers = _powers(specs)
    varies = np.ptp(X, axis=0) > 0
    open_ = [
        i
        for i in range(B.shape[0])
        if 2 in powers.get(i, {}) and max(powers[i]) % 2 == 0 and varies[i]
    ]
    if _coupled(specs, open_) and not _full_rank(X[:, open_]):
        return B  # e.g. fewer rows than columns: no Gaussian tails exist
    B[open_] = (-np.inf, np.inf)
    return B


def _coupled(specs, axes) -> bool:
    """Whether a Product couples two of ``axes``."""
    axes = set(axes)
    return any(i in axes and j in axes for _, i, j in _couplings(specs))


def _full_rank(X, rtol=1e-8) -> bool:
    """Whether the correlation matrix of the columns of ``X`` is non-singular."""
    if X.shape[1] < 2:
        return True
    corr = np.corrcoef(X, rowvar=False)
    return bool(np.all(np.isfinite(corr)) and np.linalg.eigvalsh(corr).min() > rtol)


def _centre_spread(i, specs, mu, X, w):
    """Centre and spread of variable ``i`` from the data or from the targets."""
    if X is not None:
        c = float(np.average(X[:, i], weights=w))
        s = float(np.sqrt(np.average((X[:, i] - c) ** 2, weights=w)))
        return c, s
    have = _powers(specs).get(i, {})
    m1 = mu[have[1]] if 1 in have else None
    m2 = mu[have[2]] if 2 in have else None
    if m2 is not None:
        c = 0.0 if m1 is None else float(m1)
        return c, float(np.sqrt(max(m2 - c * c, 0.0)))
    return float(m1), None  # a mean only: the wall gives the spread


def reference_box(specs, bounds, mu, X=None, w=None) -> np.ndarray:
    """The finite box (n, 2) whose unit coordinates the chains move in.

    ``bounds`` on axes with two finite walls. On an open axis with centre
    ``c`` and spread ``s`` (weighted mean and standard deviation of ``X``, or
    from the targets ``E[x]`` and ``E[x²]``): ``c ± 3 s`` on the line, and
    ``[lo, c + 3 s]`` (``[c - 3 s, hi]``) with one wall, ``s`` then at least
    the mean's distance to the wall. Raises ``ValueError`` when the spread is
    zero (a constant column: no density on an open axis has variance 0).
    """
    box = np.array(bounds, dtype=np.float64)
    walls = walls_of(bounds)
    if walls is None:
        return box
    for i in np.flatnonzero(walls != BOX):
        i = int(i)
        c, s = _centre_spread(i, specs, mu, X, w)
        lo, hi = bounds[i]
        if np.isfinite(lo) or np.isfinite(hi):
            wall = lo if np.isfinite(lo) else hi
            s = max(s or 0.0, abs(c - wall))
        if not (s > 0 and np.isfinite(s)):
            what = "a constant column of X" if X is not None else "a point mass"
            raise ValueError(
                f"x{i} has spread 0 ({what}) on the open support bounds[{i}] "
                f"= {_fmt_row(bounds[i])}: no density there has that; give "
                "finite bounds or drop the column."
            )
        a, b = c - _SPREADS * s, c + _SPREADS * s
        box[i] = (max(a, lo), min(b, hi))
    return box


def reference_coef(specs, box, bounds) -> np.ndarray:
    """``coef`` (p,) of the start on open axes (zero on the others).

    ``coef = 0`` is not a density where a side is open; the start is then,
    per open axis, the Gaussian with the reference box's centre and a sixth
    of its width as standard deviation (line), or the exponential with a
    quarter of its width as scale (``Moment(i)`` present; else a Gaussian
    with that scale), decaying away from the wall.
    """
    coef = np.zeros(len(specs))
    walls = walls_of(bounds)
    if walls is None:
        return coef
    powers = _powers(specs)
    for i in np.flatnonzero(walls != BOX):
        i = int(i)
        have, (a, b) = powers.get(i, {}), box[i]
        if walls[i] == 0:
            sd, c = (b - a) / (2 * _SPREADS), (a + b) / 2
            coef[have[2]] = -0.5 / sd**2
            if 1 in have:
                coef[have[1]] = c / sd**2
            continue
        lam, sign = (b - a) / 4, (1.0 if walls[i] == 1 else -1.0)
        if 1 in have:
            coef[have[1]] = -sign / lam
        else:
            coef[have[2]] = -0.5 / lam**2
    return coef


def box_geometry(box):
    """``box`` (n, 2) as the ``low`` and ``high`` of a
    :class:`~skmaxent.core.energy.Geometry` (its other fields None): enough
    for :func:`~skmaxent.core.energy.to_unit` and
    :func:`~skmaxent.core.energy.to_user` on the host, in the box's dtype."""
    return Geometry(box[:, 0], box[:, 1], None, None, None)


def clip_unit(bounds, u):
    """Unit coordinates ``u`` moved into the support (finite walls only)."""
    lo = np.where(np.isfinite(bounds[:, 0]), 0.0, -np.inf)
    hi = np.where(np.isfinite(bounds[:, 1]), 1.0, np.inf)
    return np.clip(u, lo, hi)
