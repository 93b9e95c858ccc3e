"""A Gaussian's Fisher metric in closed form: a quadratic block's step unsampled.

Where the features hold a complete quadratic block -- ``x_i`` and ``x_i²``
for every variable and ``x_i x_j`` for every pair, as in the ``"quadratic"``
preset and every preset built on it -- the block's part of the model is
``exp(h·x - x·Px / 2)``. Where that is the model (up to a few other
features), its Fisher matrix, the covariance of ``x`` and ``x xᵀ``, is
known from ``(h, P)`` alone, and the natural step for a moment residual
``(r, R)`` (of ``E[x]`` and ``E[x xᵀ]``) is the change of the natural
parameters that the change of the moments implies, to first order::

    dS = R - r mᵀ - m rᵀ,   dP = -P dS P,   dh = dP m + P r,

with ``m``, ``S = P⁻¹`` the Gaussian's mean and covariance: ``O(n³)`` per
step, exact where the chains' Fisher, estimated from a few hundred chains
for ``n²/2`` features, is mostly damping. The same Gaussian moves the
chains (:func:`pcn_move`, every direction at its own scale) and is the
reference of annealed importance sampling
(:func:`skmaxent.core.logz.references.block_reference`); the
move composed with a sampling kernel is the kernel :class:`GaussianMove`. It
serves only where it is the model's: positive definite and well inside the
box (:func:`block_gaussian`); from a far start (the uniform one) the dual
takes the chains' Fisher until it is. The metric sets the path, not the
fixed point: the step is zero exactly where the moment residual is.
"""

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.linalg import cho_solve, solve_triangular

from skmaxent.core.energy import inside, to_unit, to_user
from skmaxent.core.features.blocks import quadratic_block
from skmaxent.core.features.feature_map import FeatureMap

__all__ = [
    "block_gaussian",
    "gaussian_step",
    "pcn_move",
    "GaussianMove",
]

_HIGHEST = "highest"


def _symmetric(diag, upper, pi, pj):
    """The symmetric matrix with ``diag`` and ``upper`` at ``(pi, pj)``."""
    n = diag.shape[0]
    M = jnp.zeros((n, n), diag.dtype).at[pi, pj].set(upper).at[pj, pi].set(upper)
    return M + jnp.diag(diag)


#: How many of its standard deviations the block's Gaussian must keep inside
#: the box on every axis to serve as the model's metric and proposal.
INSIDE_SD = 3.0


def block_gaussian(phi, geo, block):
    """``(P, L, m, ok)`` of the block's Gaussian ``exp(h·y - y·Py / 2)``
    (``y = x - shift``): precision, its Cholesky factor, mean, and whether
    it is the model's Gaussian: ``P`` positive definite and every marginal
    within :data:`INSIDE_SD` standard deviations of the box's walls, so that
    the box hardly truncates it. Where ``ok`` is False ``L`` is the identity.
    """
    lin, sq, prod, pi, pj = block
    coef = phi / geo.std
    P = _symmetric(-2.0 * coef[sq], -coef[prod], pi, pj)
    L = jnp.linalg.cholesky(P)
    ok = jnp.all(jnp.isfinite(L))
    L = jnp.where(ok, L, jnp.eye(L.shape[0], dtype=L.dtype))
    m = cho_solve((L, True), coef[lin])
    # diag(P⁻¹) = column sums of squares of L⁻¹
    Linv = solve_triangular(L, jnp.eye(L.shape[0], dtype=L.dtype), lower=True)
    sd = jnp.sqrt(jnp.sum(Linv * Linv, axis=0))
    y_low, y_high = geo.low - geo.shift, geo.high - geo.shift
    room = jnp.minimum(m - y_low, y_high - m) - INSIDE_SD * sd
    ok = ok & jnp.all(room >= 0) & jnp.all(jnp.isfinite(m))
    return P, L, m, ok


def gaussian_step(direction, geo, block, gaussian):
    """The Gaussian metric's natural step on the block, and its squared norm.

    ``direction`` (p,) the standardised moment residual (targets minus
    model); ``geo`` the energy's :class:`~skmaxent.core.energy.Geometry`;
    ``gaussian`` :func:`block_gaussian`'s ``(P, L, m, ok)``. Returns
    ``(step, norm2)``: ``step`` (p,) in standardised coordinates, zero off
    the block; ``norm2 = step·direction``, its squared Fisher norm (in the
    Gaussian metric).
    """
    lin, sq, prod, pi, pj = block
    P, _, m, _ = gaussian
    std = geo.std
    raw = direction * std  # residual of the raw moments
    r = raw[lin]
    R = _symmetric(raw[sq], raw[prod], pi, pj)
    dS = R - jnp.outer(r, m) - jnp.outer(m, r)
    dP = -jnp.matmul(P, jnp.matmul(dS, P, precision=_HIGHEST), precision=_HIGHEST)
    dh = dP @ m + P @ r
    step = jnp.zeros_like(direction)
    step = step.at[lin].set(dh * std[lin])
    step = step.at[sq].set(-0.5 * jnp.diag(dP) * std[sq])
    step = step.at[prod].set(-dP[pi, pj] * std[prod])
    return step, jnp.maximum(step @ direction, 0.0)


