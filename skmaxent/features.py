"""Feature specifications and their compilation into one vectorised FeatureMap.

Specs are small frozen dataclasses (hyper-parameters that survive ``clone``).
:func:`resolve_features` turns the ``features`` hyper-parameter (a preset or a
sequence of specs) into a validated tuple, and :func:`compile_features` turns
that tuple into a :class:`FeatureMap`.

The FeatureMap groups features by kind -- unary powers, Legendre polynomials,
indicators, pairwise products, custom functions -- and stores each group as
NumPy index arrays, so evaluating it is a few gathers and elementwise ops
whose number does not depend on the number of features. Products have a matrix
form: ``sum_k c_k x_{I_k} x_{J_k} = x·Wx``, with gradient ``(W + Wᵀ)x`` and
batch mean ``XᵀX / N`` then a gather. Custom functions are opaque, so they are
the only per-feature Python loop.
"""

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from numbers import Integral, Real

import jax
import jax.numpy as jnp
import numpy as np

#: Monte-Carlo points and key for the uniform moments of Custom features.
CUSTOM_MC_POINTS = 65_536
CUSTOM_MC_SEED = 0
_CUSTOM_MC_BLOCK = 8_192
_HIGHEST = jax.lax.Precision.HIGHEST


def _check_int(owner, field, value, minimum):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(
            f"{type(owner).__name__}.{field} must be an integer >= {minimum}; "
            f"got {value!r}."
        )
    object.__setattr__(owner, field, int(value))


@dataclass(frozen=True)
class Moment:
    """``x_i ** power``."""

    i: int
    power: int = 1

    def __post_init__(self):
        _check_int(self, "i", self.i, 0)
        _check_int(self, "power", self.power, 1)


@dataclass(frozen=True)
class Product:
    """``x_i * x_j`` with ``i != j``."""

    i: int
    j: int

    def __post_init__(self):
        _check_int(self, "i", self.i, 0)
        _check_int(self, "j", self.j, 0)
        if self.i == self.j:
            raise ValueError(
                f"Product(i={self.i}, j={self.j}) needs i != j; for x_i ** 2 use "
                f"Moment({self.i}, 2)."
            )


@dataclass(frozen=True)
class Indicator:
    """``1[low <= x_i < high]``."""

    i: int
    low: float
    high: float

    def __post_init__(self):
        _check_int(self, "i", self.i, 0)
        for field in ("low", "high"):
            value = getattr(self, field)
            if (
                isinstance(value, bool)
                or not isinstance(value, Real)
                or not math.isfinite(value)
            ):
                raise ValueError(
                    f"Indicator.{field} must be a finite real number; got {value!r}."
                )
            object.__setattr__(self, field, float(value))
        if not self.low < self.high:
            raise ValueError(
                f"Indicator(i={self.i}) needs low < high; got low={self.low!r}, "
                f"high={self.high!r}."
            )


@dataclass(frozen=True)
class Legendre:
    """Shifted Legendre polynomial of degree ``degree`` at ``u_i``.

    ``P_degree(2 u_i - 1)`` with ``u_i = (x_i - lo_i) / (hi_i - lo_i)`` in ``[0, 1]``,
    where ``lo_i, hi_i`` are the bounds of column ``i``.
    """

    i: int
    degree: int

    def __post_init__(self):
        _check_int(self, "i", self.i, 0)
        _check_int(self, "degree", self.degree, 0)


@dataclass(frozen=True)
class Custom:
    """``fn(x)``, a JAX-traceable scalar function of one point ``x``.

    ``x`` has shape ``(n_features_in_,)`` and is in user units.
    """

    fn: Callable
    name: str

    def __post_init__(self):
        if not callable(self.fn):
            raise TypeError(f"Custom.fn must be callable; got {self.fn!r}.")
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Custom.name must be a non-empty str; got {self.name!r}.")


SPEC_TYPES = (Moment, Product, Indicator, Legendre, Custom)
PRESETS = ("linear", "quadratic")


def _preset(name: str, n: int) -> tuple:
    linear = tuple(Moment(i) for i in range(n))
    if name == "linear":
        return linear
    squares = tuple(Moment(i, 2) for i in range(n))
    products = tuple(Product(i, j) for i in range(n) for j in range(i + 1, n))
    return linear + squares + products


def _columns(spec) -> tuple[int, ...]:
    if isinstance(spec, Custom):
        return ()
    if isinstance(spec, Product):
        return (spec.i, spec.j)
    return (spec.i,)


