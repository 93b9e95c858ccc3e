"""Custom features ``fn(x)``: opaque JAX functions, the one per-feature Python loop.

Values stack the functions' outputs at a point (vmapped over rows), the
gradient is ``jax.grad`` of the energy, and the uniform moments are a
Monte-Carlo estimate with a fixed key; their range and growth are unknown.
"""

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from skmaxent.core import programs
from skmaxent.core.features.base import Kind

__all__ = ["Custom", "Customs"]

#: Points per Monte-Carlo block (one compilation for all full blocks).
_CUSTOM_MC_BLOCK = 8_192


@dataclass(frozen=True)
class Custom:
    """``fn(x)``, a JAX-traceable scalar function of one point ``x``.

    ``x`` has shape ``(n_features_in_,)`` and is in user units.

    Parameters
    ----------
    fn : callable
        ``fn(x) -> scalar``, written with ``jax.numpy``.
    name : str
        The feature's name in ``get_feature_names_out()``.
    """

    fn: Callable
    name: str

    def __post_init__(self):
        if not callable(self.fn):
            raise TypeError(f"Custom.fn must be callable; got {self.fn!r}.")
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Custom.name must be a non-empty str; got {self.name!r}.")


class Customs(Kind):
    """The :class:`Custom` features of a map (see :class:`~.base.Kind`).

    Equality and hash are those of ``(specs, n)``, so that the group is the
    static argument of its Monte-Carlo program.
    """

    spec, key = Custom, "cus"

    def __init__(self, specs, positions, n: int):
        super().__init__(specs, positions, n)
        self.fns = tuple(s.fn for s in specs)
        self.fn_names = tuple(s.name for s in specs)

    def __eq__(self, other):
        if not isinstance(other, Customs):
            return NotImplemented
        return (self.specs, self.n) == (other.specs, other.n)

    def __hash__(self):
        return hash((self.specs, self.n))

    @classmethod
    def columns(cls, spec):
        return ()

    @classmethod
    def name(cls, spec, cols):
        return spec.name

    def values(self, x, ctx=None):
        """The functions' values at one point ``x`` (n,); shape ``(m,)``."""
        out = []
        for fn, name in zip(self.fns, self.fn_names):
            v = jnp.asarray(fn(x))
            if v.shape != ():
                raise ValueError(
                    f"Custom feature {name!r} returned shape {v.shape}; its fn must "
                    "return a scalar for one point x of shape (n_features_in,)."
                )
            out.append(v.astype(x.dtype))
        return jnp.stack(out)

    def mean(self, X, w, square, ctx):
        v = jax.vmap(self.values)(X)
        return w @ (v * v if square else v)

    def _energy(self, c, x):
        return jnp.dot(c, self.values(x))

    def energy(self, t, x, ctx):
        return self._energy(t, x)

    def grad(self, t, x, ctx):
        return jax.grad(self._energy, argnums=1)(t, x)

    def uniform_moments(self, low, high, n_points, seed):
        """Monte-Carlo mean and variance under Uniform(box).

        ``n_points`` uniform points in blocks of ``_CUSTOM_MC_BLOCK``, block ``b``
        drawn with ``fold_in(key(seed), b)``; the last block may be shorter.
        """
        key = jax.random.key(seed)
        lo, hi = jnp.asarray(low), jnp.asarray(high)
        vals = []
        for b, start in enumerate(range(0, n_points, _CUSTOM_MC_BLOCK)):
            shape = (min(_CUSTOM_MC_BLOCK, n_points - start), self.n)
            u = jax.random.uniform(jax.random.fold_in(key, b), shape, lo.dtype)
            vals.append(np.asarray(_block(self, u, lo, hi), np.float64))
        vals = np.concatenate(vals)
        with np.errstate(invalid="ignore", over="ignore"):  # non-finite: reported
            return vals.mean(axis=0), vals.var(axis=0, ddof=1)


@programs.jit(static_argnums=0)
def _block(group, u, low, high):
    return jax.vmap(group.values)(low + u * (high - low))
