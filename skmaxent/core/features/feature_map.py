"""The compiled feature map, so that evaluating many features costs a few array ops.

A :class:`FeatureMap` groups the features of a tuple of specs (from
:mod:`skmaxent.core.features`) by kind -- one group per registered kind present
(:data:`skmaxent.core.features.KINDS`: unary powers, products, indicators,
Legendre polynomials, Legendre tensor products, 2-D bins, custom functions)
-- and each group holds NumPy index arrays, so evaluating it is a few gathers
and elementwise ops whose number does not depend on the number of features.
The map loops over the handful of groups present at trace time and
concatenates their blocks; one Legendre table
(:class:`~skmaxent.core.features.base.Context`) serves every kind that reads
it. Custom functions are opaque, so they are the only per-feature Python
loop. This is the hot path of every estimator.
"""

from collections import Counter
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from skmaxent.core.features import KINDS, Context, kind_of
from skmaxent.core.features.base import take as _take
from skmaxent.core.features.presets import resolve_features
from skmaxent.core.features.uniform_moments import uniform_moments as _uniform_moments

__all__ = ["FeatureMap", "compile_features"]


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
        False if any feature is an Indicator (or of another kind without a
        gradient).
    groups : tuple of :class:`~skmaxent.core.features.base.Kind`
        One group per registered kind present, in registry order; each holds
        its features' positions and public index tables.
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
        names = tuple(kind_of(s).name(s, cols) for s in specs)
        if len(set(names)) != len(names):
            dup = sorted(s for s, c in Counter(names).items() if c > 1)
            raise ValueError(f"feature names must be unique; duplicated: {dup}.")
        of_kind = [kind_of(s) for s in specs]
        groups = []
        for kind in KINDS:
            pos = np.array([k for k, c in enumerate(of_kind) if c is kind], np.int32)
            if pos.size:
                groups.append(kind(tuple(specs[k] for k in pos), pos, n))
        d = self.__dict__
        d["specs"], d["n_features_in"], d["names"] = specs, n, names
        d["input_names"] = input_names
        d["n_features_out"] = len(specs)
        d["groups"] = tuple(groups)
        d["differentiable"] = all(g.differentiable for g in groups)
        d["_key"] = (specs, n, names)
        d["_hash"] = hash(d["_key"])
        perm = np.concatenate([g.positions for g in groups])
        in_order = np.array_equal(perm, np.arange(perm.size))
        d["_inverse"] = None if in_order else np.argsort(perm).astype(np.int32)
        # One Legendre table for every kind that reads it.
        d["_degree"] = max((g.degree for g in groups), default=-1)

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
    def group(self, spec_type):
        """The group of the features of class ``spec_type``, or ``None``."""
        for g in self.groups:
            if g.spec is spec_type:
                return g
        return None

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

    def _arrange(self, blocks):
        """Concatenate kind blocks (last axis) and put them in spec order."""
        out = jnp.concatenate([b for b in blocks if b.shape[-1]], axis=-1)
        return out if self._inverse is None else jnp.take(out, self._inverse, axis=-1)

    def _context(self, x, low, high):
        dt = x.dtype
        return Context(x, jnp.asarray(low, dt), jnp.asarray(high, dt), self._degree)

    # ------------------------------------------------------------ hot path
    def values(self, x, low, high):
        """All features at one point ``x`` (n,) in user units; shape ``(p,)``."""
        x = self._check(x, 1)
        ctx = self._context(x, low, high)
        ctx.table()
        return self._arrange([g.values(x, ctx) for g in self.groups])

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
        ctx = self._context(X, low, high)
        N = X.shape[0]
        w = jnp.full((N,), 1.0 / N, X.dtype) if weights is None else weights
        ctx.table()
        return self._arrange([g.mean(X, w, square, ctx) for g in self.groups])

    def _coef_tables(self, coef, ctx):
        """Per-group coefficient arrays, laid out by gathers from static slots."""
        coef = jnp.asarray(coef, ctx.x.dtype)
        split = [_take(coef, g.positions) for g in self.groups]
        return [g.coef_table(c, ctx) for g, c in zip(self.groups, split)]

    def energy(self, coef, x, low, high):
        """``-coef · f(x)`` at one point ``x`` (n,); a scalar."""
        x = self._check(x, 1)
        ctx = self._context(x, low, high)
        tables = self._coef_tables(coef, ctx)
        ctx.table()
        e = jnp.zeros((), x.dtype)
        for g, t in zip(self.groups, tables):
            e = e + g.energy(t, x, ctx)
        return -e

    def energy_grad(self, coef, x, low, high):
        """Analytic ``d energy / dx`` at one point ``x`` (n,) in user units."""
        x = self._check(x, 1)
        ctx = self._context(x, low, high)
        tables = self._coef_tables(coef, ctx)
        g = jnp.zeros_like(x)
        for group, t in zip(self.groups, tables):
            d = group.grad(t, x, ctx)
            if d is not None:
                g = g + d
        return -g

    # ------------------------------------------------------- uniform moments
    def uniform_moments(
        self, low, high, *, n_points: int = 65_536, seed: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of each feature under Uniform(box), float64.

        Closed forms for every kind but Custom; Monte Carlo with ``n_points``
        points and the fixed key ``jax.random.key(seed)`` for Custom (see
        :func:`skmaxent.core.features.uniform_moments.uniform_moments`).
        """
        return _uniform_moments(self, low, high, n_points=n_points, seed=seed)
