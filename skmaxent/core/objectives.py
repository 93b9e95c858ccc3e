"""Objectives: the dual ascent direction, its natural-gradient step, and penalties.

Everything here works in *standardised* coordinates: feature ``k`` is
``g_k = (f_k - m_k) / s_k`` with ``m_k``, ``s_k`` its mean and standard deviation
under the uniform distribution on the box, and ``phi_k = coef_k * s_k`` is its
natural parameter. One learning rate then serves features of any scale and unit.
"""

import jax.numpy as jnp

from skmaxent.core.types import Array


def penalty_matrix(alpha: Array, roughness: Array, R: Array, std: Array) -> Array:
    """Hessian in ``phi`` of ``alpha/2 |coef|^2 + roughness/2 coef·R·coef``.

    With ``coef = phi / s`` the penalty is ``1/2 phi·Q·phi`` with
    ``Q = alpha diag(1/s^2) + roughness R / (s sᵀ)``. Returned dense ``(p, p)``.
    """
    inv = 1.0 / std
    return jnp.diag(alpha * inv**2) + roughness * R * inv[:, None] * inv[None, :]


def dual_direction(nu: Array, gbar: Array, phi: Array, Q: Array) -> Array:
    """Gradient of the penalised dual in ``phi``: ``nu - E[g] - Q phi``.

    ``nu`` are the standardised targets and ``gbar`` the chains' mean of the
    standardised features. At the maximum-entropy solution the moments match.
    """
    return nu - gbar - Q @ phi


def feature_covariance(G: Array) -> Array:
    """Covariance ``Cov[g]`` over chains of standardised features ``G`` (C, p).

    It is the Fisher information of the exponential family, hence the Hessian
    of ``log Z`` in ``phi`` and the natural preconditioner of the dual.
    """
    Gc = G - jnp.mean(G, axis=0)
    return Gc.T @ Gc / G.shape[0]


def natural_step(
    direction: Array, fisher: Array, Q: Array, damping: Array, max_norm: Array
) -> Array:
    """Damped Newton step ``(F + Q + delta I)^-1 direction``, clipped in Fisher norm.

    ``F + Q`` is the Hessian of the negated penalised dual, so the step is the
    dual's Newton step; ``delta`` (relative to the mean diagonal) keeps it well
    posed when chains are few or features nearly collinear; the step is scaled
    down so that ``sqrt(step·F·step) <= max_norm``, which bounds the change of the
    model's distribution per iteration (in KL, to second order).
    """
    p = direction.shape[0]
    H = fisher + Q
    scale = jnp.trace(H) / p
    H = H + (damping * scale + 1e-6) * jnp.eye(p, dtype=H.dtype)
    L = jnp.linalg.cholesky(H)
    step = jnp.linalg.solve(L.T, jnp.linalg.solve(L, direction))
    norm = jnp.sqrt(jnp.maximum(step @ (fisher @ step), 0.0))
    return step * jnp.minimum(1.0, max_norm / (norm + 1e-12))
