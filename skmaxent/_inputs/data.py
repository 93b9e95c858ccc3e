"""From the user's input to a fit's targets: X or moments checked, the feature map, mu.

Shell-side glue of the chain estimators (NumPy, one jitted core call per
block of rows), apart from the estimator class so that each module keeps to
one concept.
"""

import re
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.utils.validation import _check_sample_weight, validate_data

from skmaxent._inputs.arrays import pad
from skmaxent._inputs.support import check_support, infer_support, reference_box
from skmaxent._inputs.validation import (
    check_bounds,
    check_feasible,
    check_moments,
    infer_bounds,
)
from skmaxent.core import programs
from skmaxent.features import Custom, compile_features, resolve_features

__all__ = [
    "validate_X",
    "InputSpec",
    "FitInputs",
    "check_one_of",
    "read_inputs",
    "feature_values",
    "feature_means",
    "row_blocks",
]

#: Feature standard deviations on the box at or below this fraction of the
#: feature's mean magnitude count as zero (constant feature). Relative, so
#: that units do not matter: x on [0, 1e-12] is as variable as on [0, 1].
_CONSTANT_RTOL = 1e-12
#: Feature sizes (on the box) float32 holds with room for sums and squares.
_FLOAT32_RANGE = (1e-30, 1e30)


@programs.jit(static_argnames=("fm",))
def _values_batch(X, low, high, fm):
    return fm.values_batch(X, low, high)


@programs.jit(static_argnames=("fm",))
def _weighted_sum(X, w, low, high, fm):
    return fm.mean(X, low, high, w)


def validate_X(est, X, *, reset: bool, dtype=(np.float64, np.float32)):
    """``validate_data(est, X)``, with every error message naming ``X``.

    scikit-learn's own messages are kept (its conformance checks match them);
    those that do not say what they refer to ("could not convert string to
    float", "Expected 2D array") get the prefix ``X: ``.
    """
    try:
        return validate_data(est, X, dtype=list(dtype), reset=reset)
    except (ValueError, TypeError) as exc:
        if re.search(r"\bX\b", str(exc)):
            raise
        cls = TypeError if isinstance(exc, TypeError) else ValueError
        raise cls(
            f"X must be a numeric array-like or DataFrame of shape (n_samples, "
            f"n_features) with finite values: {exc}"
        ) from exc


def _check_weights(sample_weight, X):
    """``sample_weight`` as float64 ``(n_samples,)``: finite, non-negative, not all 0.

    A negative weight has no meaning for a mean of features (it can put the
    targets outside the box), as in :class:`sklearn.neighbors.KernelDensity`.
    Returned divided by its largest entry (a new array).
    """
    try:
        w = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
    except (ValueError, TypeError) as exc:
        if "sample_weight" in str(exc):
            raise
        cls = TypeError if isinstance(exc, TypeError) else ValueError
        raise cls(
            f"sample_weight must be finite, non-negative and not all zero, of "
            f"shape (n_samples,) = ({X.shape[0]},): {exc}"
        ) from exc
    return w / w.max()  # only ratios matter; no overflow in sums of 1e308s


def row_blocks(X, block: int):
    """``(start, m, padded)`` over ``X`` in float32 blocks of ``block`` rows.

    Padding every block to the same size lets one compiled function serve
    inputs of any length; ``m`` rows of each block are real.
    """
    for start in range(0, X.shape[0], block):
        rows = np.asarray(X[start : start + block], dtype=np.float32)
        yield start, rows.shape[0], pad(rows, block)


def _box32(bounds):
    # NumPy, not jnp: a jitted call takes it as is, an eager conversion would
    # compile a program of its own.
    return (
        np.asarray(bounds[:, 0], np.float32),
        np.asarray(bounds[:, 1], np.float32),
    )


def feature_values(fm, X, bounds, block: int = 1024) -> np.ndarray:
    """``f(X)`` as float64 (N, p), computed in fixed-size row blocks.

    Each row's features are computed elementwise, so results do not depend
    on the block a row comes in.
    """
    low, high = _box32(bounds)
    out = np.empty((X.shape[0], fm.n_features_out), dtype=np.float64)
    for start, m, padded in row_blocks(X, block):
        F = _values_batch(padded, low, high, fm)
        out[start : start + m] = np.asarray(F, dtype=np.float64)[:m]
    return out


def feature_means(fm, X, weights, bounds, block: int = 1024) -> np.ndarray:
    """Weighted feature means of the rows of ``X`` without an ``(N, p)`` matrix.

    The feature map's matrix form (``Xᵀ diag(w) X`` for products) on row
    blocks (zero-weight padding), summed in float64 across blocks.
    """
    low, high = _box32(bounds)
    w = np.asarray(weights, np.float64) / np.sum(weights)
    total = np.zeros(fm.n_features_out)
    for start, m, padded in row_blocks(X, block):
        wb = np.zeros(block, np.float32)
        wb[:m] = w[start : start + m]
        total += np.asarray(_weighted_sum(padded, wb, low, high, fm), np.float64)
    return total