#: Autocorrelations of the Crank–Nicolson proposals, one drawn per chain and
#: move: 0 is an independent draw from the Gaussian (exact where the model is
#: that Gaussian), the others local moves for models that are not.
RHOS = (0.0, 0.6, 0.9, 0.98)


def pcn_move(key, chains, eg, geo, gaussian):
    """One preconditioned Crank–Nicolson move of every chain, exact for the model.

    The proposal ``y' = m + rho (y - m) + sqrt(1 - rho²) z``, ``z ~ N(0, P⁻¹)``
    (``gaussian``, :func:`block_gaussian`'s ``(P, L, m, ok)``), leaves
    ``N(m, P⁻¹)`` invariant, so the Metropolis ratio involves only the
    model's departure from it, ``E - G``; a proposal outside the support is
    rejected. All directions move at once whatever their scale: the common
    mode of strongly correlated variables, which a scalar HMC step crosses in
    hundreds of transitions, in one. ``rho`` is drawn per chain from
    :data:`RHOS` (a mixture of reversible kernels is reversible).
    ``chains`` are batched HMC states whose cache is ``eg``'s; returns them
    moved (cache updated), unmoved where ``ok`` is False.
    """
    P, L, m, ok = gaussian

    def move(chains):
        U = chains.position
        C, n = U.shape
        k_z, k_rho, k_u = jax.random.split(key, 3)
        xi = jax.random.normal(k_z, (n, C), U.dtype)
        z = solve_triangular(L, xi, lower=True, trans="T").T  # rows ~ N(0, P⁻¹)
        pick = jax.random.randint(k_rho, (C, 1), 0, len(RHOS))
        rho = jnp.asarray(RHOS, U.dtype)[pick]
        y = to_user(geo, U) - geo.shift
        y_new = m + rho * (y - m) + jnp.sqrt(1.0 - rho * rho) * z
        U_new = to_unit(geo, y_new + geo.shift)
        e_new, g_new = jax.vmap(eg)(U_new)

        def gauss(yy):
            d = yy - m
            return 0.5 * jnp.sum(d * jnp.matmul(d, P, precision=_HIGHEST), axis=-1)

        log_ratio = -(e_new - gauss(y_new)) + (chains.energy - gauss(y))
        log_u = jnp.log(jax.random.uniform(k_u, (C,), U.dtype))
        accept = inside(geo, U_new) & jnp.isfinite(log_ratio) & (log_u < log_ratio)
        a = accept[:, None]
        return chains._replace(
            position=jnp.where(a, U_new, U).astype(U.dtype),
            energy=jnp.where(accept, e_new, chains.energy).astype(chains.energy.dtype),
            energy_grad=jnp.where(a, g_new, chains.energy_grad).astype(
                chains.energy_grad.dtype
            ),
        )

    return jax.lax.cond(ok, move, lambda c: c, chains)


@dataclass(frozen=True)
class GaussianMove:
    """A kernel (:mod:`skmaxent.core.sampling.kernel`): ``inner``'s transition, then
    :func:`pcn_move` from the block's Gaussian at the target's parameters
    (none where that is not the model's, :func:`block_gaussian`).

    ``inner`` is a kernel whose state caches the energy and its gradient
    (:class:`~skmaxent.core.sampling.hmc.ReflectiveHMC`), which the move keeps
    current; its parameters and adaptation are ``inner``'s. ``fm`` is the
    linear energy's feature map, with a complete quadratic block
    (:func:`~skmaxent.core.features.blocks.quadratic_block`); the target
    must carry ``theta`` and ``geo``.
    """

    inner: Any
    fm: FeatureMap

    def init(self, positions, target):
        return self.inner.init(positions, target)

    def step(self, key, state, target, params):
        state, info = self.inner.step(key, state, target, params)
        block = quadratic_block(self.fm)
        gaussian = block_gaussian(target.theta, target.geo, block)
        eg, geo = target.energy_and_grad, target.geo
        return pcn_move(jax.random.fold_in(key, 1), state, eg, geo, gaussian), info

    def adapt(self, params, info, target_accept, gain):
        return self.inner.adapt(params, info, target_accept, gain)
