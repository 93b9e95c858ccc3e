"""The compiled feature map, so that evaluating many features costs a few array ops.

A :class:`FeatureMap` groups the features of a tuple of specs (from
:mod:`skmaxent.core.specs`) by kind -- unary powers, Legendre polynomials,
indicators, features of pairs (:mod:`skmaxent.core.pairs`: products, Legendre
tensor products, 2-D bins), custom functions -- and stores each group as
NumPy index arrays, so evaluating it is a few gathers and elementwise ops
whose number does not depend on the number of features. One Legendre table
serves the unary and the tensor-product features. Custom functions are
opaque, so they are the only per-feature Python loop. This is the hot path of
every estimator.
"""

from collections import Counter
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from skmaxent.core import pairs
from skmaxent.core import specs as sp
from skmaxent.core.legendre import clipped_table, sum_rows
from skmaxent.core.pairs import slot_gather, slots
from skmaxent.core.presets import resolve_features
from skmaxent.core.uniform_moments import uniform_moments as _uniform_moments

__all__ = ["FeatureMap", "compile_features"]

#: Group names, in the order of :data:`skmaxent.core.specs.SPEC_TYPES`.
_KINDS = ("mom", "prod", "ind", "leg", "pw", "i2", "cus")


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
        names = tuple(sp._name(s, cols) for s in specs)
        if len(set(names)) != len(names):
            dup = sorted(s for s, c in Counter(names).items() if c > 1)
            raise ValueError(f"feature names must be unique; duplicated: {dup}.")
        kinds = {
            t: [k for k, s in enumerate(specs) if type(s) is t] for t in sp.SPEC_TYPES
        }

        def arr(kind, attr, dtype=np.int32):
            return np.array([getattr(specs[k], attr) for k in kinds[kind]], dtype=dtype)

        d = self.__dict__
        d["specs"], d["n_features_in"], d["names"] = specs, n, names
        d["input_names"] = input_names
        d["n_features_out"] = len(specs)
        d["differentiable"] = not (kinds[sp.Indicator] or kinds[sp.Indicator2])
        d["_key"] = (specs, n, names)
        d["_hash"] = hash(d["_key"])
        order = [np.array(kinds[t], dtype=np.int32) for t in sp.SPEC_TYPES]
        d["_groups"] = tuple(order)  # feature positions of each kind (see _split)
        for kind, pos in zip(_KINDS, order):
            d[f"_pos_{kind}"] = pos
        perm = np.concatenate(order)
        in_order = np.array_equal(perm, np.arange(perm.size))
        d["_inverse"] = None if in_order else np.argsort(perm).astype(np.int32)
        d["_mom_i"], d["_mom_pow"] = arr(sp.Moment, "i"), arr(sp.Moment, "power")
        d["_max_pow"] = int(d["_mom_pow"].max(initial=0))
        d["_prod_i"], d["_prod_j"] = arr(sp.Product, "i"), arr(sp.Product, "j")
        d["_dense_prod"] = pairs.dense_products(d["_prod_i"].size, n)
        for f in "ijab":
            d[f"_pw_{f}"] = arr(sp.Pairwise, f)
        tables = pairs.bin_tables(specs, kinds[sp.Indicator2])
        d["_i2_i"], d["_i2_j"], d["_i2_lo"], d["_i2_hi"] = tables
        d["_ind_i"] = arr(sp.Indicator, "i")
        d["_ind_low"] = arr(sp.Indicator, "low", np.float64)
        d["_ind_high"] = arr(sp.Indicator, "high", np.float64)
        d["_leg_i"], d["_leg_deg"] = arr(sp.Legendre, "i"), arr(sp.Legendre, "degree")
        degrees = np.concatenate([d["_leg_deg"], d["_pw_a"], d["_pw_b"]])
        d["_max_deg"] = int(degrees.max(initial=-1))  # one table for both kinds
        d["_mom_slots"] = slots(d["_mom_pow"], d["_mom_i"], (d["_max_pow"] + 1, n))
        d["_leg_slots"] = slots(d["_leg_deg"], d["_leg_i"], (d["_max_deg"] + 1, n))
        d["_prod_slots"] = (
            slots(d["_prod_i"], d["_prod_j"], (n, n), True)
            if d["_dense_prod"]
            else None
        )
        d["_fns"] = tuple(specs[k].fn for k in kinds[sp.Custom])
        d["_fn_names"] = tuple(specs[k].name for k in kinds[sp.Custom])

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
        return [_take(coef, pos) for pos in self._groups]

    def _consts(self, x, low, high):
        dt = x.dtype
        return jnp.asarray(low, dt), jnp.asarray(high, dt)

    # ------------------------------------------------------------ hot path
    def _bins(self, x):
        xi = _take(x, self._ind_i, x.ndim - 1)
        lo = jnp.asarray(self._ind_low, x.dtype)
        hi = jnp.asarray(self._ind_high, x.dtype)
        return ((xi >= lo) & (xi < hi)).astype(x.dtype)

    def _table(self, x, low, high, derivative=False):
        """The clipped Legendre table of every Legendre and Pairwise feature."""
        return clipped_table(x, low, high, self._max_deg, derivative)

    def values(self, x, low, high):
        """All features at one point ``x`` (n,) in user units; shape ``(p,)``."""
        x = self._check(x, 1)
        low, high = self._consts(x, low, high)
        P = self._table(x, low, high)
        blocks = []
        if self._mom_i.size:
            blocks.append(self._powers(x)[self._mom_pow, self._mom_i])
        if self._prod_i.size:
            blocks.append(pairs.product_values(self, x))
        if self._ind_i.size:
            blocks.append(self._bins(x))
        if self._leg_i.size:
            blocks.append(P[self._leg_deg, self._leg_i])
        if self._pw_i.size:
            blocks.append(pairs.pairwise_values(self, P))
        if self._i2_i.size:
            blocks.append(pairs.bins_values(self, x))
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
        column sums of ``X ** k``, dense products from ``Xᵀ diag(w) X`` (no
        ``(N, p)`` intermediate for them), so that means, Fisher-vector
        products (weights ``(s - s̄) / N`` for scores ``s``) and second moments
        of the quadratic preset cost ``O(N n²)`` for ``p = O(n²)`` features.
        """
        X = self._check(X, 2)
        low, high = self._consts(X, low, high)
        N = X.shape[0]
        w = jnp.full((N,), 1.0 / N, X.dtype) if weights is None else weights

        def sq(v):
            return v * v if square else v

        P = self._table(X, low, high)
        blocks = []
        if self._mom_i.size:
            k2 = 2 if square else 1
            M = jnp.stack(
                [jnp.full(X.shape[1], jnp.sum(w), X.dtype)]
                + [w @ X ** (k2 * k) for k in range(1, self._max_pow + 1)]
            )
            blocks.append(M[self._mom_pow, self._mom_i])
        if self._prod_i.size:
            blocks.append(pairs.product_mean(self, X, w, square))
        if self._ind_i.size:
            blocks.append(w @ self._bins(X))
        if self._leg_i.size:
            L = jnp.einsum("r,dri->di", w, sq(P))
            blocks.append(L[self._leg_deg, self._leg_i])
        if self._pw_i.size:
            blocks.append(sq(pairs.pairwise_values(self, P)) @ w)
        if self._i2_i.size:
            blocks.append(w @ pairs.bins_values(self, X))
        if self._fns:
            blocks.append(w @ sq(jax.vmap(self._custom)(X)))
        return self._arrange(blocks)

    def _coef_tables(self, coef, x):
        """Per-kind coefficient arrays, laid out by gathers from static slots.

        Entries are unique, so a gather does what a scatter-add would.
        """
        c = dict(zip(_KINDS, self._split(jnp.asarray(coef, x.dtype))))
        t = {k: v for k, v in c.items() if v.shape[0]}
        if "mom" in t:
            t["mom"] = slot_gather(c["mom"], self._mom_slots)
        if "prod" in t:
            t["prod"] = pairs.product_table(self, c["prod"])
        if "leg" in t:
            t["leg"] = slot_gather(c["leg"], self._leg_slots)
        return t

    def _custom_energy(self, c, x):
        return jnp.dot(c, self._custom(x))

    def energy(self, coef, x, low, high):
        """``-coef · f(x)`` at one point ``x`` (n,); a scalar."""
        x = self._check(x, 1)
        low, high = self._consts(x, low, high)
        t = self._coef_tables(coef, x)
        P = self._table(x, low, high)
        e = jnp.zeros((), x.dtype)
        if "mom" in t:
            h = t["mom"][self._max_pow]  # Horner, as in energy_grad
            for k in range(self._max_pow - 1, -1, -1):
                h = h * x + t["mom"][k]
            e = e + jnp.sum(h)
        if "prod" in t:
            e = e + pairs.product_energy(self, t["prod"], x)
        if "ind" in t:
            e = e + jnp.dot(t["ind"], self._bins(x))
        if "leg" in t:
            e = e + jnp.sum(t["leg"] * P)
        if "pw" in t:
            e = e + jnp.dot(t["pw"], pairs.pairwise_values(self, P))
        if "i2" in t:
            e = e + jnp.dot(t["i2"], pairs.bins_values(self, x))
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
            # Horner: sum_k k c_k x^(k-1), elementwise on (n,) (see sum_rows).
            d = t["mom"][self._max_pow] * self._max_pow
            for k in range(self._max_pow - 1, 0, -1):
                d = d * x + k * t["mom"][k]
            g = g + d
        if "prod" in t:
            g = g + pairs.product_grad(self, t["prod"], x)
        if self._max_deg > 0 and ("leg" in t or "pw" in t):
            P, D = self._table(x, low, high, derivative=True)
            if "leg" in t:
                g = g + sum_rows(t["leg"] * D)
            if "pw" in t:
                g = g + pairs.pairwise_grad(self, t["pw"], P, D)
        if "cus" in t:
            g = g + jax.grad(self._custom_energy, argnums=1)(t["cus"], x)
        return -g

    # ------------------------------------------------------- uniform moments
    def uniform_moments(
        self, low, high, *, n_points: int = 65_536, seed: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of each feature under Uniform(box), float64.

        Closed forms for Moment, Product, Indicator and Legendre; Monte Carlo
        with ``n_points`` points and the fixed key ``jax.random.key(seed)`` for
        Custom (see :func:`skmaxent.core.uniform_moments.uniform_moments`).
        """
        return _uniform_moments(self, low, high, n_points=n_points, seed=seed)
