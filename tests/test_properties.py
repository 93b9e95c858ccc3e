"""Property-based tests (hypothesis) of the public API of the estimators.

Generated inputs -- arrays with NaN, inf and extreme magnitudes, odd dtypes
and shapes, DataFrames, sparse matrices, sample weights, bounds, targets,
feature specs and hyper-parameters, valid or not -- and these properties:

- a call returns finite, correctly shaped output (``-inf`` log-densities
  only outside the box), or raises ``ValueError``/``TypeError`` whose message
  names an argument (a diverged chain fit may raise ``RuntimeError``);
- a failed ``fit`` leaves the estimator's ``__dict__`` as it was (here a
  previously fitted estimator, compared pickled);
- the user's arrays are never modified;
- two fits with the same integer ``random_state`` give bit-identical
  parameters;
- a ``pickle`` round trip gives identical ``score_samples`` and
  ``sample(..., random_state=0)``.

The budget is conftest's hypothesis profile ("ci" by default; "long" with
SKMAXENT_HYPOTHESIS_PROFILE=long). Chain fits are tiny (8 or 16 chains, at
most 100 iterations) and draw their settings from small pools, so that most
examples reuse compiled programs.
"""

import copy
import functools
import pickle
import re
import warnings

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from hypothesis import event, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning

from skmaxent import (
    MarginalPrior,
    MaxEntDual,
    MaxLikelihoodEBM,
    MomentMatchingEBM,
    ScoreMatchingGaussian,
)
from skmaxent.energies import MLP
from skmaxent.features import (
    Custom,
    Indicator,
    Legendre,
    Moment,
    Product,
    compile_features,
    resolve_features,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore:X (has|does not have valid) feature names"
)

CHAIN_MODELS = [MaxEntDual, MomentMatchingEBM, MaxLikelihoodEBM]
ARGUMENTS = {"X", "y", "moments", "sample_weight", "n_samples", "random_state"}


# ------------------------------------------------------------ feature pools


def sin_first(x):
    """A Custom feature (module level: picklable, and shared compiled code)."""
    return jnp.sin(3.0 * x[0])


def first_times_last(x):
    return x[0] * x[-1]


def numpy_feature(x):  # NumPy on a tracer: must be a TypeError naming it
    return np.cos(x[0])


def _features(n):
    """Valid feature choices for ``n`` columns: presets and specs."""
    pool = [
        "linear",
        "quadratic",
        [Moment(0), Moment(0, 2)],
        [Legendre(0, 1), Legendre(0, 2)],
        [Moment(0), Indicator(0, 0.2, 0.6)],
        [Moment(0), Custom(sin_first, "sin")],
        [Custom(first_times_last, "ends"), Moment(n - 1)],
    ]
    return pool + ([[Moment(0), Moment(1), Product(0, 1)]] if n > 1 else [])


def _bad_features(n):
    """Invalid ``features``: each must be a named error."""
    bad = ["cubic", Moment(0), [Moment(n)], [], [Moment(0), Moment(0)], [3]]
    return bad + [[Moment(0), Custom(numpy_feature, "np")], [Legendre(0, 0)]]


# ---------------------------------------------------------------- arrays

SPECIAL = [np.nan, np.inf, -np.inf, 1e300, -1e300, 1e-300, 0.0, 1e38]


@st.composite
def arrays(draw, n, spoil=False):
    """A 2-D float array of ``n`` columns on a random scale; with ``spoil``
    one entry is NaN, inf or extreme."""
    rows = draw(st.integers(1, 30))
    scale = draw(st.sampled_from([1.0, 1.0, 1e-12, 1e-3, 1e3, 1e12]))
    offset = draw(st.sampled_from([0.0, 0.0, -0.5, 10.0]))
    seed = draw(st.integers(0, 2**16))
    X = (np.random.default_rng(seed).uniform(size=(rows, n)) + offset) * scale
    if spoil:
        X[draw(st.integers(0, rows - 1)), draw(st.integers(0, n - 1))] = draw(
            st.sampled_from(SPECIAL)
        )
    return X


GOOD_KINDS = ["array", "float32", "int", "list", "frame"]
BAD_KINDS = ["special", "frame-str", "sparse", "1d", "3d", "empty-rows"]
BAD_KINDS += ["no-cols", "complex", "strings", "object"]


