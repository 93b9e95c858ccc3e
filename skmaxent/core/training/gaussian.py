"""Gradient score matching of a Gaussian: optax on the Cholesky parameters of ``P``.

The jitted kernel of ``ScoreMatchingGaussian(solver="gradient")``; the shell
runs the host loop over its calls. Coordinates are standardised,
``z = D^-1 (x - xbar)`` with ``D = diag(s)``, ``s_i^2 = S_ii``: then
``mu = xbar + s * m`` and ``P = D^-1 Q D^-1``, where ``Q = L Lᵀ`` and ``L`` is
lower triangular with diagonal ``exp(log_diag)`` and strict lower triangle
``off``. The loss is the score-matching loss of ``z``::

    1/2 tr(Q (R + m mᵀ) Q) - tr(Q),   R = D^-1 S D^-1 (the correlation matrix).

In user units the loss is ``1/2 tr(W Q (R + m mᵀ) Q) - tr(W Q)`` with
``W = D^-2``; for every positive diagonal ``W`` both are strictly convex in
``Q`` and stationary at ``m = 0``, ``Q = R^-1`` (the gradient
``(WQM + MQW)/2 - W`` vanishes there), so they have the same minimiser, and
the standardised one is well conditioned whatever the columns' units.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from skmaxent.core import programs
from skmaxent.core.types import Array


def optimizer(learning_rate, max_norm) -> optax.GradientTransformation:
    """Adam with its updates clipped to global norm ``max_norm``."""
    return optax.chain(optax.clip_by_global_norm(max_norm), optax.adam(learning_rate))


def _unpack(theta, fit_location):
    """``(m, Q)`` from the unconstrained parameters."""
    d = theta["log_diag"].shape[0]
    rows, cols = np.tril_indices(d, k=-1)
    L = jnp.diag(jnp.exp(theta["log_diag"])).at[rows, cols].set(theta["off"])
    return theta["m"] * fit_location, L @ L.T


def _loss(theta, R, fit_location):
    """Score-matching loss of the standardised data at the Cholesky parameters."""
    m, Q = _unpack(theta, fit_location)
    QM = Q @ (R + jnp.outer(m, m))
    return 0.5 * jnp.sum(QM * Q) - jnp.trace(Q)


def _residual(theta, R, fit_location):
    """Stationarity residual ``max(|G|, |Q Q m|)`` in the precision ``Q``.

    ``G = (QM + MQ)/2 - I`` is the gradient in ``Q``: it vanishes only at the
    minimiser, and is an error in ``Q`` scaled by the Hessian (eigenvalues
    ``(lambda_i + lambda_j)/2`` of ``M``), unlike the gradient in the Cholesky
    parameters.
    """
    m, Q = _unpack(theta, fit_location)
    QM = Q @ (R + jnp.outer(m, m))
    G = 0.5 * (QM + QM.T) - jnp.eye(Q.shape[0], dtype=Q.dtype)
    grad_m = Q @ (Q @ m) * fit_location
    return jnp.maximum(jnp.max(jnp.abs(G)), jnp.max(jnp.abs(grad_m)))


@programs.jit
def gradient_steps(
    theta, opt_state, n_steps, R, fit_location, lr, tol, max_norm
) -> tuple[dict, optax.OptState, Array, Array, Array]:
    """Up to ``n_steps`` optax updates, stopping early when the residual <= tol.

    Every argument is traced (hyper-parameters included), so one compiled
    version serves all fits with the same number of features.

    Parameters
    ----------
    theta : dict
        ``{"m": (d,), "log_diag": (d,), "off": (d (d - 1) / 2,)}``.
    opt_state : the state of :func:`optimizer` ``(lr, max_norm)`` for ``theta``.
    n_steps : int, the most updates to run.
    R : (d, d) correlation matrix of the data.
    fit_location : 1.0 to fit ``m``, 0.0 to keep ``m = 0``.
    lr, tol, max_norm : learning rate, residual tolerance, gradient clip.

    Returns
    -------
    theta, opt_state, n_run, residual, loss
    """
    opt = optimizer(lr, max_norm)
    grad = jax.grad(_loss)

    def cond(carry):
        i, _, _, r = carry
        return (i < n_steps) & (r > tol)

    def body(carry):
        i, theta, state, _ = carry
        updates, state = opt.update(grad(theta, R, fit_location), state, theta)
        theta = optax.apply_updates(theta, updates)
        return i + 1, theta, state, _residual(theta, R, fit_location)

    r0 = _residual(theta, R, fit_location)
    carry = (jnp.asarray(0, jnp.int32), theta, opt_state, r0)
    i, theta, opt_state, r = jax.lax.while_loop(cond, body, carry)
    return theta, opt_state, i, r, _loss(theta, R, fit_location)
