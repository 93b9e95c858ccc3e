"""Marginal priors on the chains: their bins, indicators and penalty."""

from typing import NamedTuple

import jax.numpy as jnp

from skmaxent.core.types import Array

__all__ = ["marginal_penalty", "PriorBins", "bin_indicators", "prior_penalty"]


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