@st.composite
def inputs(draw, n, bad=False):
    """``X`` as a user may pass it: a valid kind, or (``bad``) anything."""
    kind = draw(st.sampled_from(BAD_KINDS if bad else GOOD_KINDS))
    X = draw(arrays(n, spoil=kind == "special"))
    if kind == "float32":
        return X.astype(np.float32)
    if kind == "int":
        return np.round(X * 100).astype(np.int64)
    if kind == "list":
        return X.tolist()
    if kind in ("frame", "frame-str"):
        df = pd.DataFrame(X, columns=[f"c{j}" for j in range(n)])
        if kind == "frame-str":
            df["c0"] = "a"
        return df
    if kind == "sparse":
        return scipy.sparse.csr_matrix(X)
    if kind == "1d":
        return X[:, 0]
    if kind == "3d":
        return X[:, :, None]
    if kind == "empty-rows":
        return X[:0]
    if kind == "no-cols":
        return X[:, :0]
    if kind == "complex":
        return X + 1j
    if kind == "strings":
        return X.astype(str)
    if kind == "object":
        out = X.astype(object)
        out[0, 0] = {"a": 1}
        return out
    return X


def _as_array(X):
    """The float64 values of a valid 2-D input, or None."""
    if isinstance(X, pd.DataFrame):
        X = X.to_numpy()
    if scipy.sparse.issparse(X):
        return None
    try:
        A = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return A if A.ndim == 2 and A.size else None


BAD_BOUNDS = ["shape", "3-cols", "reversed", "nan", "inf", "strings", "rows"]


def _bounds(draw, X, n, bad):
    """``bounds``: None or a box around ``X``; with ``bad``, something invalid
    (or a box that misses part of ``X``)."""
    A = _as_array(X)
    if bad:
        kind = draw(st.sampled_from([*BAD_BOUNDS, "narrow"]))
        if kind == "narrow" and A is not None and np.all(np.isfinite(A)):
            lo, hi = A.min(axis=0), A.max(axis=0)
            return np.stack([lo, lo + 0.5 * (hi - lo) + 1e-9 * np.abs(lo)], 1)
        return {
            "shape": [0, 1],
            "3-cols": [[0, 1, 2]] * n,
            "reversed": [[1, 0]] * n,
            "nan": [[0, np.nan]] * n,
            "inf": [[0, np.inf]] * n,
            "strings": [["a", "b"]] * n,
        }.get(kind, [[0, 1]] * (n + 1))
    if draw(st.booleans()) and A is not None and np.all(np.isfinite(A)):
        lo, hi = A.min(axis=0), A.max(axis=0)
        pad = np.maximum(hi - lo, np.maximum(np.abs(lo), 1e-12)) * 0.1
        return np.stack([lo - pad, hi + pad], axis=1)
    return None


def _weights(draw, rows, bad):
    """``sample_weight``: None or positive; with ``bad``, invalid."""
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    w = rng.uniform(0.1, 2.0, size=rows)
    if not bad:
        return draw(st.sampled_from([None, w, w * 1e300, w * 1e-300]))
    kind = draw(st.sampled_from(["neg", "nan", "zero", "len", "2d"]))
    if kind == "neg":
        w[0] = -0.5
    elif kind == "nan":
        w[0] = np.nan
    elif kind == "zero":
        w[:] = 0.0
    elif kind == "len":
        w = np.r_[w, 1.0]
    else:
        w = w[:, None]
    return w


# ------------------------------------------------------ hyper-parameters


CHAIN_VALID = dict(
    alpha=[0.0, 0.0, 0.1, 100.0],
    roughness=[0.0, 0.0, 0.5],
    n_chains=[8, 16],
    max_iter=[50, 100],
    tol=[1e-3, 0.1],
    step_size=["auto", "auto", 0.1],
    learning_rate=[0.05, 0.5],
    init=["auto", "zero", "score_matching"],
    random_state=[0, 1, None],
    devices=[None, 1],
    marginal_priors=[None, None, None, "on the box"],
)
CHAIN_INVALID = dict(
    alpha=[-1.0, np.nan, "a"],
    roughness=[-1.0],
    n_chains=[1, 0, 2.5],
    max_iter=[0, -5],
    tol=[0.0, -1.0],
    step_size=[0.0, "big"],
    learning_rate=[0.0],
    init=["x"],
    random_state=["seed"],
    devices=[2, 0],
    marginal_priors=[[1.0], "prior"],
    energy_model=["mlp", object()],
)


