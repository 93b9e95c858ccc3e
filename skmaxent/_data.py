"""From the user's input to a fit's targets: X or moments checked, the feature map, mu.

Shell-side glue of the chain estimators (NumPy, one jitted core call per
block of rows), apart from the estimator class so that each module keeps to
one concept.
"""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, validate_data

from skmaxent._validation import (
    check_bounds,
    check_feasible,
    check_moments,
    infer_bounds,
)
from skmaxent.features import compile_features, resolve_features

__all__ = ["key_from_random_state", "fit_input", "feature_values", "feature_means"]


def key_from_random_state(random_state) -> jax.Array:
    """A JAX key from a scikit-learn ``random_state`` (None, int or RandomState)."""
    rng = check_random_state(random_state)
    return jax.random.key(int(rng.randint(np.iinfo(np.int32).max)))


@partial(jax.jit, static_argnames=("fm",))
def _values_batch(X, low, high, fm):
    return fm.values_batch(X, low, high)


@partial(jax.jit, static_argnames=("fm",))
def _weighted_sum(X, w, low, high, fm):
    return fm.mean(X, low, high, w)


def _row_blocks(X, block: int):
    """``(start, m, padded)`` over ``X`` in float32 blocks of ``block`` rows.

    Padding every block to the same size lets one compiled function serve
    inputs of any length; ``m`` rows of each block are real.
    """
    for start in range(0, X.shape[0], block):
        rows = np.asarray(X[start : start + block], dtype=np.float32)
        m = rows.shape[0]
        padded = np.zeros((block, rows.shape[1]), dtype=np.float32)
        padded[:m] = rows
        yield start, m, padded


def _box32(bounds):
    return (
        jnp.asarray(bounds[:, 0], jnp.float32),
        jnp.asarray(bounds[:, 1], jnp.float32),
    )


def feature_values(fm, X, bounds, block: int = 1024) -> np.ndarray:
    """``f(X)`` as float64 (N, p), computed in fixed-size row blocks.

    Each row's features are computed elementwise, so results do not depend
    on the block a row comes in.
    """
    low, high = _box32(bounds)
    out = np.empty((X.shape[0], fm.n_features_out), dtype=np.float64)
    for start, m, padded in _row_blocks(X, block):
        F = _values_batch(jnp.asarray(padded), low, high, fm)
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
    for start, m, padded in _row_blocks(X, block):
        wb = np.zeros(block, np.float32)
        wb[:m] = w[start : start + m]
        total += np.asarray(_weighted_sum(padded, wb, low, high, fm), np.float64)
    return total


def _data_bounds(est, X, sample_weight):
    """The box for data ``X``: given (every weighted row inside) or inferred."""
    if est.bounds is None:
        return infer_bounds(X[sample_weight > 0])
    bounds = check_bounds(est.bounds, X.shape[1])
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


def _moment_bounds(est, sample_weight):
    if sample_weight is not None:
        raise ValueError("sample_weight applies to X; fit(moments=...) got it.")
    if est.bounds is None:
        raise ValueError(
            "fit(moments=...) requires bounds: pass bounds=array-like of "
            "shape (n_features_in_, 2) with lo < hi on each row."
        )
    bounds = check_bounds(est.bounds, None)
    est.n_features_in_ = bounds.shape[0]
    if hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    return bounds


def _check_not_constant(fm, bounds):
    mean, std = fm.uniform_moments(bounds[:, 0], bounds[:, 1])
    constant = np.flatnonzero(~(std > 1e-12 * np.maximum(1.0, np.abs(mean))))
    if constant.size:
        k = int(constant[0])
        raise ValueError(
            f"Feature {k} '{fm.names[k]}' is constant on the box {bounds.tolist()} "
            "(a degree-0 Legendre polynomial, or an indicator covering or "
            "missing the whole range): its expectation is fixed, so it "
            "cannot be a constraint. Remove it from features."
        )


def fit_input(est, X, moments, sample_weight, settings):
    """Validate a fit's input: ``(fm, bounds, mu, X, sample_weight)``, no tracing.

    ``X`` and ``sample_weight`` are ``None`` when fitting from ``moments``.
    Sets ``n_features_in_`` (and ``feature_names_in_`` for a DataFrame).
    """
    if (X is None) == (moments is None):
        raise ValueError(
            "Pass exactly one of X (data whose feature means are the targets) "
            "and moments= (the targets themselves); got "
            f"{'both' if X is not None else 'neither'}."
        )
    names = None
    if X is not None:
        X = validate_data(est, X, dtype=[np.float64, np.float32], reset=True)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        bounds = _data_bounds(est, X, sample_weight)
        names = getattr(est, "feature_names_in_", None)
    else:
        bounds = _moment_bounds(est, sample_weight)
    n = bounds.shape[0]
    specs = resolve_features(est.features, n)
    fm = compile_features(
        specs, n, None if names is None else tuple(str(s) for s in names)
    )
    _check_not_constant(fm, bounds)
    init = getattr(est, "init", "zero")
    if init == "score_matching" and (X is None or not fm.differentiable):
        raise ValueError(
            "init='score_matching' needs data X and features differentiable in "
            "x (no Indicator); use init='auto' to fall back to 'zero' otherwise."
        )
    if X is not None and fm.n_features_out > settings.dense_max_features:
        mu = feature_means(fm, X, sample_weight, bounds, settings.row_block)
    elif X is not None:
        F = feature_values(fm, X, bounds, settings.row_block)
        mu = np.average(F, axis=0, weights=sample_weight)
    else:
        mu = check_moments(moments, fm.names)
        check_feasible(fm.specs, mu, bounds, names=fm.names)
    return fm, bounds, mu, X, sample_weight
