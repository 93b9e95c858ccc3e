"""Feature moments under the uniform law on the box, to scale features before a fit.

The mean and standard deviation of every feature under Uniform(box) set the
feature scales (and the starting point) of the estimators. They are closed
forms for Moment, Product, Indicator, Legendre, Pairwise and Indicator2
features and a Monte-Carlo
estimate, with a fixed seed, for Custom ones. :meth:`FeatureMap.uniform_moments
<skmaxent.core.feature_map.FeatureMap.uniform_moments>` is the entry point;
this module imports nothing from it, only reads its group tables.
"""

import math
from numbers import Integral

import jax
import jax.numpy as jnp
import numpy as np

from skmaxent.core import programs

__all__ = ["uniform_moments"]

#: Points per Monte-Carlo block (one compilation for all full blocks).
_CUSTOM_MC_BLOCK = 8_192


def uniform_moments(
    fm, low, high, *, n_points: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each feature of ``fm`` under Uniform(box).

    Parameters
    ----------
    fm : FeatureMap
    low, high : array-like of shape (n,), the box in user units.
    n_points : int
        Monte-Carlo points for the Custom features (at least 2).
    seed : int
        Seed of the fixed key of that Monte-Carlo estimate.

    Returns
    -------
    mean, std : ndarray of shape (p,), float64, in feature order.
    """
    if isinstance(n_points, bool) or not isinstance(n_points, Integral) or n_points < 2:
        raise ValueError(f"n_points must be an integer >= 2; got {n_points!r}.")
    n_points = int(n_points)
    low = np.asarray(low, np.float64)
    high = np.asarray(high, np.float64)
    p = fm.n_features_out
    mean, var = np.empty(p), np.empty(p)
    for k in np.unique(fm._mom_pow):
        sel = fm._mom_pow == k
        i, pos = fm._mom_i[sel], fm._pos_mom[sel]
        mean[pos], var[pos] = _power_moments(low[i], high[i], int(k))
    if fm._prod_i.size:
        m, v = _power_moments(low, high, 1)
        I, J = fm._prod_i, fm._prod_j
        mean[fm._pos_prod] = m[I] * m[J]
        # Var(XY) for independent X, Y, without E[X²Y²] - E[XY]² cancellation.
        var[fm._pos_prod] = v[I] * v[J] + v[I] * m[J] ** 2 + v[J] * m[I] ** 2
    if fm._ind_i.size:
        a, b = low[fm._ind_i], high[fm._ind_i]
        overlap = np.minimum(fm._ind_high, b) - np.maximum(fm._ind_low, a)
        q = np.clip(overlap / (b - a), 0.0, 1.0)
        mean[fm._pos_ind], var[fm._pos_ind] = q, q * (1 - q)
    if fm._leg_i.size:
        d = fm._leg_deg
        # Shifted Legendre: orthogonal to P0 = 1 and ∫₀¹ P_d(2u - 1)² du = 1/(2d+1).
        mean[fm._pos_leg] = np.where(d == 0, 1.0, 0.0)
        var[fm._pos_leg] = np.where(d == 0, 0.0, 1 / (2 * d + 1))
    if fm._pw_i.size:
        # Independent factors under the uniform law, each of mean 0 (degree >= 1).
        mean[fm._pos_pw] = 0.0
        var[fm._pos_pw] = 1 / ((2 * fm._pw_a + 1) * (2 * fm._pw_b + 1))
    if fm._i2_i.size:
        q = np.ones(fm._i2_i.size)
        for axis, cols in enumerate((fm._i2_i, fm._i2_j)):
            a, b = low[cols], high[cols]
            lo, hi = fm._i2_lo[:, axis], fm._i2_hi[:, axis]
            q *= np.clip((np.minimum(hi, b) - np.maximum(lo, a)) / (b - a), 0.0, 1.0)
        mean[fm._pos_i2], var[fm._pos_i2] = q, q * (1 - q)
    if fm._fns:
        m, v = _custom_moments(fm, low, high, n_points, seed)
        mean[fm._pos_cus], var[fm._pos_cus] = m, v
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


@programs.jit(static_argnums=0)
def _custom_block(fm, u, low, high):
    return jax.vmap(fm._custom)(low + u * (high - low))


def _custom_moments(fm, low, high, n_points: int, seed: int):
    """Monte-Carlo mean and variance of the Custom features under Uniform(box).

    ``n_points`` uniform points in blocks of ``_CUSTOM_MC_BLOCK``, block ``b``
    drawn with ``fold_in(key(seed), b)``; the last block may be shorter.
    """
    key = jax.random.key(seed)
    lo, hi = jnp.asarray(low), jnp.asarray(high)
    vals = []
    for b, start in enumerate(range(0, n_points, _CUSTOM_MC_BLOCK)):
        shape = (min(_CUSTOM_MC_BLOCK, n_points - start), fm.n_features_in)
        u = jax.random.uniform(jax.random.fold_in(key, b), shape, lo.dtype)
        vals.append(np.asarray(_custom_block(fm, u, lo, hi), np.float64))
    vals = np.concatenate(vals)
    with np.errstate(invalid="ignore", over="ignore"):  # non-finite: reported
        return vals.mean(axis=0), vals.var(axis=0, ddof=1)
