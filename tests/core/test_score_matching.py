"""Generalised score matching: Γ and g against NumPy from analytic derivatives."""

import jax.numpy as jnp
import numpy as np
from conftest import (
    exact_moments,
    exp_draws,
    maxent_by_newton,
    quadratic_features,
    quadratic_uniform_sd,
    rejection_draws,
    uniform_grid,
)

from skmaxent.core.training.score_matching import quadratic_system


def _solve(G, g, ridge=1e-6):
    """``(Γ + λ I)⁻¹ g``, ``λ = ridge * mean(diag Γ)``, as the shell's start does."""
    G, g = np.asarray(G, np.float64), np.asarray(g, np.float64)
    return np.linalg.solve(G + ridge * np.trace(G) / len(g) * np.eye(len(g)), g)


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
    x = exp_draws(np.random.default_rng(1), theta, 200_000)
    X = jnp.asarray(x[:, None], jnp.float32)
    w = jnp.full(x.size, 1.0 / x.size, jnp.float32)
    G, g = quadratic_system(X, w, jnp.zeros(1), jnp.ones(1), 1)
    coef = _solve(G, g)
    # The MLE's standard errors sqrt(diag(Cov[(x, x^2)]^-1) / N) are (0.044,
    # 0.036) here (quadrature); score matching with the x(1-x) weight is about
    # as efficient (Yu et al. 2022), so 0.2 is more than 4 standard errors.
    np.testing.assert_allclose(np.asarray(coef), [theta, 0.0], atol=0.2)


def test_structured_quadratic_equals_generic_autodiff_path():
    from skmaxent.core.training.score_matching import score_matching_system
    from skmaxent.features import compile_features, resolve_features

    rng = np.random.default_rng(2)
    lo, hi = np.array([-1.0, 0.0, 2.0, 0.0]), np.array([1.0, 3.0, 2.5, 10.0])
    X = lo + rng.uniform(size=(64, 4)) * (hi - lo)
    w = rng.uniform(size=64)
    w /= w.sum()
    fm = compile_features(resolve_features("quadratic", 4), 4)
    args = [jnp.asarray(a, jnp.float32) for a in (X, w, lo, hi)]
    G1, g1 = quadratic_system(*args, 4)
    G2, g2 = score_matching_system(*args, fm)
    # Both in float32 from the same inputs: agreement to float32 rounding of
    # sums of 64 terms, relative to the largest entry.
    np.testing.assert_allclose(G1, G2, atol=1e-5 * float(np.abs(G1).max()))
    np.testing.assert_allclose(g1, g2, atol=1e-5 * float(np.abs(g1).max()))


def test_5d_score_matching_is_as_good_as_the_exact_maxent_fit():
    # A known 5-D quadratic model on [0, 1]^5; exact samples by rejection from
    # the uniform distribution (its density is bounded by exp(max logp) on the
    # box, found on a grid and padded).
    n, N = 5, 20_000
    rng = np.random.default_rng(3)
    theta = np.r_[rng.normal(0, 1, n), -rng.uniform(1, 3, n), rng.normal(0, 1.5, 10)]
    X = rejection_draws(rng, theta, n, N, batch=400_000, pad=0.5)
    mu_hat = quadratic_features(X).mean(axis=0)

    # Quadrature on a 12^5 Gauss-Legendre grid: moments and Fisher matrix of a
    # parameter; Newton's method on the dual gives the exact max-ent (maximum
    # likelihood) solution for these samples, independently of the package.
    grid, wgrid = uniform_grid(np.zeros(n), np.ones(n), 12)
    Fg = quadratic_features(grid)

    def moments(c):
        return exact_moments(Fg, wgrid, c)

    mle = maxent_by_newton(Fg, wgrid, mu_hat)
    m, _, _ = moments(mle)
    assert np.max(np.abs(m - mu_hat)) < 1e-8

    G, g = quadratic_system(
        jnp.asarray(X, jnp.float32),
        jnp.full(N, 1.0 / N, jnp.float32),
        jnp.zeros(n, jnp.float32),
        jnp.ones(n, jnp.float32),
        n,
    )
    coef = _solve(G, g)
    coef = np.asarray(coef, np.float64)

    # Errors against the truth in the Fisher metric (the MLE's sampling error
    # there is ~ sqrt(p / N)); score matching with the Jacobi weight is nearly
    # efficient (asymptotic variance 1.02x the MLE's), so on a fixed seed its
    # error must stay within 1.2x the exact max-ent fit's.
    _, fisher_true, _ = moments(theta)

    def err(c):
        d = c - theta
        return np.sqrt(d @ fisher_true @ d)

    assert err(coef) < 1.2 * err(mle)
    # And it nearly solves the max-ent moment equations: standardised by the
    # features' uniform standard deviations (closed form on [0, 1]).
    s_uniform = quadratic_uniform_sd(np.zeros(n), np.ones(n))
    m_sm, _, _ = moments(coef)
    assert np.max(np.abs(m_sm - mu_hat) / s_uniform) < 0.01