class InputSpec(NamedTuple):
    """The estimator parameters that decide how a fit's input is read.

    features : the ``features`` parameter (a preset name or specs).
    bounds : the ``bounds`` parameter (None, or (n, 2) array-like).
    open_supports : whether supports open on some side are fitted (else a
        box: ``bounds=None`` with data is the data's range).
    init : the ``init`` parameter.
    name : the estimator's class name, for messages.
    """

    features: object
    bounds: object
    open_supports: bool
    init: str
    name: str


class FitInputs(NamedTuple):
    """A fit's input, read and checked (:func:`read_inputs`).

    fm : the :class:`~skmaxent.core.features.feature_map.FeatureMap`.
    bounds : (n, 2) the support (sides may be open).
    box : (n, 2) the finite reference box of the chains' unit coordinates.
    mu : (p,) the targets: the weighted feature means of ``X``, or ``moments``.
    X, weights : the data and its weights (divided by the largest), or None.
    n_features_in : the number of variables.
    """

    fm: object
    bounds: np.ndarray
    box: np.ndarray
    mu: np.ndarray
    X: np.ndarray | None
    weights: np.ndarray | None
    n_features_in: int


def _data_bounds(spec: InputSpec, X, sample_weight, specs):
    """The support for data ``X``: given (every weighted row inside) or inferred
    (:func:`skmaxent._inputs.support.infer_support`)."""
    if spec.bounds is None and not spec.open_supports:
        return infer_bounds(X[sample_weight > 0])
    if spec.bounds is None:
        return infer_support(specs, X[sample_weight > 0])
    bounds = _closed(spec, check_bounds(spec.bounds, X.shape[1]))
    outside = np.any((X < bounds[:, 0]) | (X > bounds[:, 1]), axis=1)
    outside &= sample_weight > 0
    if np.any(outside):
        i = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"X has {int(outside.sum())} row(s) outside bounds, e.g. row {i} = "
            f"{X[i].tolist()}; bounds = {bounds.tolist()}. Widen bounds or drop "
            "those rows: nothing is clipped silently."
        )
    return bounds


def _closed(spec: InputSpec, bounds):
    """``bounds``, if the estimator takes open supports or they are finite."""
    if spec.open_supports or np.all(np.isfinite(bounds)):
        return bounds
    i = int(np.flatnonzero(~np.all(np.isfinite(bounds), axis=1))[0])
    raise ValueError(
        f"bounds[{i}] = {bounds[i].tolist()}: {spec.name} needs finite "
        "bounds (a box); MaxEntDual fits supports open on one or both sides."
    )


def _moment_bounds(spec: InputSpec, sample_weight):
    if sample_weight is not None:
        raise ValueError("sample_weight applies to X; fit(moments=...) got it.")
    if spec.bounds is None:
        raise ValueError(
            "fit(moments=...) requires bounds: pass bounds=array-like of "
            "shape (n_features_in_, 2) with lo < hi on each row."
        )
    return _closed(spec, check_bounds(spec.bounds, None))


def _check_features_on_box(fm, bounds):
    """Reject features that are not finite, constant, or out of float32's range.

    Uses the features' mean and standard deviation under the uniform law on
    the box (Monte Carlo for Custom features). Constant means a standard
    deviation at most ``_CONSTANT_RTOL`` times the mean's magnitude: a
    relative test, so that a box of width 1e-12 fits like one of width 1.
    The features' size, ``max(|mean|, std)``, must lie in ``_FLOAT32_RANGE``
    (``x**4`` on a box of width 1e-12 would underflow in float32).
    """
    mean, std = fm.uniform_moments(bounds[:, 0], bounds[:, 1])
    bad = np.flatnonzero(~(np.isfinite(mean) & np.isfinite(std)))
    if bad.size:
        k = int(bad[0])
        raise ValueError(
            f"features[{k}] ({fm.names[k]!r}) is not finite on the box "
            f"{bounds.tolist()}: it gives NaN or inf at some points of it (its "
            f"uniform mean is {float(mean[k])}). A feature must be finite on the "
            "whole box: change its fn (e.g. guard a log or a division with "
            "jnp.where) or narrow bounds."
        )
    constant = np.flatnonzero(~(std > _CONSTANT_RTOL * np.abs(mean)))
    if constant.size:
        k = int(constant[0])
        raise ValueError(
            f"features[{k}] ({fm.names[k]!r}) is constant on the box "
            f"{bounds.tolist()} (a degree-0 Legendre polynomial, an indicator "
            "covering or missing the whole range, or a constant Custom fn): its "
            "expectation is fixed, so it cannot be a constraint. Remove it from "
            "features."
        )
    size = np.maximum(np.abs(mean), std)
    bad = np.flatnonzero((size < _FLOAT32_RANGE[0]) | (size > _FLOAT32_RANGE[1]))
    if bad.size:
        k = int(bad[0])
        raise ValueError(
            f"features[{k}] ({fm.names[k]!r}) takes values of size "
            f"{float(size[k]):.2g} on the box {bounds.tolist()}, beyond the "
            "range float32 (in which the chains compute) represents well, "
            f"{_FLOAT32_RANGE[0]:g} to {_FLOAT32_RANGE[1]:g}: rescale X and "
            "bounds, or use a Legendre feature (defined on the box)."
        )