def _chain_params(draw, Est, n, bad):
    """Hyper-parameters of a chain estimator from small pools (most examples
    then reuse compiled programs); with ``bad``, one of them invalid."""
    own = Est().get_params()  # MaxLikelihoodEBM has no marginal_priors
    params = {k: draw(st.sampled_from(v)) for k, v in CHAIN_VALID.items() if k in own}
    params["features"] = draw(st.sampled_from(_features(n)))
    if "energy_model" in own:
        params["energy_model"] = draw(st.sampled_from(["linear"] * 3 + [MLP((4,))]))
    if bad:
        keys = [k for k in CHAIN_INVALID if k in params] + ["features"]
        key = draw(st.sampled_from(keys))
        pool = _bad_features(n) if key == "features" else CHAIN_INVALID[key]
        params[key] = draw(st.sampled_from(pool))
    return params


def _gaussian_params(draw, bad):
    valid = dict(
        alpha=[0.0, 0.0, 0.01, 1.0],
        solver=["auto", "auto", "closed_form", "gradient"],
        max_iter=[2000, 50, 1],
        tol=[1e-4, 0.0],
        learning_rate=[0.05, 1.0],
        assume_centered=[False, True],
    )
    invalid = dict(
        alpha=[-1.0, np.nan],
        solver=["x"],
        max_iter=[0],
        tol=[-1.0],
        learning_rate=[0.0],
        assume_centered=["yes"],
    )
    params = {k: draw(st.sampled_from(v)) for k, v in valid.items()}
    if params["solver"] != "auto":
        params["alpha"] = 0.0
    if bad:
        key = draw(st.sampled_from(sorted(invalid)))
        params[key] = draw(st.sampled_from(invalid[key]))
    return params


def _moments_for(draw, features, n, bounds, bad):
    """Targets: the feature means of a beta sample on the box (feasible and
    strictly inside every limit); with ``bad``, something invalid."""
    try:
        fm = compile_features(resolve_features(features, n), n)
    except (TypeError, ValueError):
        return [0.5]
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    U = rng.beta(2.0, 3.0, size=(400, n))
    X = bounds[:, 0] + U * (bounds[:, 1] - bounds[:, 0])
    try:
        mu = np.asarray(fm.values_batch(X, bounds[:, 0], bounds[:, 1]))
        mu = mu.astype(np.float64).mean(axis=0)
    except Exception:  # e.g. a NumPy Custom feature: fit will say so
        mu = np.full(fm.n_features_out, 0.5)
    kinds = ["nan", "short", "far", "face", "names"] if bad else ["array", "dict"]
    kind = draw(st.sampled_from(kinds))
    if kind == "dict":
        return {name: float(v) for name, v in zip(fm.names[::-1], mu[::-1])}
    if kind == "nan":
        mu[0] = np.nan
    elif kind == "short":
        mu = mu[:-1]
    elif kind == "far":
        mu[0] = 1e6 * (1.0 + np.abs(bounds).max())
    elif kind == "face":
        mu[0] = bounds[0, 0] if isinstance(fm.specs[0], Moment) else -1e9
    elif kind == "names":
        return {"nope": 1.0}
    return mu


# --------------------------------------------------------------- helpers


def _names_an_argument(exc, est) -> bool:
    names = ARGUMENTS | set(est.get_params())
    pattern = r"\b(" + "|".join(sorted(map(re.escape, names))) + r")\b"
    return re.search(pattern, str(exc)) is not None


def _snapshot(value):
    """A deep copy of a user argument, to check it was not modified."""
    if isinstance(value, pd.DataFrame):
        return value.copy(deep=True)
    if scipy.sparse.issparse(value):
        return value.copy()
    return copy.deepcopy(value)


def _unchanged(before, after) -> bool:
    if isinstance(before, pd.DataFrame):
        return before.equals(after)
    if scipy.sparse.issparse(before):
        return (before != after).nnz == 0
    if isinstance(before, dict):
        return before.keys() == after.keys() and all(
            _unchanged(before[k], after[k]) for k in before
        )
    a, b = np.asarray(before), np.asarray(after)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind in "fc":
        return np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


