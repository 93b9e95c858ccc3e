"""Objectives: the dual ascent direction, its natural-gradient step, and penalties.

Everything here works in *standardised* coordinates: feature ``k`` is
``g_k = (f_k - m_k) / s_k`` with ``m_k``, ``s_k`` its mean and standard deviation
under the uniform distribution on the box, and ``phi_k = coef_k * s_k`` is its
natural parameter. One learning rate then serves features of any scale and unit.
"""

from typing import NamedTuple

import jax.numpy as jnp
from jax.scipy.linalg import cho_solve
from jax.scipy.sparse.linalg import cg

from skmaxent.core.types import Array


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
    x0: Array,
    maxiter: int,
) -> Array:
    """Matrix-free damped Newton step: conjugate gradients on ``F + Q + delta I``.

    ``F = Cov[g]`` is never formed: ``fvp(v)`` returns ``F v`` (from the
    chains: :func:`chain_fvp`, or the quadratic preset's matrix form), and
    ``diag`` (p,) is the diagonal of ``F``. ``qmv(v)`` is ``Q v`` for the
    penalty Hessian ``Q`` (see :mod:`skmaxent.core.penalties`) and ``qdiag``
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


def chain_fvp(G: Array):
    """``F v = Gcᵀ (Gc v) / C`` and ``diag F`` from chain features ``G`` (C, p).

    Two passes over ``G`` per product, ``O(C p)``; no ``(p, p)`` matrix.
    """
    Gc = G - jnp.mean(G, axis=0)
    return (lambda v: Gc.T @ (Gc @ v) / G.shape[0]), jnp.mean(Gc * Gc, axis=0)


# ----------------------------------------------------------------------------
# Moment matching (SMM): J = 1/2 |E[g] - nu|^2 + penalties, for any energy.
#
# With r = dJ/dE[F] (the standardised moment residual, and the marginal priors'
# gradient in their bin probabilities) and dE_p[F]/dtheta = -Cov[F, grad E],
# grad J = -Cov[F, grad_theta E]ᵀ r: a per-chain weight times each chain's
# energy gradient, never a covariance matrix.


def smm_weights(F: Array, r: Array) -> Array:
    """Weights ``w_c = -(F_c - Fbar)·r / C`` of the plain covariance estimator.

    ``grad J = sum_c w_c grad_theta E(x_c)`` (that is ``mean_c`` of the
    unscaled weights times the gradients). ``F`` (C, q) are feature values at
    the chains and ``r`` (q,) the loss's gradient in the feature means. When
    ``r`` is computed from the same chains (``r = Fbar - nu``), the product
    carries a bias of order ``1/C`` (third cumulants of ``F``);
    :func:`cross_fit_weights` removes it.
    """
    C = F.shape[0]
    return -((F - jnp.mean(F, axis=0)) @ r) / C


def cross_fit_weights(F: Array, residual) -> tuple[Array, Array, Array]:
    """Split-half weights: covariance from one half, residual from the other.

    The chains are split into ``A`` (the first ``C // 2``) and ``B`` (the rest,
    both of at least 2 chains). For ``c`` in ``A``,
    ``w_c = -(F_c - Fbar_A)·residual(Fbar_B) / (2 (|A| - 1))``, and symmetrically
    for ``B``. Given the chains' distribution the two halves are independent,
    so ``sum_c w_c h_c`` is an unbiased estimate of
    ``-Cov[F, h]ᵀ residual(E[F])`` when ``residual`` is affine (the moment
    residual ``Fbar - nu``), and has an ``O(1/C)`` bias otherwise (the KL
    prior), where the plain estimator is biased by ``O(1/C)`` in any case.

    Parameters
    ----------
    F : (C, q) feature values at the chains, ``C >= 4``.
    residual : function ``(q,) -> (q,)``, the loss's gradient in the means.

    Returns
    -------
    w : (C,) weights, so that ``grad J = Hᵀ w`` for per-chain gradients ``H``.
    r_a, r_b : (q,) the residuals from halves A and B.
    """
    C = F.shape[0]
    a = C // 2
    FA, FB = F[:a], F[a:]
    mA, mB = jnp.mean(FA, axis=0), jnp.mean(FB, axis=0)
    r_a, r_b = residual(mA), residual(mB)
    wA = -((FA - mA) @ r_b) / (2 * (a - 1))
    wB = -((FB - mB) @ r_a) / (2 * (C - a - 1))
    return jnp.concatenate([wA, wB]), r_a, r_b


def linear_smm_gradient(G: Array, w: Array) -> Array:
    """``sum_c w_c grad_phi E(x_c)`` for the linear energy ``E = -phi·g``: ``-Gᵀw``.

    With :func:`smm_weights` this is ``Cov[g, g] (gbar - nu)`` without forming
    the ``(p, p)`` covariance: two passes over ``G`` (C, p), ``O(C p)``.
    """
    return -(G.T @ w)


def marginal_penalty(
    p_hat: Array, probs: Array, strength: Array, kl: Array, eps: Array
) -> tuple[Array, Array]:
    """Marginal-prior penalty and its gradient in the bin probabilities ``p_hat``.

    Bins of all priors are concatenated, each with its own ``probs`` ``q``,
    ``strength`` ``s`` and kind (``kl`` True for ``"kl"``):

    - KL: ``s (q log(q / p) - q + p)``, the generalised Kullback–Leibler
      divergence (equal to ``KL(q || p)`` summed over bins that cover the
      range); gradient ``s (1 - q / p)``. ``p`` is floored at ``eps`` so that
      an empty bin gives a large, finite pull.
    - L2: ``s (p - q)^2 / 2``; gradient ``s (p - q)``.

    Both are zero, with zero gradient, at ``p_hat = probs``. The gradient is
    what the covariance estimators need: the penalty's gradient in the
    parameters is ``-Cov[1_bins, grad_theta E]ᵀ grad``.

    Returns
    -------
    value : () the total penalty.
    grad : (B,) its gradient in ``p_hat``.
    """
    p = jnp.maximum(p_hat, eps)
    safe_q = jnp.where(probs > 0, probs, 1.0)
    kl_value = jnp.where(probs > 0, probs * jnp.log(safe_q / p), 0.0) - probs + p
    kl_grad = 1.0 - probs / p
    value = jnp.where(kl, kl_value, 0.5 * (p_hat - probs) ** 2)
    grad = jnp.where(kl, kl_grad, p_hat - probs)
    return jnp.sum(strength * value), strength * grad


class PriorBins(NamedTuple):
    """The marginal priors' bins, concatenated over priors, each (B,).

    ``col`` the variable, ``[low, high)`` the bin, ``probs`` its target
    probability, ``strength`` and ``kl`` (kind ``"kl"``) its prior's; ``eps``
    the floor of a bin probability in the KL penalty. Built by
    :func:`skmaxent.priors.prior_fields`; ``B = 0`` when there are none.
    """

    col: Array
    low: Array
    high: Array
    probs: Array
    strength: Array
    kl: Array
    eps: Array


def bin_indicators(x: Array, bins: PriorBins) -> Array:
    """Indicators ``1[low_b <= x_col_b < high_b]`` (C, B) at points ``x`` (C, n)."""
    xi = jnp.take(x, bins.col, axis=1)
    return ((xi >= bins.low) & (xi < bins.high)).astype(x.dtype)


def prior_penalty(p_hat: Array, bins: PriorBins) -> tuple[Array, Array]:
    """:func:`marginal_penalty` of the bins' probabilities ``p_hat`` (B,)."""
    return marginal_penalty(p_hat, bins.probs, bins.strength, bins.kl, bins.eps)
