"""Shell-side checks of bounds and target moments (NumPy only, before any tracing).

Every check raises ``ValueError`` whose message names the argument, the bad
value and what was expected, so that no bad input ever reaches JAX.
"""

import functools
from collections.abc import Mapping, Sequence

import numpy as np

from skmaxent.features import Indicator, Legendre, Moment, Product

__all__ = ["check_bounds", "infer_bounds", "check_moments", "check_feasible"]


def _fmt(v) -> str:
    return f"{float(v):.8g}"


def _fmt_row(row) -> str:
    return f"[{_fmt(row[0])}, {_fmt(row[1])}]"


def _not_float32_boxes(B) -> np.ndarray:
    """Rows of ``B`` that overflow, or have ``lo >= hi``, once rounded to float32."""
    with np.errstate(over="ignore"):  # overflow to inf is reported by the caller
        B32 = B.astype(np.float32)
    return ~np.all(np.isfinite(B32), axis=1) | ~(B32[:, 0] < B32[:, 1])


def check_bounds(bounds, n_features_in=None) -> np.ndarray:
    """Validate ``bounds``: array-like ``(n_features_in, 2)``, finite, ``lo < hi``.

    Parameters
    ----------
    bounds : array-like of shape (n_features_in, 2)
        One row ``[lo, hi]`` per variable of ``X``.
    n_features_in : int or None, default=None
        Expected number of rows; ``None`` accepts any positive number.

    Returns
    -------
    bounds : ndarray of shape (n_features_in, 2), float64
        A new array.

    The core computes in float32, so each row must also be finite with
    ``lo < hi`` after rounding to float32.
    """
    try:
        B = np.array(bounds, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "bounds must be a numeric array-like of shape (n_features_in_, 2), "
            f"one [lo, hi] row per column of X; got {bounds!r} ({exc})."
        ) from None
    expected = "(n_features_in_, 2)" if n_features_in is None else (n_features_in, 2)
    if B.ndim != 2 or B.shape[1] != 2 or B.shape[0] == 0:
        raise ValueError(
            f"bounds must have shape {expected}, one [lo, hi] row per column of "
            f"X; got shape {B.shape}. For one variable write [[lo, hi]]."
        )
    if n_features_in is not None and B.shape[0] != n_features_in:
        raise ValueError(
            f"bounds has {B.shape[0]} rows but X has {n_features_in} columns "
            f"(n_features_in_); pass one [lo, hi] row per column, shape {expected}."
        )
    # First bad row, and its first problem: (problem, row) masks, in order.
    bad = np.array(
        [~np.all(np.isfinite(B), axis=1), ~(B[:, 0] < B[:, 1]), _not_float32_boxes(B)]
    )
    if bad.any():
        i = int(np.flatnonzero(bad.any(axis=0))[0])
        problem = (
            "is not finite; every row must be a finite [lo, hi] (the model lives "
            "on a bounded box).",
            "does not have lo < hi; each row is [lo, hi] with lo strictly below hi.",
            "is not a box in float32 (values overflow, or lo and hi round to the "
            "same number), in which the model computes; rescale that column of X.",
        )[int(np.argmax(bad[:, i]))]
        raise ValueError(f"bounds[{i}] = {_fmt_row(B[i])} {problem}")
    return B


