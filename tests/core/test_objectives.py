"""The dual's natural-gradient steps against NumPy linear algebra."""

import jax.numpy as jnp
import numpy as np

from skmaxent.core.training.natural_step import cg_natural_step, natural_step


def chain_fvp(G):
    """``F v = Gcᵀ (Gc v) / C`` and ``diag F`` from chain features ``G`` (C, p).

    Two passes over ``G`` per product, ``O(C p)``; no ``(p, p)`` matrix.
    """
    Gc = G - jnp.mean(G, axis=0)
    return (lambda v: Gc.T @ (Gc @ v) / G.shape[0]), jnp.mean(Gc * Gc, axis=0)


def _problem(C=64, p=20, seed=0):
    rng = np.random.default_rng(seed)
    G = rng.normal(size=(C, p)) @ rng.normal(size=(p, p)) / np.sqrt(p)
    direction = rng.normal(size=p)
    q = rng.uniform(0.0, 0.5, size=p)
    return G, direction, q


def test_matrix_free_step_solves_the_damped_fisher_system():
    # With enough iterations, conjugate gradients on F v = Gcᵀ(Gc v)/C reach
    # the NumPy solution of (Cov[G] + diag(q) + lam I) s = d, lam = damping
    # times the mean diagonal of Cov[G] + diag(q) (plus 1e-6).
    G, d, q = _problem()
    Gc = G - G.mean(axis=0)
    F = Gc.T @ Gc / len(G)
    lam = 0.3 * np.mean(np.diag(F) + q) + 1e-6
    expected = np.linalg.solve(F + np.diag(q) + lam * np.eye(len(d)), d)
    fvp, diag = chain_fvp(jnp.asarray(G))
    np.testing.assert_allclose(np.asarray(diag), np.diag(F), rtol=1e-5)
    qj = jnp.asarray(q)
    args = (jnp.asarray(d), fvp, diag, lambda v: qj * v, qj, 0.3, 1e6)
    step = cg_natural_step(*args, x0=jnp.zeros_like(jnp.asarray(d)), maxiter=200)
    np.testing.assert_allclose(np.asarray(step), expected, rtol=2e-4, atol=1e-5)
    # A warm start at the answer stays there after a single iteration.
    again = cg_natural_step(*args, x0=jnp.asarray(expected, jnp.float32), maxiter=1)
    np.testing.assert_allclose(np.asarray(again), expected, rtol=2e-4, atol=1e-5)


def test_matrix_free_step_is_clipped_in_the_damped_norm_like_the_dense_one():
    G, d, q = _problem(seed=1)
    Gc = G - G.mean(axis=0)
    F = Gc.T @ Gc / len(G)
    x0 = jnp.zeros(len(d))
    fvp, diag = chain_fvp(jnp.asarray(G))
    step = np.asarray(
        cg_natural_step(
            jnp.asarray(d),
            fvp,
            diag,
            lambda v: q * v,
            jnp.asarray(q),
            0.3,
            0.5,
            x0=x0,
            maxiter=200,
        )
    )
    # Clipped in the damped system's norm, F + lam I (lam: 0.3 of the mean
    # diagonal of F + Q, as the solver damps).
    lam = 0.3 * np.mean(np.diag(F) + q) + 1e-6
    assert abs(np.sqrt(step @ F @ step + lam * step @ step) - 0.5) < 1e-4
    # Same damping convention as the dense step: with q as a dense diagonal
    # and the same relative damping the two agree (the dense one adds the
    # damping relative to the mean diagonal of F + Q as well).
    dense = natural_step(
        jnp.asarray(d), jnp.asarray(F), jnp.diag(jnp.asarray(q)), 0.3, 0.5
    )
    np.testing.assert_allclose(step, np.asarray(dense), rtol=1e-3, atol=1e-5)
