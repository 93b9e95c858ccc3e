"""Generalised score matching on a box: a closed-form exponential-family fit.

For ``log p = coef·f(x) - log Z`` on ``B = prod_j [lo_j, hi_j]``, the
generalised Hyvärinen loss with weights ``h_j(x) = (x_j - lo_j)(hi_j - x_j)``
(zero on both faces orthogonal to axis ``j``, so the integration-by-parts
boundary term vanishes) is quadratic in ``coef``::

    J(coef) = 1/2 coef·Γ·coef - g·coef
    Γ = mean_i sum_j h_j ∂_j f ∂_j fᵀ
    g = -mean_i sum_j (∂_j h_j ∂_j f + h_j ∂_j² f)

so ``coef = Γ⁻¹ g``: one linear solve, no log Z and no chains (Yu, Drton &
Shojaie, "Generalized score matching for general domains", 2022). The weight
``x(1 - x)`` is the Jacobi weight of the Legendre polynomials: at ``coef = 0``
the estimating equations are the maximum-entropy moment equations.

An axis open on one side takes the distance to its one wall as its weight
(``x - lo`` on ``[lo, inf)``), and an axis open on both sides the weight 1
(Hyvärinen's original loss): :func:`unit_weights` in the chains' unit
coordinates, where the walls sit at 0 and 1.
"""

import jax
import jax.numpy as jnp
import numpy as np

from skmaxent.core import programs
from skmaxent.core.types import Array


def _point_terms(f, x: Array):
    """``(D, S)`` of ``f`` at ``x``: ``D[j, k] = ∂_j f_k``, ``S[j, k] = ∂_j² f_k``."""
    n = x.shape[0]
    eye = jnp.eye(n, dtype=x.dtype)

    def along(e):
        def df(z):
            return jax.jvp(f, (z,), (e,))[1]

        d1, d2 = jax.jvp(df, (x,), (e,))
        return d1, d2

    D, S = jax.vmap(along)(eye)
    return D, S


def _system(f, X, h, dh, weights, p):
    """``(Γ, g)`` of the features ``f`` over weighted rows ``X`` with weights ``h``."""

    def body(carry, row):
        x, hx, dhx, w = row
        D, S = _point_terms(f, x)
        gamma = (D * hx[:, None]).T @ D
        gvec = -(dhx @ D + hx @ S)
        return (carry[0] + w * gamma, carry[1] + w * gvec), None

    init = (jnp.zeros((p, p), X.dtype), jnp.zeros((p,), X.dtype))
    (gamma, gvec), _ = jax.lax.scan(body, init, (X, h, dh, weights))
    return gamma, gvec


def unit_weights(U: Array, walls=None) -> tuple[Array, Array]:
    """``(h, dh/du)`` (N, n) in unit coordinates for the support's ``walls``.

    ``u (1 - u)`` between two walls (``None``: every axis), ``u`` with a wall
    at 0 only, ``1 - u`` at 1 only, and 1 on an axis with no wall.
    """
    if walls is None:
        return U * (1.0 - U), 1.0 - 2.0 * U
    h = jnp.where(
        walls == 3,
        U * (1.0 - U),
        jnp.where(walls == 1, U, jnp.where(walls == 2, 1.0 - U, jnp.ones_like(U))),
    )
    dh = jnp.where(
        walls == 3,
        1.0 - 2.0 * U,
        jnp.where(walls == 1, 1.0, jnp.where(walls == 2, -1.0, 0.0)),
    )
    return h, jnp.broadcast_to(dh, U.shape).astype(U.dtype)


@programs.jit(static_argnames=("fm",))
def score_matching_system(
    X: Array, weights: Array, low: Array, high: Array, fm
) -> tuple[Array, Array]:
    """``(Γ, g)`` of the generalised score-matching loss over weighted rows ``X``.

    Parameters
    ----------
    X : (N, n) points in user units inside the box.
    weights : (N,) non-negative row weights summing to one.
    low, high : (n,) the box.
    fm : the feature map (static); its ``values(x, low, high)`` must be
        twice differentiable in ``x``.

    Returns
    -------
    Gamma : (p, p) and g : (p,)
    """
    h = (X - low) * (high - X)  # (N, n)
    dh = (low + high) - 2.0 * X  # (N, n)

    def f(z):
        return fm.values(z, low, high)

    return _system(f, X, h, dh, weights, fm.n_features_out)