def infer_bounds(X, *, margin=0.05) -> np.ndarray:
    """Column-wise ``[min, max]`` of ``X`` widened by ``margin`` times the range.

    The margin (5% on each side by default) keeps held-out points near the
    data's edge inside the box. A constant column (zero range) has no scale of
    its own; it gets ``[v - h, v + h]`` with ``h = margin * max(|v|, 1)``, i.e.
    the margin taken relative to the value's magnitude (or to one unit near
    zero), rather than an error: constant columns are legitimate (a one-row
    fit, a cross-validation fold where a binary column is constant), and the
    model stays well defined on any box that contains the data. Pass
    ``bounds`` explicitly when the physical range is known.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), finite, n_samples >= 1.
    margin : float, default=0.05
        Widening on each side, as a fraction of the column's range.

    Returns
    -------
    bounds : ndarray of shape (n_features, 2), float64
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(
            "Inferring bounds needs X of shape (n_samples >= 1, n_features) with "
            f"positive weight; got shape {X.shape}. Pass bounds explicitly."
        )
    if not np.all(np.isfinite(X)):
        raise ValueError("Inferring bounds needs finite X; X has NaN or inf.")
    lo, hi = X.min(axis=0), X.max(axis=0)
    width = margin * (hi - lo)
    constant = width == 0
    width[constant] = margin * np.maximum(np.abs(lo[constant]), 1.0)
    B = np.stack([lo - width, hi + width], axis=1)
    bad = _not_float32_boxes(B)
    if np.any(bad):
        j = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"Column {j} of X spans [{_fmt(lo[j])}, {_fmt(hi[j])}], a range too "
            "small for its magnitude (or too large) to make a box in float32, in "
            "which the model computes; center or rescale that column, or pass "
            "bounds."
        )
    return B


def check_moments(moments, names: Sequence[str]) -> np.ndarray:
    """Targets in feature order from an array-like ``(p,)`` or a ``{name: value}``.

    Parameters
    ----------
    moments : array-like of shape (p,) or mapping
        Target expectations in feature order, or a value for every feature
        name (all of them, no others; a name that occurs twice in ``names``
        sets every feature of that name).
    names : sequence of str of length p
        Feature names, as ``get_feature_names_out()``.

    Returns
    -------
    moments : ndarray of shape (p,), float64, finite
    """
    names = [str(s) for s in names]
    p = len(names)
    if isinstance(moments, Mapping):
        keys = [str(key) for key in moments]
        values = dict(zip(keys, moments.values()))
        known = set(names)
        unknown = [key for key in keys if key not in known]
        if unknown:
            raise ValueError(
                f"moments has unknown feature name(s) {_some(unknown)}; "
                f"valid names are e.g. {_some(names, 5)} "
                "(see get_feature_names_out())."
            )
        missing = [s for s in dict.fromkeys(names) if s not in values]
        if missing:
            raise ValueError(
                f"moments is missing {len(missing)} feature name(s): "
                f"{_some(missing)}; a dict must give every feature a value."
            )
        raw = [values[s] for s in names]
    else:
        raw = moments
    try:
        mu = np.array(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"moments must be numeric, shape ({p},) in feature order, or a dict "
            f"{{feature name: value}}; got {moments!r} ({exc})."
        ) from None
    if mu.shape != (p,):
        received = f"length {mu.shape[0]}" if mu.ndim == 1 else f"shape {mu.shape}"
        raise ValueError(
            f"moments must have length {p} (n_features_out, one per feature in "
            f"feature order); got {received}."
        )
    bad = np.flatnonzero(~np.isfinite(mu))
    if len(bad):
        k = int(bad[0])
        raise ValueError(
            f"moments[{k}] ({names[k]!r}) = {mu[k]} is not finite; targets must "
            "be finite numbers."
        )
    return mu


def _some(items, n=10) -> str:
    shown = ", ".join(repr(s) for s in items[:n])
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return f"[{shown}]{more}"


def check_feasible(specs, moments, bounds, names=None, *, rtol=1e-9) -> None:
    """Raise ``ValueError`` if no distribution on the box has these targets.

    The checks are necessary conditions, in this order (the first violation
    is reported, naming the feature's index and name and the limit broken):

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

    Limits are closed: a target exactly on one (e.g. an indicator of 0, a mean
    at a face) passes, although only a degenerate limit of densities attains
    it. A target within ``rtol`` times the largest magnitude the quantity
    takes on the box counts as on the limit, so that float64 rounding of an
    exact limit does not raise. Custom features are not checked, and joint
    conditions beyond the ones above (e.g. higher moments, Legendre against
    Moment) are not either.

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

    def fail(k, text):
        raise ValueError(
            f"moments[{k}] ({names[k]!r}) = {_fmt(mu[k])} {text}. No distribution "
            "on the box has these targets: fix the targets or widen bounds."
        )

    box = B.tolist()  # Python floats: the loop below runs once per feature
    for k, spec in enumerate(specs):
        rng = _feature_range(spec, box)
        if rng is None:
            continue
        a, b = rng
        tol = rtol * max(abs(a), abs(b), 1.0)
        if mu[k] < a - tol or mu[k] > b + tol:
            where = (
                f"is not {_fmt(a)}" if a == b else f"is outside [{_fmt(a)}, {_fmt(b)}]"
            )
            fail(k, f"{where}, {_range_reason(spec, box)}")

    scale = np.maximum(np.abs(B).max(axis=1), 1.0)
    mean, second = {}, {}
    for k, spec in enumerate(specs):
        if isinstance(spec, Moment) and spec.power in (1, 2):
            (mean if spec.power == 1 else second).setdefault(spec.i, k)
    for i in sorted(set(mean) & set(second)):
        km, ks = mean[i], second[i]
        m, s = mu[km], mu[ks]
        lo, hi = B[i]
        tol = rtol * scale[i] ** 2
        if s < m * m - tol:
            fail(
                ks,
                f"is below moments[{km}]**2 = {_fmt(m * m)}: no distribution has "
                "a second moment below its squared mean",
            )
        top = (lo + hi) * m - lo * hi
        if s > top + tol:
            fail(
                ks,
                f"is above (lo + hi) * moments[{km}] - lo * hi = {_fmt(top)} for "
                f"bounds[{i}] = {_fmt_row(B[i])}: a variable on [lo, hi] with mean "
                "m has variance at most (hi - m)(m - lo) (Bhatia–Davis)",
            )
    _check_products(specs, mu, B, mean, second, scale, rtol, fail)


def _check_products(specs, mu, B, mean, second, scale, rtol, fail):
    """Corner and Cauchy–Schwarz bounds on ``E[x_i x_j]`` (vectorised)."""
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
        limit = a * m_j + b * m_i - a * b
        bad = np.flatnonzero(sign * (e - limit) < -tol)
        if len(bad):
            n = int(bad[0])
            k, i, j = K[n], I[n], J[n]
            word = "below" if sign > 0 else "above"
            fail(
                k,
                f"is {word} {_fmt(limit[n])} = a*m{j} + b*m{i} - a*b with "
                f"a = {_fmt(a[n])}, b = {_fmt(b[n])} (box corners) and the "
                f"means m{i} = moments[{mean[i]}], m{j} = moments[{mean[j]}]: "
                f"(x{i} - a)(x{j} - b) has one sign on the box, so its "
                "expectation has it too",
            )
    has2 = np.array([i in second and j in second for i, j in zip(I, J)])
    if not np.any(has2):
        return
    K, I, J, m_i, m_j, e, tol = (v[has2] for v in (K, I, J, m_i, m_j, e, tol))
    var_i = np.maximum(mu[[second[i] for i in I]] - m_i**2, 0.0)
    var_j = np.maximum(mu[[second[j] for j in J]] - m_j**2, 0.0)
    cov = e - m_i * m_j
    bound = np.sqrt(var_i * var_j)
    bad = np.flatnonzero(np.abs(cov) > bound + tol)
    if len(bad):
        n = int(bad[0])
        k, i, j = K[n], I[n], J[n]
        fail(
            k,
            f"gives the covariance {_fmt(cov[n])} of x{i} and x{j}, beyond "
            f"sqrt(Var x{i} * Var x{j}) = {_fmt(bound[n])} from "
            f"moments[{mean[i]}], moments[{second[i]}], moments[{mean[j]}] "
            f"and moments[{second[j]}] (Cauchy–Schwarz)",
        )


def _feature_range(spec, B):
    """``(min, max)`` of a feature's expectation on the box ``B``, or ``None``.

    ``B`` is a list of ``[lo, hi]`` rows of Python floats.
    """
    if isinstance(spec, Moment):
        k = spec.power
        lo, hi = B[spec.i]
        a, b = sorted((lo**k, hi**k))
        if k % 2 == 0 and k > 0 and lo <= 0 <= hi:
            a = 0.0
        return a, b
    if isinstance(spec, Product):
        corners = [a * b for a in B[spec.i] for b in B[spec.j]]
        return min(corners), max(corners)
    if isinstance(spec, Legendre):
        return _legendre_min(spec.degree), 1.0
    if isinstance(spec, Indicator):
        lo, hi = B[spec.i]
        meets = max(spec.low, lo) < min(spec.high, hi)
        covers = spec.low <= lo and spec.high >= hi
        return (1.0 if covers else 0.0), (1.0 if meets else 0.0)
    return None  # Custom: unknown range


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
    interval = f"[{_fmt(spec.low)}, {_fmt(spec.high)})"
    a, b = _feature_range(spec, B)
    if b == 0.0:
        return f"as {interval} misses {where} (up to a null set), so it must be 0"
    if a == 1.0:
        return f"as {interval} covers {where} (up to a null set), so it must be 1"
    return "the range of a probability"


@functools.lru_cache(maxsize=64)
def _legendre_min(d: int) -> float:
    """Minimum of the Legendre polynomial ``P_d`` on ``[-1, 1]``."""
    c = np.zeros(d + 1)
    c[d] = 1.0
    crit = np.polynomial.legendre.legroots(np.polynomial.legendre.legder(c))
    t = np.concatenate([[-1.0, 1.0], np.real(crit[np.abs(np.imag(crit)) < 1e-12])])
    return float(np.polynomial.legendre.legval(np.clip(t, -1.0, 1.0), c).min())
