"""Generalised score matching: Γ and g against NumPy from analytic derivatives."""

import jax.numpy as jnp
import numpy as np

from skmaxent.core.score_matching import quadratic_system, solve


def quadratic_derivatives(x):
    """Analytic ∂_j f and ∂_j² f (n, p) of the quadratic preset at one point."""
    n = x.size
    iu, ju = np.triu_indices(n, k=1)
    p = 2 * n + iu.size
    D = np.zeros((n, p))
    S = np.zeros((n, p))
    D[np.arange(n), np.arange(n)] = 1.0
    D[np.arange(n), n + np.arange(n)] = 2 * x
    S[np.arange(n), n + np.arange(n)] = 2.0
    for m, (i, j) in enumerate(zip(iu, ju)):
        D[i, 2 * n + m] = x[j]
        D[j, 2 * n + m] = x[i]
    return D, S


def numpy_system(X, w, lo, hi):
    h = (X - lo) * (hi - X)
    dh = lo + hi - 2 * X
    Gamma, g = 0.0, 0.0
    for x, hx, dhx, wi in zip(X, h, dh, w):
        D, S = quadratic_derivatives(x)
        Gamma = Gamma + wi * (D.T * hx) @ D
        g = g - wi * (dhx @ D + hx @ S)
    return Gamma, g


def test_quadratic_system_matches_numpy():
    rng = np.random.default_rng(0)
    lo, hi = np.array([-1.0, 0.0, 2.0]), np.array([1.0, 3.0, 2.5])
    X = lo + rng.uniform(size=(40, 3)) * (hi - lo)
    w = rng.uniform(size=40)
    w /= w.sum()
    G_ref, g_ref = numpy_system(X, w, lo, hi)
    G, g = quadratic_system(
        jnp.asarray(X, jnp.float32),
        jnp.asarray(w, jnp.float32),
        jnp.asarray(lo, jnp.float32),
        jnp.asarray(hi, jnp.float32),
        3,
    )
    scale = np.abs(G_ref).max()
    np.testing.assert_allclose(np.asarray(G), G_ref, atol=1e-5 * scale)
    np.testing.assert_allclose(np.asarray(g), g_ref, atol=1e-5 * np.abs(g_ref).max())


def test_1d_truncated_exponential_recovered():
    # p(x) ∝ exp(theta x) on [0, 1], features (x, x^2) with true coef (3, 0):
    # exact samples by inverse CDF; the estimate's error shrinks like 1/sqrt(N).
    theta = 3.0
    rng = np.random.default_rng(1)
    u = rng.uniform(size=200_000)
    x = np.log1p(u * np.expm1(theta)) / theta
    X = jnp.asarray(x[:, None], jnp.float32)
    w = jnp.full(x.size, 1.0 / x.size, jnp.float32)
    G, g = quadratic_system(X, w, jnp.zeros(1), jnp.ones(1), 1)
    coef, _ = solve(G, g)
    # The MLE's standard errors sqrt(diag(Cov[(x, x^2)]^-1) / N) are (0.044,
    # 0.036) here (quadrature); score matching with the x(1-x) weight is about
    # as efficient (Yu et al. 2022), so 0.2 is more than 4 standard errors.
    np.testing.assert_allclose(np.asarray(coef), [theta, 0.0], atol=0.2)