@programs.jit(static_argnames=("fm",))
def standardised_system(
    U: Array, weights: Array, low: Array, high: Array, scale: Array, fm, walls=None
) -> tuple[Array, Array]:
    """:func:`score_matching_system` of the features ``scale * f``, in unit coordinates.

    ``U`` (N, n) are the rows on the unit box, ``x = low + U (high - low)``.
    The loss is invariant under ``x -> u`` (``h_j`` scales by the squared
    width, each derivative by its inverse), so this is ``Γ / (s sᵀ)`` and
    ``g / s`` for ``s = 1 / scale``, computed without any product of
    user-unit sizes: with ``scale`` the features' inverse spreads no entry
    under- or overflows float32 whatever the units (a box of width 1e-12
    gives ``h ~ 1e-24`` and ``Γ ~ 1e-48`` in user units). ``walls``: the
    support's (:func:`unit_weights`), ``[low, high]`` then its reference box.
    """
    width = high - low

    def f(u):
        return scale * fm.values(low + u * width, low, high)

    h, dh = unit_weights(U, walls)
    return _system(f, U, h, dh, weights, fm.n_features_out)


def _quadratic_index(n: int):
    """Coefficient index and scale of ``θ_j = T_j coef`` for the quadratic preset.

    With features ``(x_i, x_i², x_i x_k for i < k)`` in that order,
    ``∂_j (coef·f) = θ_j · (1, x)`` where ``θ_j[0] = b_j``, ``θ_j[1 + j] = 2 c_j``
    and ``θ_j[1 + k] = w_jk``. Returns integer ``idx`` (n, n + 1) into ``coef``
    and ``scale`` (n, n + 1) so that ``θ_j = scale_j * coef[idx_j]``.
    """
    pair = np.zeros((n, n), dtype=np.int64)
    iu, ju = np.triu_indices(n, k=1)
    pair[iu, ju] = 2 * n + np.arange(iu.size)
    pair = pair + pair.T
    idx = np.zeros((n, n + 1), dtype=np.int64)
    idx[:, 0] = np.arange(n)
    idx[:, 1:] = pair
    idx[np.arange(n), 1 + np.arange(n)] = n + np.arange(n)
    scale = np.ones((n, n + 1))
    scale[np.arange(n), 1 + np.arange(n)] = 2.0
    return idx, scale


@programs.jit(static_argnames=("n",))
def quadratic_system(
    X: Array, weights: Array, low: Array, high: Array, n: int, walls=None
) -> tuple[Array, Array]:
    """``(Γ, g)`` for the ``"quadratic"`` preset from ``n`` blocks, O(N n³).

    ``∂_j (coef·f)`` is linear in ``x̃ = (1, x)``, so the loss is
    ``sum_j 1/2 θ_j·M_j·θ_j + θ_j·v_j`` with ``M_j = mean_i h_ij x̃_i x̃_iᵀ`` and
    ``v_j = mean_i ∂_j h_ij x̃_i + mean_i h_ij e_(1+j)``; Γ and g are these
    blocks scattered into feature coordinates, never an (N, n, p) Jacobian.
    With ``walls`` (:func:`unit_weights`), ``X`` must be in unit coordinates
    (``low = 0``, ``high = 1``).
    """
    idx, scale = _quadratic_index(n)
    if walls is None:
        h = (X - low) * (high - X)
        dh = (low + high) - 2.0 * X
    else:
        h, dh = unit_weights(X, walls)
    Xt = jnp.concatenate([jnp.ones((X.shape[0], 1), X.dtype), X], axis=1)
    M = jnp.einsum("i,ij,ia,ib->jab", weights, h, Xt, Xt)
    v = jnp.einsum("i,ij,ia->ja", weights, dh, Xt)
    v = v.at[jnp.arange(n), 1 + jnp.arange(n)].add(weights @ h)
    scale = jnp.asarray(scale, X.dtype)
    p = n + n + n * (n - 1) // 2
    blocks = M * scale[:, :, None] * scale[:, None, :]
    rows = jnp.broadcast_to(idx[:, :, None], blocks.shape)
    cols = jnp.broadcast_to(idx[:, None, :], blocks.shape)
    Gamma = jnp.zeros((p, p), X.dtype).at[rows, cols].add(blocks)
    g = -jnp.zeros((p,), X.dtype).at[idx].add(scale * v)
    return Gamma, g