@functools.cache
def _prefitted(Est) -> bytes:
    """A fitted estimator, pickled, to refit (and restore) in every example."""
    X = np.random.default_rng(0).uniform(size=(40, 2))
    if Est is ScoreMatchingGaussian:
        return pickle.dumps(Est().fit(X))
    model = Est("linear", n_chains=8, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return pickle.dumps(model.fit(X))


def _call(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DataConversionWarning)
        return fn(*args, **kwargs)


def _fit_or_check_failure(est, fit_args, fit_kwargs, allow_runtime):
    """Fit; on failure check the error and the restored ``__dict__``.

    Returns whether the fit succeeded.
    """
    before = pickle.dumps(est.__dict__)
    user = [_snapshot(v) for v in (*fit_args, *fit_kwargs.values())]
    try:
        _call(est.fit, *fit_args, **fit_kwargs)
        ok = True
    except (ValueError, TypeError) as exc:
        assert _names_an_argument(exc, est), repr(exc)
        event(f"fit raised {type(exc).__name__}: {str(exc)[:40]}")
        ok = False
    except RuntimeError as exc:
        assert allow_runtime and "diverged" in str(exc), repr(exc)
        ok = False
    if ok:
        event("fit succeeded")
    else:
        assert pickle.dumps(est.__dict__) == before, "a failed fit changed the model"
    for b, a in zip(user, (*fit_args, *fit_kwargs.values())):
        assert _unchanged(b, a), "fit modified a user argument"
    return ok


def _points(est, n_rows=7, seed=0):
    """Rows inside the fitted support (chain models; on an open side, up to one
    unit beyond the chains) or near the data (Gaussian)."""
    rng = np.random.default_rng(seed)
    if hasattr(est, "bounds_"):
        B = est.bounds_
        lo = np.where(np.isfinite(B[:, 0]), B[:, 0], est.chains_.min(axis=0) - 1)
        hi = np.where(np.isfinite(B[:, 1]), B[:, 1], est.chains_.max(axis=0) + 1)
        return lo + rng.uniform(size=(n_rows, B.shape[0])) * (hi - lo)
    scale = np.sqrt(np.diag(est.covariance_))
    return est.location_ + rng.normal(size=(n_rows, est.n_features_in_)) * scale


def _check_inference(est, X_new):
    """Methods on good rows: finite, shaped; on generated ``X_new``: a named
    error, or shaped output without NaN; and a pickle round trip."""
    n = est.n_features_in_
    P = _points(est)
    logp = est.score_samples(P)
    assert logp.shape == (len(P),) and np.all(np.isfinite(logp))
    draws = est.sample(5, random_state=0)
    assert draws.shape == (5, n) and np.all(np.isfinite(draws))
    F = est.transform(P)
    assert F.ndim == 2 and F.shape[0] == len(P) and np.all(np.isfinite(F))
    if hasattr(est, "bounds_"):
        assert np.all((draws >= est.bounds_[:, 0]) & (draws <= est.bounds_[:, 1]))
        assert np.all(np.isfinite(est.energy(P)))
    else:
        np.testing.assert_allclose(est.inverse_transform(F), P, rtol=1e-6, atol=1e-6)
        assert np.all(est.mahalanobis(P) >= 0)
    copy_ = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(copy_.score_samples(P), logp)
    np.testing.assert_array_equal(copy_.sample(5, random_state=0), draws)
    user = _snapshot(X_new)
    try:
        out = _call(est.score_samples, X_new)
    except (ValueError, TypeError) as exc:
        assert _names_an_argument(exc, est), repr(exc)
    else:
        A = _as_array(X_new)
        assert out.shape == (A.shape[0],) and not np.any(np.isnan(out))
        if not hasattr(est, "bounds_"):  # a Gaussian is positive everywhere
            finite = np.all(np.isfinite(A), axis=1) & np.all(np.abs(A) < 1e100, axis=1)
            assert np.all(np.isfinite(out[finite]))
    assert _unchanged(user, X_new), "score_samples modified X"


def _parameters(est):
    if hasattr(est, "coef_"):
        return [est.coef_, est.chains_, np.float64(est.log_partition_)]
    if hasattr(est, "params_"):
        import jax

        return [*map(np.asarray, jax.tree.leaves(est.params_)), est.chains_]
    return [est.location_, est.precision_, est.covariance_]


def _same_bits(a, b):
    return all(
        x.shape == y.shape and x.tobytes() == y.tobytes()
        for x, y in zip(_parameters(a), _parameters(b))
    )


# ----------------------------------------------------------------- tests


SPOIL_CHAIN = ["params", "X", "bounds", "sample_weight", "moments", "X_new"]


@pytest.mark.parametrize("Est", CHAIN_MODELS)
@given(data=st.data())
def test_chain_estimator_properties(Est, data):
    draw = data.draw
    n = draw(st.sampled_from([1, 2]), label="n")
    spoil = draw(st.sampled_from([None] * 5 + SPOIL_CHAIN), label="spoil")
    params = _chain_params(draw, Est, n, spoil == "params")
    if draw(st.integers(0, 3), label="from moments") == 0 or spoil == "moments":
        scale = draw(st.sampled_from([1.0, 1e-6, 1e6]), label="scale")
        bounds = np.array([[-1.0, 2.0]] * n) * scale
        mu = _moments_for(draw, params["features"], n, bounds, spoil == "moments")
        fit_args, fit_kwargs = (), {"moments": mu}
    else:
        X = draw(inputs(n, bad=spoil == "X"), label="X")
        bounds = _bounds(draw, X, n, spoil == "bounds")
        A = _as_array(X)
        rows = A.shape[0] if A is not None else 5
        w = _weights(draw, rows, spoil == "sample_weight")
        fit_args, fit_kwargs = (X,), {"sample_weight": w}
    X_new = draw(inputs(n, bad=spoil == "X_new"), label="X_new")
    if params.get("marginal_priors") == "on the box":  # edges must lie in the box
        box = isinstance(bounds, np.ndarray) and np.all(np.isfinite(bounds))
        prior = None
        if box and bounds[0, 0] < bounds[0, 1]:
            lo, hi = bounds[0]
            prior = [MarginalPrior(0, [lo, (lo + hi) / 2, hi], [0.3, 0.7], 1.0)]
        params["marginal_priors"] = prior
    est = pickle.loads(_prefitted(Est))
    est.set_params(bounds=bounds, **params)
    if not _fit_or_check_failure(est, fit_args, fit_kwargs, allow_runtime=True):
        return
    assert est.n_features_in_ == n
    for value in _parameters(est):
        assert np.all(np.isfinite(value))
    _check_inference(est, X_new)
    if isinstance(params["random_state"], int):
        again = pickle.loads(_prefitted(Est))
        again.set_params(bounds=bounds, **params)
        _call(again.fit, *fit_args, **fit_kwargs)
        assert _same_bits(est, again), "same random_state, different parameters"


@settings(max_examples=4 * settings().max_examples)  # fits in milliseconds
@given(data=st.data())
def test_gaussian_properties(data):
    draw = data.draw
    n = draw(st.sampled_from([1, 2, 3]), label="n")
    spoil = draw(st.sampled_from([None] * 3 + ["params", "X", "X_new"]), label="spoil")
    X = draw(inputs(n, bad=spoil == "X"), label="X")
    X_new = draw(inputs(n, bad=spoil == "X_new"), label="X_new")
    params = _gaussian_params(draw, spoil == "params")
    est = pickle.loads(_prefitted(ScoreMatchingGaussian))
    est.set_params(**params)
    if not _fit_or_check_failure(est, (X,), {}, allow_runtime=True):
        return
    assert est.n_features_in_ == n
    for value in _parameters(est):
        assert np.all(np.isfinite(value))
    # Positive definite: a Cholesky factor with a positive diagonal (an
    # eigenvalue test cannot resolve a condition number beyond 1e16, e.g.
    # one column of size 1e38 among columns of size 1).
    assert np.all(np.diag(est.precision_cholesky_) > 0)
    _check_inference(est, X_new)
    again = pickle.loads(_prefitted(ScoreMatchingGaussian)).set_params(**params)
    _call(again.fit, X)
    assert _same_bits(est, again), "two fits on the same data differ"
