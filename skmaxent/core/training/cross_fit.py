"""Chain weights whose weighted feature means are covariance products, cross-fitted.

The moment-matching gradient ``Cov[g] r`` and the priors' gradient are
weighted means of features over the chains, never a covariance matrix;
the weights of one half of the chains come from the other half's means,
which removes the ``O(1/C)`` bias of estimating both from the same chains.
"""

import jax.numpy as jnp

from skmaxent.core.types import Array

__all__ = ["smm_weights", "cross_fit_weights", "linear_smm_gradient"]


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