def _identity(spec):
    """Key under which two specs are the same feature (x_i x_j is x_j x_i)."""
    if isinstance(spec, Product):
        return (Product, min(spec.i, spec.j), max(spec.i, spec.j))
    return spec


def resolve_features(features, n_features_in: int) -> tuple:
    """The validated tuple of specs for the ``features`` hyper-parameter.

    Parameters
    ----------
    features : {"linear", "quadratic"} or sequence of specs
        ``"linear"`` is every ``Moment(i)``; ``"quadratic"`` is every
        ``Moment(i)``, then every ``Moment(i, 2)``, then every ``Product(i, j)``
        with ``i < j``.
    n_features_in : int
        Number of columns of ``X``; spec column indices must lie in
        ``[0, n_features_in)``.

    Returns
    -------
    specs : tuple of specs, in feature order.
    """
    n = n_features_in
    if isinstance(features, str):
        if features not in PRESETS:
            raise ValueError(
                f"features={features!r} is not a preset; use 'linear', 'quadratic' "
                "or a sequence of specs from skmaxent.features."
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
                "Product, Indicator, Legendre or Custom from skmaxent.features."
            )
        for i in _columns(spec):
            if i >= n:
                raise ValueError(
                    f"features[{k}] = {spec!r} refers to column {i}, but X has "
                    f"{n} column(s); column indices must lie in [0, {n})."
                )
        key = _identity(spec)
        if key in seen:
            raise ValueError(
                f"features[{k}] = {spec!r} duplicates features[{seen[key]}] = "
                f"{features[seen[key]]!r}; remove one of them."
            )
        seen[key] = k
    return tuple(features)


def _number(v: float) -> str:
    r = repr(float(v))
    return r[:-2] if r.endswith(".0") else r


def _name(spec, cols: tuple[str, ...]) -> str:
    if isinstance(spec, Moment):
        return cols[spec.i] if spec.power == 1 else f"{cols[spec.i]}^{spec.power}"
    if isinstance(spec, Product):
        return f"{cols[spec.i]}*{cols[spec.j]}"
    if isinstance(spec, Indicator):
        return f"1[{_number(spec.low)}<={cols[spec.i]}<{_number(spec.high)}]"
    if isinstance(spec, Legendre):
        return f"P{spec.degree}({cols[spec.i]})"
    return spec.name


def compile_features(
    specs, n_features_in: int, input_names: tuple[str, ...] | None = None
) -> "FeatureMap":
    """Compile specs (or a preset) into a :class:`FeatureMap`.

    Parameters
    ----------
    specs : {"linear", "quadratic"} or sequence of specs
        As for :func:`resolve_features`.
    n_features_in : int
        Number of variables.
    input_names : tuple of str or None, default=None
        Column names used in the feature names; ``x0, x1, ...`` when None.

    Returns
    -------
    FeatureMap
        Equal arguments return the same (cached) object, so jitted functions
        taking the map as a static argument find it by identity.
    """
    specs = resolve_features(specs, n_features_in)
    names = None if input_names is None else tuple(input_names)
    return _compile(specs, int(n_features_in), names)


@lru_cache(maxsize=64)
def _compile(specs, n_features_in, input_names):
    return FeatureMap(specs, n_features_in, input_names)


def _take(v, idx: np.ndarray, axis: int = 0):
    """``v[idx]`` along ``axis``; a static slice when ``idx`` is a contiguous range."""
    if idx.size and np.array_equal(idx, np.arange(idx[0], idx[0] + idx.size)):
        return jax.lax.slice_in_dim(v, int(idx[0]), int(idx[0]) + idx.size, axis=axis)
    return jnp.take(v, idx, axis=axis)


def _float(x):
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jax.dtypes.canonicalize_dtype(jnp.float64))
    return x


def _legendre_table(t, degree: int, derivative: bool = False):
    """``P_0..P_degree`` at ``t`` stacked on a new first axis (and ``P'`` if asked).

    Three-term recurrence ``(k+1) P_{k+1} = (2k+1) t P_k - k P_{k-1}`` and
    ``P'_{k+1} = P'_{k-1} + (2k+1) P_k``; a Python loop over degrees only.
    """
    P = [jnp.ones_like(t), t]
    for k in range(1, degree):
        P.append(((2 * k + 1) * t * P[k] - k * P[k - 1]) / (k + 1))
    P = P[: degree + 1]
    if not derivative:
        return jnp.stack(P)
    D = [jnp.zeros_like(t), jnp.ones_like(t)]
    for k in range(1, degree):
        D.append(D[k - 1] + (2 * k + 1) * P[k])
    return jnp.stack(P), jnp.stack(D[: degree + 1])


