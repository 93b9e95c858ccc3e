"""Necessary conditions on target moments, so that targets no density has raise early.

:func:`check_feasible` runs in the shell on NumPy values, before any tracing
or sampling; :mod:`skmaxent._inputs.validation` re-exports it.
"""

import numpy as np

from skmaxent.core.features import kind_of
from skmaxent.features import Indicator, Indicator2, Legendre, Moment, Pairwise, Product

__all__ = ["check_feasible"]

_OUTSIDE = "No distribution on the box has these targets: fix them or widen bounds."
_ON_LIMIT = (
    "Only a degenerate distribution (all its mass on faces, edges or points of "
    "the box, or none on part of it) has this target, and no max-ent density "
    "(positive on the whole box) does: move the target strictly inside, or "
    "widen bounds."
)


def _fmt(v) -> str:
    return f"{float(v):.8g}"


def _fmt_row(row) -> str:
    return f"[{_fmt(row[0])}, {_fmt(row[1])}]"


def check_feasible(specs, moments, bounds, names=None, *, rtol=1e-9) -> None:
    """Raise ``ValueError`` if no max-ent density on the box has these targets.

    The checks are necessary conditions (the first violation is reported,
    naming the feature's index and name and the limit broken):

    1. Each target lies in the range of its feature on the box: ``x_i^k`` on
       ``[lo_i, hi_i]`` (even powers of a box containing 0 start at 0),
       ``x_i x_j`` between the smallest and largest corner product, a shifted
       Legendre polynomial in ``[min P_d, 1]`` (within ``[-1, 1]``), an
       indicator in ``[0, 1]``; an indicator whose interval misses the box
       (up to measure zero) must be 0 and one covering it must be 1.
    2. For a variable with both ``Moment(i)`` (``m``) and ``Moment(i, 2)``
       (``s``): ``s >= m²`` (Jensen) and ``s <= (lo + hi) m - lo hi``
       (Bhatia–Davis: ``Var <= (hi - m)(m - lo)``).
    3. For ``Product(i, j)`` with both means known, the four corner bounds
       ``E[(x_i - a)(x_j - b)] >= 0`` (or ``<= 0``) for ``a, b`` box
       corners; with both second moments known too,
       ``|E[x_i x_j] - m_i m_j| <= sqrt(Var_i Var_j)`` (Cauchy–Schwarz).

    Targets beyond a limit are reported first (no distribution has them),
    then targets on one: limits are open, because only a degenerate
    distribution attains one (a mean on a face is a point mass there, a
    variance of 0 a point mass, an indicator of 0 leaves part of the box
    empty, Cauchy–Schwarz with equality puts the mass on a line), and a
    max-ent density is positive on the whole box. A target within ``rtol``
    times the largest magnitude the quantity takes on the box counts as on
    the limit; the test is relative, so units do not matter. Custom features
    are not checked, and joint conditions beyond the ones above (e.g. higher
    moments, Legendre against Moment) are not either.

    Parameters
    ----------
    specs : sequence of feature specs, length p.
    moments : ndarray of shape (p,), finite (see :func:`check_moments`).
    bounds : ndarray of shape (n, 2) (see :func:`check_bounds`).
    names : sequence of str, default=None
        Feature names for the messages; ``repr(spec)`` when ``None``.
    rtol : float, default=1e-9
        Relative tolerance of a limit (see above).
    """
    mu = np.asarray(moments, dtype=np.float64)
    B = np.asarray(bounds, dtype=np.float64)
    if names is None:
        names = [repr(s) for s in specs]
    mean, second = {}, {}
    for k, spec in enumerate(specs):
        if isinstance(spec, Moment) and spec.power in (1, 2):
            (mean if spec.power == 1 else second).setdefault(spec.i, k)
    scale = _scales(B, mu, mean, second)
    for on_limit in (False, True):

        def bad(margin, tol, on_limit=on_limit):
            """Elementwise: ``margin`` (distance inside the limit) violates it."""
            return margin <= tol if on_limit else margin < -tol

        def fail(k, text, on_limit=on_limit):
            raise ValueError(
                f"moments[{k}] ({names[k]!r}) = {_fmt(mu[k])} {text}. "
                + (_ON_LIMIT if on_limit else _OUTSIDE)
            )

        word = ("is at", "is at") if on_limit else ("is below", "is above")
        _check_ranges(specs, mu, B.tolist(), rtol, bad, fail, on_limit)
        report = (rtol, bad, fail, word)
        _check_variances(mu, B, mean, second, scale, report)
        _check_products(specs, mu, B, mean, second, scale, report)


