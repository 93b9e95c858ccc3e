"""The dual's natural-gradient step: dense or matrix-free solves of the damped
Fisher system, and its clip.

Everything here works in *standardised* coordinates: feature ``k`` is
``g_k = (f_k - m_k) / s_k`` with ``m_k``, ``s_k`` its mean and standard deviation
under the uniform distribution on the box, and ``phi_k = coef_k * s_k`` is its
natural parameter. One learning rate then serves features of any scale and unit.
"""

import jax.numpy as jnp
from jax.scipy.linalg import cho_solve
from jax.scipy.sparse.linalg import cg

from skmaxent.core.types import Array

__all__ = [
    "feature_covariance",
    "natural_step",
    "natural_solve",
    "cg_natural_step",
    "cg_solve",
    "clip_step",
]


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
    """Damped Newton step ``(F + Q + delta I)^-1 direction``, clipped (damped norm).

    ``F + Q`` is the Hessian of the negated penalised dual, so the step is the
    dual's Newton step; ``delta`` (relative to the mean diagonal) keeps it well
    posed when chains are few or features nearly collinear; the step is scaled
    down so that ``sqrt(step·(F + delta I)·step) <= max_norm``, which bounds the
    change of the model's distribution per iteration (in KL, to second order),
    and, through ``delta``, the step in directions where ``F`` estimated from
    the chains is (nearly) zero.
    """
    return clip_step(*natural_solve(direction, fisher, Q, damping), max_norm)


def natural_solve(direction, fisher, Q, damping):
    """:func:`natural_step` before its clip: ``(step, squared damped norm)``."""
    p = direction.shape[0]
    H = fisher + Q
    scale = jnp.trace(H) / p
    lam = damping * scale + 1e-6
    L = jnp.linalg.cholesky(H + lam * jnp.eye(p, dtype=H.dtype))
    step = cho_solve((L, True), direction)
    return step, jnp.maximum(step @ (fisher @ step) + lam * step @ step, 0.0)


def cg_natural_step(
    direction: Array,
    fvp,
    diag: Array,
    qmv,
    qdiag: Array,
    damping: Array,
    max_norm: Array,
    *,
    x0: Array,
    maxiter: int,
) -> Array:
    """Matrix-free damped Newton step: conjugate gradients on ``F + Q + delta I``.

    ``F = Cov[g]`` is never formed: ``fvp(v)`` returns ``F v`` (from the
    chains, or the quadratic preset's matrix form), and
    ``diag`` (p,) is the diagonal of ``F``. ``qmv(v)`` is ``Q v`` for the
    penalty Hessian ``Q`` (see :mod:`skmaxent.core.training.penalties`) and ``qdiag``
    its diagonal; ``delta`` is ``damping`` times the mean diagonal of ``F + Q``,
    and the diagonal of ``F + Q + delta I`` preconditions the ``maxiter``
    iterations started from ``x0`` (the previous step, which carries
    curvature information across iterations). The step is clipped in the
    norm of ``F + delta I`` as in :func:`natural_step`: with more features
    than chains most directions are outside the chains' span, where ``F``
    from the chains is zero and only ``delta`` measures a step.
    """
    step, norm2 = cg_solve(direction, fvp, diag, qmv, qdiag, damping, x0, maxiter)
    return clip_step(step, norm2, max_norm)


def cg_solve(direction, fvp, diag, qmv, qdiag, damping, x0, maxiter):
    """:func:`cg_natural_step` before its clip: ``(step, squared damped norm)``."""
    diag = diag + qdiag
    lam = damping * jnp.mean(diag) + 1e-6

    def matvec(v):
        return fvp(v) + qmv(v) + lam * v

    step, _ = cg(
        matvec,
        direction,
        x0=x0.astype(direction.dtype),
        maxiter=maxiter,
        M=lambda v: v / (diag + lam),
    )
    return step, jnp.maximum(step @ fvp(step) + lam * step @ step, 0.0)


def clip_step(step: Array, norm2: Array, max_norm: Array) -> Array:
    """``step`` scaled so that its norm, ``sqrt(norm2)``, is at most ``max_norm``."""
    return step * jnp.minimum(1.0, max_norm / (jnp.sqrt(norm2) + 1e-12))