def _first_line(exc) -> str:
    return (str(exc).splitlines() or [""])[0]


def _check_custom(specs, n: int):
    """Trace every Custom fn once, abstractly, naming the one JAX cannot trace.

    ``jax.eval_shape`` runs ``fn`` on an abstract point of shape ``(n,)``
    (float32, nothing is computed), and so does its gradient, which HMC
    needs: NumPy or ``math`` calls, Python ``if`` on values of ``x``, or a
    non-scalar result fail here with a message naming the feature, instead of
    a JAX error deep in a compiled fit.
    """
    point = jax.ShapeDtypeStruct((n,), jnp.float32)
    for k, spec in enumerate(specs):
        if not isinstance(spec, Custom):
            continue
        where = f"features[{k}] = Custom(name={spec.name!r})"
        try:
            out = jax.eval_shape(spec.fn, point)
        except Exception as exc:
            raise TypeError(
                f"{where}: JAX cannot trace its fn at a point x of shape ({n},): "
                f"{type(exc).__name__}: {_first_line(exc)} Write fn with "
                "jax.numpy (jnp), not numpy or math, and with jnp.where instead "
                "of Python if on values of x."
            ) from exc
        if getattr(out, "shape", None) != ():
            raise ValueError(
                f"{where}: its fn must return a scalar for one point x of shape "
                f"({n},); it returned {out!r}."
            )
        try:
            jax.eval_shape(
                jax.grad(lambda x, f=spec.fn: jnp.asarray(f(x), x.dtype)), point
            )
        except Exception as exc:
            raise TypeError(
                f"{where}: JAX cannot differentiate its fn in x (HMC needs the "
                f"gradient): {type(exc).__name__}: {_first_line(exc)}"
            ) from exc


def check_one_of(X, moments) -> None:
    """Exactly one of ``X`` and ``moments`` (before any other check)."""
    if (X is None) == (moments is None):
        raise ValueError(
            "Pass exactly one of X (data whose feature means are the targets) "
            "and moments= (the targets themselves); got "
            f"{'both' if X is not None else 'neither'}."
        )


def read_inputs(spec: InputSpec, X, names, moments, sample_weight, settings):
    """A fit's :class:`FitInputs`, checked, with no tracing and no side effect.

    ``X`` is the validated data (:func:`validate_X`, by the estimator, which
    owns ``n_features_in_``) and ``names`` its column names (or None), or
    both None when fitting ``moments``; ``sample_weight`` the data's
    weights; ``settings`` the fit's :class:`~skmaxent.Settings`.
    """
    if X is not None:
        sample_weight = _check_weights(sample_weight, X)
        n = X.shape[1]
    else:
        bounds = _moment_bounds(spec, sample_weight)
        n = bounds.shape[0]
    specs = resolve_features(spec.features, n)
    _check_custom(specs, n)
    fm = compile_features(
        specs, n, None if names is None else tuple(str(s) for s in names)
    )
    if spec.init == "score_matching" and (X is None or not fm.differentiable):
        raise ValueError(
            "init='score_matching' needs data X and features differentiable in "
            "x (no Indicator); use init='auto' to fall back to 'zero' otherwise."
        )
    if X is not None:
        bounds = _data_bounds(spec, X, sample_weight, specs)
        check_support(specs, bounds, fm.names)
        box = reference_box(specs, bounds, None, X, sample_weight)
        _check_features_on_box(fm, box)
        mu = _data_means(fm, X, sample_weight, box, settings)
    else:
        mu = check_moments(moments, fm.names)
        check_support(specs, bounds, fm.names)
        check_feasible(fm.specs, mu, bounds, names=fm.names)
        box = reference_box(specs, bounds, mu)
        _check_features_on_box(fm, box)
    bad = np.flatnonzero(~np.isfinite(mu))
    if bad.size:  # finite on the box's Monte Carlo points, not on X's rows
        k = int(bad[0])
        raise ValueError(
            f"features[{k}] ({fm.names[k]!r}) is not finite at some rows of X "
            "(NaN or inf), so its mean over X is not either; a feature must be "
            "finite on the whole box: change its fn or drop those rows."
        )
    return FitInputs(fm, bounds, box, mu, X, sample_weight, n)


def _data_means(fm, X, sample_weight, box, settings):
    """Weighted feature means of ``X`` (matrix-free above ``dense_max_features``)."""
    if fm.n_features_out > settings.dense_max_features:
        return feature_means(fm, X, sample_weight, box, settings.row_block)
    F = feature_values(fm, X, box, settings.row_block)
    return np.average(F, axis=0, weights=sample_weight)