def _scales(B, mu, mean, second) -> np.ndarray:
    """Magnitude of each variable for relative tolerances (finite, > 0).

    The largest finite bound; on an open side also the target mean's and
    root second moment's magnitudes (so that units do not matter there
    either).
    """
    finite = np.where(np.isfinite(B), np.abs(B), 0.0).max(axis=1)
    for i in range(B.shape[0]):
        if np.all(np.isfinite(B[i])):
            continue
        extra = [abs(mu[mean[i]])] if i in mean else []
        extra += [np.sqrt(abs(mu[second[i]]))] if i in second else []
        finite[i] = max([finite[i], *extra])
    return np.where(finite > 0, finite, 1.0)


def _finite_max(*values) -> float:
    """Largest finite magnitude among ``values`` (1.0 if there is none)."""
    finite = [abs(v) for v in values if np.isfinite(v) and v != 0]
    return max(finite) if finite else 1.0


def _check_ranges(specs, mu, box, rtol, bad, fail, on_limit):
    """Each target within its feature's range (``box``: rows of Python floats)."""
    for k, spec in enumerate(specs):
        rng = _feature_range(spec, box)
        if rng is None:
            continue
        a, b = rng
        if a == b:  # a constant feature (the estimators reject it before)
            if not on_limit and abs(mu[k] - a) > rtol * max(abs(a), 1.0):
                fail(k, f"is not {_fmt(a)}, {_range_reason(spec, box)}")
            continue
        tol = rtol * _finite_max(a, b, mu[k])
        if bad(min(mu[k] - a, b - mu[k]), tol):
            if on_limit:
                limit = a if mu[k] - a <= b - mu[k] else b
                where = f"is at the limit {_fmt(limit)} of [{_fmt(a)}, {_fmt(b)}]"
            else:
                where = f"is outside [{_fmt(a)}, {_fmt(b)}]"
            fail(k, f"{where}, {_range_reason(spec, box)}")


def _check_variances(mu, B, mean, second, scale, report):
    """Jensen and Bhatia–Davis for variables with a mean and a second moment;
    ``report`` is ``(rtol, bad, fail, word)`` (see :func:`check_feasible`)."""
    rtol, bad, fail, word = report
    for i in sorted(set(mean) & set(second)):
        km, ks = mean[i], second[i]
        m, s = mu[km], mu[ks]
        lo, hi = B[i]
        tol = rtol * scale[i] ** 2
        if bad(s - m * m, tol):
            fail(
                ks,
                f"{word[0]} moments[{km}]**2 = {_fmt(m * m)}: no distribution has "
                "a second moment below its squared mean, and only a point mass "
                "has one equal to it",
            )
        if not (np.isfinite(lo) and np.isfinite(hi)):
            continue  # Bhatia–Davis bounds the variance on a box only
        top = (lo + hi) * m - lo * hi
        if bad(top - s, tol):
            fail(
                ks,
                f"{word[1]} (lo + hi) * moments[{km}] - lo * hi = {_fmt(top)} for "
                f"bounds[{i}] = {_fmt_row(B[i])}: a variable on [lo, hi] with mean "
                "m has variance at most (hi - m)(m - lo) (Bhatia–Davis)",
            )


