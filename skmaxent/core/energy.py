"""One energy interface for the chains and every objective: linear or any pytree energy.

An energy is a static (hashable) object ``E`` with parameters ``theta``, one
flat vector, evaluated on the unit box through a :class:`Geometry` (traced):

- ``E.on_unit(theta, geo)`` -> per-point ``u -> (E(u), dE/du)``, what the
  HMC kernel needs (the chain rule through ``x = low + u (high - low)``);
- ``E.param_dot(theta, geo, U, F, w)`` -> ``sum_c w_c grad_theta E(u_c)``,
  the contraction every covariance estimator needs (``F`` are the chains'
  standardised features, which the linear energy's gradient is).

:class:`Linear` is ``E = -(theta / std)·f(x - shift)`` over a feature map,
with the map's analytic x-gradient and ``grad_theta E = -g`` (no autodiff);
:class:`Flat` wraps any object with ``init``/``__call__`` (an MLP, a user
energy), its parameter pytree flattened to ``theta``, gradients by
``jax.grad``. Nothing else in the core asks which one it has.
"""

from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from skmaxent.core.types import Array

__all__ = [
    "Geometry",
    "Linear",
    "Flat",
    "flatten",
    "unit_geometry",
    "to_user",
    "to_unit",
    "inside",
    "clip",
]


class Geometry(NamedTuple):
    """Where an energy lives (traced, so boxes of one shape share compiled code).

    low, high : (n,) the box in user units; chains move on ``[0, 1]^n``.
    shift : (n,) the linear energy's features are taken at ``x - shift`` on
        the shifted box (centred coordinates); zeros otherwise.
    mean, std : (p,) the standardisation ``g = (f - mean) / std`` of those
        features, ``coef = theta / std`` (ones and zeros for a plain ``coef``).
    walls : None when the support is the box ``[low, high]``; otherwise (n,)
        int32 codes of :func:`skmaxent.core.sampling.hmc.reflect` (3: both walls, 1:
        ``[low, inf)``, 2: ``(-inf, high]``, 0: the line), and ``[low, high]``
        is only the reference box that scales the chains' coordinates (and
        the interval of Legendre features). ``None`` compiles the plain box
        kernel; a walls array, one shared program for every support pattern.
    """

    low: Array
    high: Array
    shift: Array
    mean: Array
    std: Array
    walls: Any = None


def unit_geometry(low, high, p: int, walls=None) -> Geometry:
    """A :class:`Geometry` with ``theta = coef`` (no shift, no standardisation)."""
    low = np.asarray(low, np.float32)
    high = np.asarray(high, np.float32)
    zeros, ones = np.zeros(p, np.float32), np.ones(p, np.float32)
    return Geometry(low, high, np.zeros_like(low), zeros, ones, walls)


def inside(geo: Geometry, u: Array) -> Array:
    """Whether points ``u`` (..., n) of the unit coordinates lie in the support."""
    if geo.walls is None:
        return jnp.all((u >= 0) & (u <= 1), axis=-1)
    ok = ((geo.walls & 1) == 0) | (u >= 0)
    ok &= ((geo.walls & 2) == 0) | (u <= 1)
    return jnp.all(ok, axis=-1)


def clip(geo: Geometry, u: Array) -> Array:
    """Points ``u`` (..., n) moved to the nearest point of the support."""
    if geo.walls is None:
        return jnp.clip(u, 0.0, 1.0)
    u = jnp.where((geo.walls & 1) != 0, jnp.maximum(u, 0.0), u)
    return jnp.where((geo.walls & 2) != 0, jnp.minimum(u, 1.0), u)


def to_user(geo: Geometry, u: Array) -> Array:
    """Points ``u`` (..., n) of the unit box in user units."""
    return geo.low + u * (geo.high - geo.low)


def to_unit(geo: Geometry, x: Array) -> Array:
    """Points ``x`` (..., n) in user units on the unit box."""
    return (x - geo.low) / (geo.high - geo.low)


@dataclass(frozen=True)
class Linear:
    """``E(x) = -(theta / std)·f(x - shift)`` for a feature map ``fm`` (static)."""

    fm: Any

    def on_unit(self, theta: Array, geo: Geometry):
        fm, width, coef = self.fm, geo.high - geo.low, theta / geo.std
        lo, hi = geo.low - geo.shift, geo.high - geo.shift

        def energy_and_grad(u):
            x = to_user(geo, u) - geo.shift
            return fm.energy(coef, x, lo, hi), fm.energy_grad(coef, x, lo, hi) * width

        return energy_and_grad

    def features(self, geo: Geometry, X: Array) -> Array:
        """Standardised features ``g`` (N, p) at points ``X`` (N, n) in user units."""
        lo, hi = geo.low - geo.shift, geo.high - geo.shift
        return (self.fm.values_batch(X - geo.shift, lo, hi) - geo.mean) / geo.std

    def param_dot(self, theta, geo, U, F, w):
        """``sum_c w_c grad_theta E(u_c) = -Fᵀ w``: no autodiff, no (C, p) Jacobian."""
        del theta, geo, U
        return -(F.T @ w)


@dataclass(frozen=True)
class Flat:
    """An ``init``/``__call__`` energy seen as ``E(theta, u)``, ``theta`` flat.

    ``treedef`` and ``shapes`` rebuild the parameter pytree. With
    ``unit_box`` the energy is called on the unit box directly,
    ``energy.on_unit_box(params, u)`` (the compiled code then does not
    depend on the box); otherwise ``energy(params, low + u (high - low))`` in
    user units.
    """

    energy: Any
    treedef: Any
    shapes: tuple
    unit_box: bool = False

    def unravel(self, theta: Array):
        sizes = [int(np.prod(s)) for s in self.shapes]
        parts = jnp.split(theta, np.cumsum(sizes)[:-1]) if sizes else []
        leaves = [part.reshape(s) for part, s in zip(parts, self.shapes)]
        return jax.tree.unflatten(self.treedef, leaves)

    def __call__(self, theta: Array, u: Array, geo: Geometry) -> Array:
        params = self.unravel(theta)
        if self.unit_box:
            return self.energy.on_unit_box(params, u)
        return self.energy(params, to_user(geo, u))

    def on_unit(self, theta: Array, geo: Geometry):
        return jax.value_and_grad(lambda u: self(theta, u, geo))

    def param_dot(self, theta, geo, U, F, w):
        """``Hᵀ w`` with ``H`` (C, K) the per-chain parameter gradients."""
        del F
        grad = jax.grad(self.__call__)
        H = jax.vmap(lambda u: grad(theta, u, geo))(U)
        return H.T @ w


def flatten(energy, params, unit_box: bool = False) -> tuple[np.ndarray, Flat]:
    """``theta`` (float32 vector) and the :class:`Flat` energy of a params
    pytree (``unit_box``: see :class:`Flat`)."""
    leaves, treedef = jax.tree.flatten(params)
    shapes = tuple(tuple(np.shape(leaf)) for leaf in leaves)
    theta = np.concatenate([np.asarray(leaf, np.float32).ravel() for leaf in leaves])
    return theta, Flat(energy, treedef, shapes, unit_box)
