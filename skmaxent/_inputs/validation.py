"""Shell-side checks of bounds and target moments (NumPy only, before any tracing).

Every check raises ``ValueError`` whose message names the argument, the bad
value and what was expected, so that no bad input ever reaches JAX. The
feasibility of targets lives in :mod:`skmaxent._inputs.feasibility` and is
re-exported here.
"""

from collections.abc import Mapping, Sequence

import numpy as np

from skmaxent._inputs.feasibility import _fmt, _fmt_row, check_feasible

__all__ = ["check_bounds", "infer_bounds", "check_moments", "check_feasible"]


def _not_float32_boxes(B) -> np.ndarray:
    """Rows of ``B`` whose finite ends overflow, or with ``lo >= hi``, in float32."""
    with np.errstate(over="ignore"):  # overflow to inf is reported by the caller
        B32 = B.astype(np.float32)
    overflow = np.isfinite(B) & ~np.isfinite(B32)
    return np.any(overflow, axis=1) | ~(B32[:, 0] < B32[:, 1])


def check_bounds(bounds, n_features_in=None) -> np.ndarray:
    """Validate ``bounds``: array-like ``(n_features_in, 2)``, ``lo < hi``.

    ``lo`` may be ``-inf`` and ``hi`` ``+inf`` (a support open on that side);
    NaN, ``lo = +inf`` and ``hi = -inf`` are errors.

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
    wrong_inf = np.isnan(B).any(axis=1) | (B[:, 0] == np.inf) | (B[:, 1] == -np.inf)
    bad = np.array([wrong_inf, ~(B[:, 0] < B[:, 1]), _not_float32_boxes(B)])
    if bad.any():
        i = int(np.flatnonzero(bad.any(axis=0))[0])
        problem = (
            "is not a [lo, hi] row of numbers with lo < +inf and hi > -inf "
            "(lo may be -inf and hi +inf for a support open on that side; NaN "
            "is not allowed).",
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
