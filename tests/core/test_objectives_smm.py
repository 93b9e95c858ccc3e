"""The SMM covariance estimator and the marginal-prior penalty, against exact answers.

References are computed independently: quadrature and finite differences in
the parameters for the gradient of J, explicit (p, p) covariance matrices on
the same chain states, scipy's KL divergence.
"""

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats
from conftest import gauss_legendre, inverse_cdf_draws

from skmaxent.core.training.cross_fit import (
    cross_fit_weights,
    linear_smm_gradient,
    smm_weights,
)
from skmaxent.core.training.marginal_priors import marginal_penalty
from skmaxent.features import compile_features

THETA = np.array([1.5, 0.8, 4.0])  # E(x) = a x + b sin(c x) on [0, 1]
MU = np.array([0.45, 0.3])  # targets of f(x) = (x, x^2)


def energy_np(theta, x):
    a, b, c = theta
    return a * x + b * np.sin(c * x)


def energy_jax(theta, x):
    return theta[0] * x + theta[1] * jnp.sin(theta[2] * x)


def exact_loss(theta):
    """J = 1/2 |E_p[f] - mu|^2 by 400-node Gauss–Legendre quadrature."""
    x, w = gauss_legendre(0.0, 1.0, 400)
    dens = np.exp(-energy_np(theta, x)) * w
    m = np.array([x @ dens, x**2 @ dens]) / dens.sum()
    return 0.5 * np.sum((m - MU) ** 2)


def exact_gradient(theta, h=1e-5):
    """Central finite differences of the quadrature J (error ~ h^2 ~ 1e-10)."""
    grad = np.empty(3)
    for k in range(3):
        e = np.zeros(3)
        e[k] = h
        grad[k] = (exact_loss(theta + e) - exact_loss(theta - e)) / (2 * h)
    return grad


def exact_draws(rng, theta, size):
    """Exact draws from p(x) ∝ exp(-E(x)) on [0, 1] by inverting the CDF on a
    grid of 200,001 points (the discretisation error, ~1e-10, is far below the
    Monte Carlo error); independent of the package's sampler."""
    x = np.linspace(0, 1, 200_001)
    p = np.exp(-energy_np(theta, x))
    cdf = np.concatenate([[0], np.cumsum((p[1:] + p[:-1]) / 2)])
    return inverse_cdf_draws(rng, x, cdf, size)


def test_nonlinear_gradient_matches_quadrature_within_mc_error():
    # R replicate estimates from C exact draws each. C = 16 is small on
    # purpose: there the plain estimator's O(1/C) bias is of the order of the
    # gradient itself, and the split-half estimator must still be unbiased.
    R, C = 4000, 16
    rng = np.random.default_rng(0)
    X = jnp.asarray(exact_draws(rng, THETA, (R, C)), jnp.float32)
    theta = jnp.asarray(THETA, jnp.float32)
    mu = jnp.asarray(MU, jnp.float32)
    grad_E = jax.vmap(jax.grad(energy_jax), in_axes=(None, 0))

    def estimate(x, split):
        F = jnp.stack([x, x**2], axis=1)
        if split:
            w, _, _ = cross_fit_weights(F, lambda m: m - mu)
        else:
            w = smm_weights(F, jnp.mean(F, axis=0) - mu)
        return grad_E(theta, x).T @ w

    exact = exact_gradient(THETA)
    est = np.asarray(jax.vmap(lambda x: estimate(x, True))(X), np.float64)
    se = est.std(axis=0, ddof=1) / np.sqrt(R)
    # 4 standard errors on each of 3 components: a false alarm has
    # probability below 2e-4.
    np.testing.assert_array_less(np.abs(est.mean(axis=0) - exact), 4 * se)
    # The plain estimator (residual from the same chains) is visibly biased
    # here, which is why the loop splits the chains.
    plain = np.asarray(jax.vmap(lambda x: estimate(x, False))(X), np.float64)
    plain_se = plain.std(axis=0, ddof=1) / np.sqrt(R)
    assert np.max(np.abs(plain.mean(axis=0) - exact) / plain_se) > 6


def chain_features(C=64):
    """Quadratic features of 3 variables at C points (user units, correlated)."""
    rng = np.random.default_rng(1)
    U = rng.uniform(size=(C, 3))
    U[:, 1] = 0.5 * U[:, 0] + 0.5 * U[:, 1]
    fm = compile_features("quadratic", 3)
    G = fm.values_batch(jnp.asarray(U, jnp.float32), jnp.zeros(3), jnp.ones(3))
    return np.asarray(G, np.float64), rng.uniform(0.2, 0.6, size=G.shape[1])


def test_linear_estimator_equals_explicit_covariance():
    G, nu = chain_features()
    G32, nu32 = jnp.asarray(G, jnp.float32), jnp.asarray(nu, jnp.float32)
    # Plain: Cov[f, f] delta with the population covariance of the states.
    delta = G.mean(axis=0) - nu
    plain = linear_smm_gradient(G32, smm_weights(G32, G32.mean(axis=0) - nu32))
    explicit = np.cov(G.T, ddof=0) @ delta
    np.testing.assert_allclose(plain, explicit, rtol=1e-4, atol=1e-6)
    # Split-half: the mean of Cov_A delta_B and Cov_B delta_A (unbiased
    # covariances of each half, residuals from the other half).
    w, _, _ = cross_fit_weights(G32, lambda m: m - nu32)
    split = linear_smm_gradient(G32, w)
    A, B = G[:32], G[32:]
    explicit = 0.5 * (
        np.cov(A.T) @ (B.mean(axis=0) - nu) + np.cov(B.T) @ (A.mean(axis=0) - nu)
    )
    np.testing.assert_allclose(split, explicit, rtol=1e-4, atol=1e-6)


def test_marginal_penalty_values_and_gradient():
    q = jnp.array([0.1, 0.2, 0.3, 0.4, 0.0, 0.5, 0.5])
    p = jnp.array([0.25, 0.25, 0.25, 0.25, 0.3, 0.3, 0.4])
    strength = jnp.array([2.0] * 4 + [3.0] * 3)
    kl = jnp.array([True] * 4 + [False] * 3)
    eps = jnp.float32(1e-6)
    value, grad = marginal_penalty(p, q, strength, kl, eps)
    # Both priors' bins sum to 1 here, so the generalised KL is the KL.
    expected = 2 * scipy.stats.entropy(q[:4], p[:4]) + 3 * 0.5 * float(
        jnp.sum((p[4:] - q[4:]) ** 2)
    )
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    # Gradient by central differences of the value (float32: h = 1e-3 gives
    # a truncation error ~ h^2 |Phi'''| ~ 1e-5 and rounding ~ 1e-7 / h).
    h = 1e-3
    for b in range(7):
        e = jnp.zeros(7).at[b].set(h)
        up, _ = marginal_penalty(p + e, q, strength, kl, eps)
        down, _ = marginal_penalty(p - e, q, strength, kl, eps)
        np.testing.assert_allclose(grad[b], (up - down) / (2 * h), atol=2e-3)
    # Zero value and gradient at the target.
    value, grad = marginal_penalty(q, q, strength, kl, eps)
    assert abs(float(value)) < 1e-6 and float(jnp.max(jnp.abs(grad))) < 1e-6
    # An empty bin gives a finite pull, floored at eps.
    _, grad = marginal_penalty(p.at[0].set(0.0), q, strength, kl, eps)
    assert np.isfinite(grad[0]) and grad[0] < 0