def _check_products(specs, mu, B, mean, second, scale, report):
    """Corner and Cauchy–Schwarz bounds on ``E[x_i x_j]`` (vectorised);
    ``report`` as in :func:`_check_variances`."""
    rtol, bad, fail, word = report
    rows = [
        (k, s.i, s.j)
        for k, s in enumerate(specs)
        if isinstance(s, Product) and s.i in mean and s.j in mean
    ]
    if not rows:
        return
    K, I, J = (np.array(c, dtype=int) for c in zip(*rows))
    m_i = mu[[mean[i] for i in I]]
    m_j = mu[[mean[j] for j in J]]
    e = mu[K]
    tol = rtol * scale[I] * scale[J]
    for ci, cj in ((0, 0), (0, 1), (1, 0), (1, 1)):
        # (x_i - a)(x_j - b) >= 0 on the box when a, b are both lows or both
        # highs, <= 0 otherwise; so is its expectation.
        a, b = B[I, ci], B[J, cj]
        sign = 1.0 if ci == cj else -1.0
        corner = np.isfinite(a) & np.isfinite(b)  # open corners bound nothing
        with np.errstate(invalid="ignore"):
            limit = np.where(corner, a * m_j + b * m_i - a * b, 0.0)
        hit = np.flatnonzero(corner & bad(sign * (e - limit), tol))
        if len(hit):
            n = int(hit[0])
            k, i, j = K[n], I[n], J[n]
            fail(
                k,
                f"{word[0] if sign > 0 else word[1]} {_fmt(limit[n])} = a*m{j} + "
                f"b*m{i} - a*b with a = {_fmt(a[n])}, b = {_fmt(b[n])} (box "
                f"corners) and the means m{i} = moments[{mean[i]}], m{j} = "
                f"moments[{mean[j]}]: (x{i} - a)(x{j} - b) has one sign on the "
                "box, so its expectation has it too",
            )
    has2 = np.array([i in second and j in second for i, j in zip(I, J)])
    if not np.any(has2):
        return
    K, I, J, m_i, m_j, e, tol = (v[has2] for v in (K, I, J, m_i, m_j, e, tol))
    var_i = np.maximum(mu[[second[i] for i in I]] - m_i**2, 0.0)
    var_j = np.maximum(mu[[second[j] for j in J]] - m_j**2, 0.0)
    cov = e - m_i * m_j
    bound = np.sqrt(var_i * var_j)
    hit = np.flatnonzero(bad(bound - np.abs(cov), tol))
    if len(hit):
        n = int(hit[0])
        k, i, j = K[n], I[n], J[n]
        at = word[0] == "is at"
        fail(
            k,
            f"gives the covariance {_fmt(cov[n])} of x{i} and x{j}, "
            f"{'at' if at else 'beyond'} sqrt(Var x{i} * Var x{j}) = "
            f"{_fmt(bound[n])} from moments[{mean[i]}], moments[{second[i]}], "
            f"moments[{mean[j]}] and moments[{second[j]}] (Cauchy–Schwarz"
            + ("; only mass on a line attains it)" if at else ")"),
        )


def _feature_range(spec, B):
    """``(min, max)`` of a feature's expectation on the box ``B``, or ``None``.

    ``B`` is a list of ``[lo, hi]`` rows of Python floats; the rule is the
    kind's (:meth:`skmaxent.core.features.base.Kind.range`), ``None`` where
    the range is unknown (Custom).
    """
    return kind_of(spec).range(spec, B)


def _range_reason(spec, B) -> str:
    """Why :func:`_feature_range` gives what it gives, for the message."""
    where = f"bounds[{spec.i}] = {_fmt_row(B[spec.i])}"
    if isinstance(spec, Moment):
        power = "" if spec.power == 1 else f"^{spec.power}"
        return f"the range of x{spec.i}{power} on {where}"
    if isinstance(spec, Product):
        return (
            f"the range of x{spec.i}*x{spec.j} on {where} x bounds[{spec.j}] = "
            f"{_fmt_row(B[spec.j])}"
        )
    if isinstance(spec, Legendre):
        return (
            f"the range of the shifted Legendre polynomial of degree "
            f"{int(spec.degree)} on [0, 1]"
        )
    if isinstance(spec, Pairwise):
        return (
            f"the range of a product of shifted Legendre polynomials of degrees "
            f"{int(spec.a)} and {int(spec.b)} on [0, 1]"
        )
    if isinstance(spec, Indicator2):
        interval = (
            f"[{_fmt(spec.box_i[0])}, {_fmt(spec.box_i[1])}) x "
            f"[{_fmt(spec.box_j[0])}, {_fmt(spec.box_j[1])})"
        )
        where = f"{where} x bounds[{spec.j}] = {_fmt_row(B[spec.j])}"
    elif isinstance(spec, Indicator):
        interval = f"[{_fmt(spec.low)}, {_fmt(spec.high)})"
    else:  # a kind without its own wording
        return f"the range of {spec!r} on the box"
    a, b = _feature_range(spec, B)
    if b == 0.0:
        return f"as {interval} misses {where} (up to a null set), so it must be 0"
    if a == 1.0:
        return f"as {interval} covers {where} (up to a null set), so it must be 1"
    return "the range of a probability"