class FeatureMap:
    """All features of one point (or a batch) as a few vectorised JAX ops.

    Immutable; equality and hash are those of ``(specs, n_features_in, names)``
    (the hash is cached), so a FeatureMap is a static argument of ``jax.jit``.
    The group index arrays are NumPy constants derived from ``specs``.

    Attributes
    ----------
    specs : tuple of specs, in feature order.
    n_features_in : int
    n_features_out : int
    names : tuple of str, in feature order.
    differentiable : bool
        False if any feature is an Indicator.
    """

    def __init__(self, specs, n_features_in: int, input_names=None):
        n = int(n_features_in)
        specs = resolve_features(specs, n)
        if input_names is not None:
            input_names = tuple(input_names)
            if len(input_names) != n or not all(
                isinstance(c, str) for c in input_names
            ):
                raise ValueError(
                    f"input_names must be {n} strings, one per column; got "
                    f"{input_names!r}."
                )
        cols = (
            input_names if input_names is not None else tuple(f"x{i}" for i in range(n))
        )
        names = tuple(_name(s, cols) for s in specs)
        if len(set(names)) != len(names):
            dup = sorted(s for s, c in Counter(names).items() if c > 1)
            raise ValueError(f"feature names must be unique; duplicated: {dup}.")
        kinds = {
            t: [k for k, s in enumerate(specs) if type(s) is t] for t in SPEC_TYPES
        }

        def arr(kind, attr, dtype=np.int32):
            return np.array([getattr(specs[k], attr) for k in kinds[kind]], dtype=dtype)

        d = self.__dict__
        d["specs"], d["n_features_in"], d["names"] = specs, n, names
        d["input_names"] = input_names
        d["n_features_out"] = len(specs)
        d["differentiable"] = not kinds[Indicator]
        d["_key"] = (specs, n, names)
        d["_hash"] = hash(d["_key"])
        order = [np.array(kinds[t], dtype=np.int32) for t in SPEC_TYPES]
        (d["_pos_mom"], d["_pos_prod"], d["_pos_ind"], d["_pos_leg"], d["_pos_cus"]) = (
            order
        )
        perm = np.concatenate(order)
        d["_inverse"] = (
            None
            if np.array_equal(perm, np.arange(perm.size))
            else (np.argsort(perm).astype(np.int32))
        )
        d["_mom_i"], d["_mom_pow"] = arr(Moment, "i"), arr(Moment, "power")
        d["_max_pow"] = int(d["_mom_pow"].max(initial=0))
        d["_prod_i"], d["_prod_j"] = arr(Product, "i"), arr(Product, "j")
        # Matrix form when products are at least as many as variables.
        d["_dense_prod"] = d["_prod_i"].size >= n
        d["_ind_i"] = arr(Indicator, "i")
        d["_ind_low"] = arr(Indicator, "low", np.float64)
        d["_ind_high"] = arr(Indicator, "high", np.float64)
        d["_leg_i"], d["_leg_deg"] = arr(Legendre, "i"), arr(Legendre, "degree")
        d["_max_deg"] = int(d["_leg_deg"].max(initial=-1))
        d["_fns"] = tuple(specs[k].fn for k in kinds[Custom])
        d["_fn_names"] = tuple(specs[k].name for k in kinds[Custom])

    # ------------------------------------------------------------ identity
    def __setattr__(self, name, value):
        raise AttributeError(f"FeatureMap is immutable; cannot set {name!r}.")

    def __delattr__(self, name):
        raise AttributeError(f"FeatureMap is immutable; cannot delete {name!r}.")

    def __eq__(self, other):
        if self is other:
            return True
        if not isinstance(other, FeatureMap):
            return NotImplemented
        return self._hash == other._hash and self._key == other._key

    def __hash__(self):
        return self._hash

    def __reduce__(self):
        return (FeatureMap, (self.specs, self.n_features_in, self.input_names))

    def __repr__(self):
        return (
            f"FeatureMap(n_features_in={self.n_features_in}, "
            f"n_features_out={self.n_features_out})"
        )

    # ------------------------------------------------------------- helpers
    def _check(self, x, ndim):
        """``x`` as a float array of ``ndim`` dims with ``n_features_in`` columns."""
        x = _float(x)
        if x.ndim != ndim or x.shape[-1] != self.n_features_in:
            want = "(n,)" if ndim == 1 else "(N, n)"
            raise ValueError(
                f"expected an array of shape {want} with n = {self.n_features_in}; "
                f"got shape {x.shape}."
            )
        return x

    def _powers(self, x):
        """``x ** k`` for k = 0..max power, shape ``(K + 1, n)``."""
        T = [jnp.ones_like(x)]
        for _ in range(self._max_pow):
            T.append(T[-1] * x)
        return jnp.stack(T)

    def _t(self, x, low, high):
        return 2 * (x - low) / (high - low) - 1

    def _custom(self, x):
        out = []
        for fn, name in zip(self._fns, self._fn_names):
            v = jnp.asarray(fn(x))
            if v.shape != ():
                raise ValueError(
                    f"Custom feature {name!r} returned shape {v.shape}; its fn must "
                    "return a scalar for one point x of shape (n_features_in,)."
                )
            out.append(v.astype(x.dtype))
        return jnp.stack(out)

    def _arrange(self, blocks):
        """Concatenate kind blocks (last axis) and put them in spec order."""
        out = jnp.concatenate([b for b in blocks if b.shape[-1]], axis=-1)
        return out if self._inverse is None else jnp.take(out, self._inverse, axis=-1)

    def _split(self, coef):
        return [
            _take(coef, pos)
            for pos in (
                self._pos_mom,
                self._pos_prod,
                self._pos_ind,
                self._pos_leg,
                self._pos_cus,
            )
        ]

    def _consts(self, x, low, high):
        dt = x.dtype
        return jnp.asarray(low, dt), jnp.asarray(high, dt)

    # ------------------------------------------------------------ hot path
    def values(self, x, low, high):
        """All features at one point ``x`` (n,) in user units; shape ``(p,)``."""
        x = self._check(x, 1)
        low, high = self._consts(x, low, high)
        blocks = []
        if self._mom_i.size:
            blocks.append(self._powers(x)[self._mom_pow, self._mom_i])
        if self._prod_i.size:
            blocks.append(_take(x, self._prod_i) * _take(x, self._prod_j))
        if self._ind_i.size:
            xi = _take(x, self._ind_i)
            lo = jnp.asarray(self._ind_low, x.dtype)
            hi = jnp.asarray(self._ind_high, x.dtype)
            blocks.append(((xi >= lo) & (xi < hi)).astype(x.dtype))
        if self._leg_i.size:
            P = _legendre_table(self._t(x, low, high), self._max_deg)
            blocks.append(P[self._leg_deg, self._leg_i])
        if self._fns:
            blocks.append(self._custom(x))
        return self._arrange(blocks)

    def values_batch(self, X, low, high):
        """All features at each row of ``X`` (N, n); shape ``(N, p)``."""
        return jax.vmap(self.values, in_axes=(0, None, None))(
            self._check(X, 2), low, high
        )

    def mean(self, X, low, high, weights=None, square=False):
        """Weighted mean of the features over the rows of ``X`` (N, n); ``(p,)``.

        ``sum_r w_r f(x_r)`` with ``w = weights`` (N,), ``1 / N`` each when
        ``None``; with ``square``, of ``f(x_r) ** 2``. Powers from weighted
        column sums of ``X ** k``, products from ``Xᵀ diag(w) X`` (no ``(N, p)``
        intermediate for them), so that means, Fisher-vector products
        (weights ``(s - s̄) / N`` for scores ``s``) and second moments of the
        quadratic preset cost ``O(N n²)`` for ``p = O(n²)`` features.
        """
        X = self._check(X, 2)
        low, high = self._consts(X, low, high)
        N = X.shape[0]
        w = jnp.full((N,), 1.0 / N, X.dtype) if weights is None else weights
        k2 = 2 if square else 1
        blocks = []
        if self._mom_i.size:
            M = jnp.stack(
                [jnp.full(X.shape[1], jnp.sum(w), X.dtype)]
                + [w @ X ** (k2 * k) for k in range(1, self._max_pow + 1)]
            )
            blocks.append(M[self._mom_pow, self._mom_i])
        if self._prod_i.size:
            Xp = X * X if square else X
            if self._dense_prod:
                G = jnp.matmul(Xp.T, Xp * w[:, None], precision=_HIGHEST)
                blocks.append(G[self._prod_i, self._prod_j])
            else:
                prod = _take(Xp, self._prod_i, 1) * _take(Xp, self._prod_j, 1)
                blocks.append(w @ prod)
        if self._ind_i.size:
            Xi = _take(X, self._ind_i, 1)
            lo = jnp.asarray(self._ind_low, X.dtype)
            hi = jnp.asarray(self._ind_high, X.dtype)
            blocks.append(w @ ((Xi >= lo) & (Xi < hi)).astype(X.dtype))
        if self._leg_i.size:
            P = _legendre_table(self._t(X, low, high), self._max_deg)
            P = P * P if square else P
            blocks.append(jnp.einsum("r,dri->di", w, P)[self._leg_deg, self._leg_i])
        if self._fns:
            C = jax.vmap(self._custom)(X)
            blocks.append(w @ (C * C if square else C))
        return self._arrange(blocks)

    def _coef_tables(self, coef, x):
        """Per-kind coefficient arrays (scatter-added; unbatched under vmap)."""
        c_mom, c_prod, c_ind, c_leg, c_cus = self._split(jnp.asarray(coef, x.dtype))
        n = self.n_features_in
        t = {}
        if self._mom_i.size:
            t["mom"] = (
                jnp.zeros((self._max_pow + 1, n), x.dtype)
                .at[self._mom_pow, self._mom_i]
                .add(c_mom)
            )
        if self._prod_i.size:
            if self._dense_prod:
                W = (
                    jnp.zeros((n, n), x.dtype)
                    .at[self._prod_i, self._prod_j]
                    .add(c_prod)
                )
                t["prod"] = W + W.T
            else:
                t["prod"] = c_prod
        if self._ind_i.size:
            t["ind"] = c_ind
        if self._leg_i.size:
            t["leg"] = (
                jnp.zeros((self._max_deg + 1, n), x.dtype)
                .at[self._leg_deg, self._leg_i]
                .add(c_leg)
            )
        if self._fns:
            t["cus"] = c_cus
        return t

    def _custom_energy(self, c, x):
        return jnp.dot(c, self._custom(x))

    def energy(self, coef, x, low, high):
        """``-coef · f(x)`` at one point ``x`` (n,); a scalar."""
        x = self._check(x, 1)
        low, high = self._consts(x, low, high)
        t = self._coef_tables(coef, x)
        e = jnp.zeros((), x.dtype)
        if "mom" in t:
            e = e + jnp.sum(t["mom"] * self._powers(x))
        if "prod" in t:
            if self._dense_prod:
                e = e + 0.5 * jnp.dot(x, jnp.dot(t["prod"], x, precision=_HIGHEST))
            else:
                e = e + jnp.dot(
                    t["prod"], _take(x, self._prod_i) * _take(x, self._prod_j)
                )
        if "ind" in t:
            xi = _take(x, self._ind_i)
            lo = jnp.asarray(self._ind_low, x.dtype)
            hi = jnp.asarray(self._ind_high, x.dtype)
            e = e + jnp.dot(t["ind"], ((xi >= lo) & (xi < hi)).astype(x.dtype))
        if "leg" in t:
            P = _legendre_table(self._t(x, low, high), self._max_deg)
            e = e + jnp.sum(t["leg"] * P)
        if "cus" in t:
            e = e + self._custom_energy(t["cus"], x)
        return -e

    def energy_grad(self, coef, x, low, high):
        """Analytic ``d energy / dx`` at one point ``x`` (n,) in user units."""
        x = self._check(x, 1)
        low, high = self._consts(x, low, high)
        t = self._coef_tables(coef, x)
        g = jnp.zeros_like(x)
        if "mom" in t and self._max_pow:
            k = jnp.arange(1, self._max_pow + 1, dtype=x.dtype)[:, None]
            g = g + jnp.sum(k * t["mom"][1:] * self._powers(x)[:-1], axis=0)
        if "prod" in t:
            if self._dense_prod:
                g = g + jnp.dot(t["prod"], x, precision=_HIGHEST)
            else:
                c = t["prod"]
                g = (
                    g.at[self._prod_i]
                    .add(c * _take(x, self._prod_j))
                    .at[self._prod_j]
                    .add(c * _take(x, self._prod_i))
                )
        if "leg" in t and self._max_deg > 0:
            _, D = _legendre_table(self._t(x, low, high), self._max_deg, True)
            g = g + jnp.sum(t["leg"] * D, axis=0) * (2 / (high - low))
        if "cus" in t:
            g = g + jax.grad(self._custom_energy, argnums=1)(t["cus"], x)
        return -g

    # ------------------------------------------------------- uniform moments
    def uniform_moments(self, low, high) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of each feature under Uniform(box), float64.

        Closed forms for Moment, Product, Indicator and Legendre; Monte Carlo
        with a fixed key and ``CUSTOM_MC_POINTS`` points for Custom.
        """
        low = np.asarray(low, np.float64)
        high = np.asarray(high, np.float64)
        p = self.n_features_out
        mean, var = np.empty(p), np.empty(p)
        for k in np.unique(self._mom_pow):
            sel = self._mom_pow == k
            i, pos = self._mom_i[sel], self._pos_mom[sel]
            mean[pos], var[pos] = _power_moments(low[i], high[i], int(k))
        if self._prod_i.size:
            m, v = _power_moments(low, high, 1)
            I, J = self._prod_i, self._prod_j
            mean[self._pos_prod] = m[I] * m[J]
            # Var(XY) for independent X, Y, without E[X²Y²] - E[XY]² cancellation.
            var[self._pos_prod] = v[I] * v[J] + v[I] * m[J] ** 2 + v[J] * m[I] ** 2
        if self._ind_i.size:
            a, b = low[self._ind_i], high[self._ind_i]
            overlap = np.minimum(self._ind_high, b) - np.maximum(self._ind_low, a)
            q = np.clip(overlap / (b - a), 0.0, 1.0)
            mean[self._pos_ind], var[self._pos_ind] = q, q * (1 - q)
        if self._leg_i.size:
            d = self._leg_deg
            # Shifted Legendre: orthogonal to P0 = 1 and ∫₀¹ P_d(2u - 1)² du = 1/(2d+1).
            mean[self._pos_leg] = np.where(d == 0, 1.0, 0.0)
            var[self._pos_leg] = np.where(d == 0, 0.0, 1 / (2 * d + 1))
        if self._fns:
            m, v = _custom_moments(self, low, high)
            mean[self._pos_cus], var[self._pos_cus] = m, v
        return mean, np.sqrt(np.maximum(var, 0.0))


def _power_moments(a: np.ndarray, b: np.ndarray, k: int):
    """Mean and variance of ``x ** k`` for x ~ U(a, b), elementwise in ``a, b``.

    With ``x = c + h s``, s ~ U(-1, 1), ``x**k - c**k = sum_j q_j s^j`` (j >= 1)
    and ``E[s^j] = 1/(j+1)`` for even j, else 0. This is stable for narrow boxes
    far from 0: no ``b^(k+1) - a^(k+1)`` cancellation, and the variance is taken
    of the centred polynomial.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    c, h = (a + b) / 2, (b - a) / 2

    def es(j):
        return 1 / (j + 1) if j % 2 == 0 else 0.0

    q = [math.comb(k, j) * c ** (k - j) * h**j for j in range(1, k + 1)]
    m = sum(es(j) * qj for j, qj in enumerate(q, start=1))
    m2 = sum(
        es(j1 + j2) * q1 * q2
        for j1, q1 in enumerate(q, start=1)
        for j2, q2 in enumerate(q, start=1)
    )
    return c**k + m, m2 - m**2


@partial(jax.jit, static_argnums=0)
def _custom_block(fm, u, low, high):
    return jax.vmap(fm._custom)(low + u * (high - low))


def _custom_moments(fm, low, high):
    """Monte-Carlo mean and variance of the Custom features under Uniform(box)."""
    key = jax.random.key(CUSTOM_MC_SEED)
    lo, hi = jnp.asarray(low), jnp.asarray(high)
    vals = []
    for b in range(CUSTOM_MC_POINTS // _CUSTOM_MC_BLOCK):
        u = jax.random.uniform(
            jax.random.fold_in(key, b), (_CUSTOM_MC_BLOCK, fm.n_features_in), lo.dtype
        )
        vals.append(np.asarray(_custom_block(fm, u, lo, hi), np.float64))
    vals = np.concatenate(vals)
    return vals.mean(axis=0), vals.var(axis=0, ddof=1)
