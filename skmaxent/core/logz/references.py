"""AIS's normalised references: defensive Gaussians on the unit box from the
chains or from a quadratic block, their exact draws and log-densities.
"""

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from skmaxent.core.features.blocks import quadratic_block
from skmaxent.core.sampling import hmc
from skmaxent.core.types import Array

__all__ = ["Reference", "WIDE", "reference_from", "block_reference"]


class Reference(NamedTuple):
    """A defensive Gaussian reference on the unit box coordinates.

    ``q(u) = (1 - eps) N(u; mean, S) + eps D(u)``: a normalised density on
    R^n, with the defensive part ``D`` uniform on ``[0, 1]`` along axes with
    two walls and ``N(mean_i, wide_i²)`` along the others (``walls`` as in
    :class:`~skmaxent.core.energy.Geometry`; ``None``: ``D`` is the uniform
    distribution on the box). ``scale`` is the Cholesky factor of ``S`` (n, n), or its
    square-root diagonal (n,), and ``inverse`` its inverse (a matrix-vector
    product per evaluation: batched triangular solves are slow on CPU). A
    Gaussian fitted to the model's chains makes the annealing path short
    for near-Gaussian models (strong correlations included) where the path
    from the uniform distribution is long; the uniform share ``eps`` bounds
    the weights where the Gaussian has thin tails.
    """

    mean: Array
    scale: Array
    inverse: Array
    eps: Array
    wide: Array | None = None
    walls: Array | None = None


#: Standard deviations of the defensive Gaussian along axes without two walls,
#: in units of the chains' own.
WIDE = 3.0


def reference_from(positions: Array, eps, inflate, full: bool, walls=None) -> Reference:
    """The :class:`Reference` of chain ``positions`` (C, n) on the unit box.

    Mean and covariance of the chains, the covariance shrunk towards its
    diagonal by ``n / C`` (few chains, many variables) and widened by
    ``inflate`` (standard deviations), a full Cholesky factor or a diagonal.
    ``walls`` (the support's, or None for the box) set the defensive part.
    """
    C, n = positions.shape
    mean = jnp.mean(positions, axis=0)
    centred = positions - mean
    cov = centred.T @ centred / (C - 1)
    var = jnp.diag(cov)
    floor = 1e-6 + 1e-3 * jnp.mean(var)
    eps = jnp.asarray(eps)
    wide = None if walls is None else WIDE * jnp.sqrt(var + floor)
    if not full:
        scale = inflate * jnp.sqrt(var + floor)
        return Reference(mean, scale, 1.0 / scale, eps, wide, walls)
    shrink = min(1.0, n / C)
    cov = (1 - shrink) * cov + shrink * jnp.diag(var) + floor * jnp.eye(n)
    L = inflate * jnp.linalg.cholesky(cov)
    inverse = jax.scipy.linalg.solve_triangular(L, jnp.eye(n), lower=True)
    return Reference(mean, L, inverse, eps, wide, walls)


def _log_gaussian(ref: Reference, u: Array) -> Array:
    n = u.shape[0]
    if ref.scale.ndim == 1:
        z = (u - ref.mean) * ref.inverse
        log_det = jnp.sum(jnp.log(ref.scale))
    else:
        z = ref.inverse @ (u - ref.mean)
        log_det = jnp.sum(jnp.log(jnp.diag(ref.scale)))
    return -0.5 * z @ z - log_det - 0.5 * n * jnp.log(2 * jnp.pi)


def _draw(key, ref: Reference | None, n_particles: int, n_dim: int):
    """Exact draws (n_particles, n_dim) of the reference (None: uniform on the box)."""
    k_u, k_g, k_c = jax.random.split(key, 3)
    uniform = jax.random.uniform(k_u, (n_particles, n_dim))
    if ref is None:
        return uniform
    z = jax.random.normal(k_g, (n_particles, n_dim))
    if ref.scale.ndim == 1:
        gauss = ref.mean + z * ref.scale
    else:
        gauss = ref.mean + z @ ref.scale.T
    defensive = uniform
    if ref.walls is not None:
        wide = ref.mean + ref.wide * jax.random.normal(k_u, (n_particles, n_dim))
        defensive = jnp.where(ref.walls == hmc.BOX, uniform, wide)
    pick = jax.random.uniform(k_c, (n_particles, 1)) < ref.eps
    return jnp.where(pick, defensive, gauss)


def _log_defensive(ref: Reference, u: Array) -> Array:
    """``log D(u)``: uniform on the box's axes, wide Gaussians on the others."""
    in_box = (u >= 0) & (u <= 1)
    if ref.walls is None:
        return jnp.where(jnp.all(in_box), 0.0, -jnp.inf)
    z = (u - ref.mean) / ref.wide
    log_n = -0.5 * z * z - jnp.log(ref.wide) - 0.5 * jnp.log(2 * jnp.pi)
    box = ref.walls == hmc.BOX
    log_u = jnp.where(in_box, 0.0, -jnp.inf)
    return jnp.sum(jnp.where(box, log_u, log_n))


def _minus_log_q(ref: Reference | None, u: Array) -> Array:
    if ref is None:
        return jnp.zeros((), u.dtype)
    log_d = jnp.log(ref.eps) + _log_defensive(ref, u)
    return -jnp.logaddexp(jnp.log1p(-ref.eps) + _log_gaussian(ref, u), log_d)


def block_reference(fm, theta, geo, eps):
    """The block's Gaussian (without the box) as an AIS reference on the unit
    box coordinates (:class:`~skmaxent.core.logz.ais.Reference`, on the host), or
    ``None`` where ``fm`` has no complete quadratic block, its precision is
    not positive definite, or the support is not the box.

    A full-covariance reference that follows every correlation at any
    number of variables, where one estimated from a few hundred chains
    cannot (the chains' covariance has rank below their number).
    """
    block = quadratic_block(fm)
    if block is None or geo.walls is not None:
        return None
    lin, sq, prod, pi, pj = block
    coef = np.asarray(theta, np.float64) / np.asarray(geo.std, np.float64)
    n = fm.n_features_in
    P = np.zeros((n, n))
    P[pi, pj] = P[pj, pi] = -coef[prod]
    P[np.arange(n), np.arange(n)] = -2.0 * coef[sq]
    try:
        L = np.linalg.cholesky(P)
    except np.linalg.LinAlgError:
        return None
    low, high = (np.asarray(a, np.float64) for a in (geo.low, geo.high))
    w = high - low
    m = scipy.linalg.cho_solve((L, True), coef[lin])
    mean = (m + np.asarray(geo.shift, np.float64) - low) / w
    cov = scipy.linalg.cho_solve((L, True), np.eye(n)) / np.outer(w, w)
    scale = np.linalg.cholesky(cov)
    inverse = scipy.linalg.solve_triangular(scale, np.eye(n), lower=True)
    if not (np.all(np.isfinite(scale)) and np.all(np.isfinite(inverse))):
        return None
    f32 = partial(np.asarray, dtype=np.float32)
    return Reference(f32(mean), f32(scale), f32(inverse), np.float32(eps))
