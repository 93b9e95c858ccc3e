"""Reflective HMC on the unit box: exact distributions, integrator properties, jit.

How the statistical tolerances are set
--------------------------------------
Every distribution test runs C independent chains from one bad start (a
corner) and keeps ONE draw per chain, after a burn-in long enough for the
chains to forget the start (the invariance tests below start from exact
draws instead and check that a few transitions keep the law). The C draws
are then independent, so:

* the Kolmogorov–Smirnov statistic of a marginal against its exact CDF has
  exactly the Kolmogorov null distribution, and its p-value is exact; we
  require ``p > ALPHA`` per test with ``ALPHA = 1e-3``;
* a sample mean of a statistic ``s`` has standard error ``sd(s) / sqrt(C)``
  with ``sd(s)`` known exactly (from the closed form or quadrature), so
  ``z = (mean - truth) / (sd / sqrt(C))`` is N(0, 1); with k statistics per
  test we require ``|z| < Φ⁻¹(1 - ALPHA / (2k))`` (Bonferroni).

The effective sample size is therefore C itself. Residual burn-in bias must
be far below the resolution of the tests, ``~1.36 / sqrt(C) ≈ 0.02`` in CDF
for C = 4000; chains started at a corner cross the unit box in one or two
transitions here, and 300 transitions leave a distance to stationarity many
orders of magnitude below that. Seeds are fixed, so the tests are
deterministic.
"""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from conftest import exp_cdf, exp_draws, gaussian_box_integral, inverse_cdf_draws
from scipy import stats

from skmaxent.core.sampling import chains, hmc
from skmaxent.core.sampling.kernel import Target

ALPHA = 1e-3
N_CHAINS = 4000


@partial(jax.jit, static_argnames=("energy_and_grad", "n_leapfrog", "n_steps"))
def _run(key, positions, energy_and_grad, step_size, n_leapfrog, n_steps):
    kernel, target = hmc.ReflectiveHMC(n_leapfrog), Target(energy_and_grad)
    states = kernel.init(positions, target)
    params = hmc.HMCParams(step_size)
    return chains.run(kernel, key, states, target, params, n_steps)


def draws(energy_and_grad, start, seed, step_size, n_leapfrog, n_steps=300):
    """One draw per chain after ``n_steps`` transitions; ``start`` is (C, n)."""
    states, infos = _run(
        jax.random.key(seed),
        jnp.asarray(start, jnp.float32),
        energy_and_grad,
        step_size,
        n_leapfrog,
        n_steps,
    )
    assert float(jnp.max(infos.is_divergent)) == 0.0
    return np.asarray(states.position, dtype=np.float64), infos


def corner(n):
    return np.zeros((N_CHAINS, n))


# --- energies -----------------------------------------------------------------


def uniform_energy(u):
    return jnp.zeros((), u.dtype), jnp.zeros_like(u)


THETA = 8.0


def exponential_energy(u):
    """``p(x) ∝ exp(θ x)`` on [0, 1]: mass piled at the wall x = 1."""
    return -THETA * u[0], jnp.full_like(u, -THETA)


def exponential_cdf(x):
    return exp_cdf(x, THETA)


MEAN = np.array([0.35, 0.6])
COV = np.array([[0.25**2, 0.7 * 0.25 * 0.3], [0.7 * 0.25 * 0.3, 0.3**2]])
PRECISION = np.linalg.inv(COV)


def gaussian_energy(u):
    """Correlated Gaussian, heavily truncated by the box."""
    d = u - jnp.asarray(MEAN, u.dtype)
    g = jnp.asarray(PRECISION, u.dtype) @ d
    return 0.5 * d @ g, g


# Piecewise-constant density: p(x) ∝ exp(sum_k c_k 1[a_k <= x < b_k]).
PIECES = np.array([[0.1, 0.3, 2.0], [0.5, 0.55, -1.5], [0.7, 0.95, 1.0]])


def step_energy(u):
    a, b, c = (jnp.asarray(PIECES[:, j], u.dtype) for j in range(3))
    inside = (u[:, None] >= a) & (u[:, None] < b)
    # The gradient is zero almost everywhere (and taken to be zero at the jumps).
    return -jnp.sum(jnp.where(inside, c, 0.0)), jnp.zeros_like(u)


def step_cdf(x):
    """Exact CDF of one coordinate: the density is constant between breakpoints."""
    grid = np.unique(np.concatenate([[0.0, 1.0], PIECES[:, 0], PIECES[:, 1]]))
    mid = 0.5 * (grid[:-1] + grid[1:])
    inside = (mid[:, None] >= PIECES[:, 0]) & (mid[:, None] < PIECES[:, 1])
    dens = np.exp(inside @ PIECES[:, 2])
    mass = np.concatenate([[0.0], np.cumsum(dens * np.diff(grid))])
    return np.interp(x, grid, mass / mass[-1])


def step_exact(rng, size):
    grid = np.linspace(0.0, 1.0, 200_001)
    return inverse_cdf_draws(rng, grid, step_cdf(grid), size)


# --- distribution tests -------------------------------------------------------


def test_uniform_from_corner():
    x, infos = draws(uniform_energy, corner(3), seed=0, step_size=0.3, n_leapfrog=5)
    # E = 0: H is exactly conserved (reflections keep |p|), so all accepted.
    assert float(jnp.min(infos.acceptance_rate)) == 1.0
    for j in range(3):
        assert stats.kstest(x[:, j], "uniform").pvalue > ALPHA


def test_exponential_at_wall_from_far_corner():
    x, infos = draws(
        exponential_energy, corner(1), seed=1, step_size=0.1, n_leapfrog=10
    )
    assert float(jnp.mean(infos.acceptance_rate)) > 0.3
    assert stats.kstest(x[:, 0], exponential_cdf).pvalue > ALPHA


def test_exponential_is_left_invariant():
    start = exp_draws(np.random.default_rng(2), THETA, (N_CHAINS, 1))
    assert stats.kstest(start[:, 0], exponential_cdf).pvalue > ALPHA
    x, _ = draws(
        exponential_energy, start, seed=2, step_size=0.1, n_leapfrog=10, n_steps=5
    )
    assert stats.kstest(x[:, 0], exponential_cdf).pvalue > ALPHA


def _gaussian_moments():
    """E[s] and sd(s) for s in (u1, u2, u1², u2², u1 u2), by 2-D quadrature."""

    def integral(f):
        return gaussian_box_integral(f, MEAN, PRECISION, epsabs=1e-11, epsrel=1e-10)

    stats_ = [
        lambda x, y: x,
        lambda x, y: y,
        lambda x, y: x * x,
        lambda x, y: y * y,
        lambda x, y: x * y,
    ]
    z = integral(lambda x, y: 1.0)
    mean = np.array([integral(s) / z for s in stats_])
    second = np.array([integral(lambda x, y, s=s: s(x, y) ** 2) / z for s in stats_])
    return mean, np.sqrt(second - mean**2)


def test_correlated_truncated_gaussian_moments_from_corner():
    x, _ = draws(gaussian_energy, corner(2), seed=3, step_size=0.15, n_leapfrog=8)
    s = np.stack([x[:, 0], x[:, 1], x[:, 0] ** 2, x[:, 1] ** 2, x[:, 0] * x[:, 1]], 1)
    mean, sd = _gaussian_moments()
    z = (s.mean(axis=0) - mean) / (sd / np.sqrt(N_CHAINS))
    bound = stats.norm.ppf(1 - ALPHA / (2 * len(z)))
    assert np.all(np.abs(z) < bound), z


def test_piecewise_constant_from_corner():
    x, infos = draws(step_energy, corner(2), seed=4, step_size=0.2, n_leapfrog=5)
    # The jumps are seen by the Metropolis step only, so some proposals fail.
    assert 0.3 < float(jnp.mean(infos.acceptance_rate)) < 1.0
    for j in range(2):
        assert stats.kstest(x[:, j], step_cdf).pvalue > ALPHA


def test_piecewise_constant_is_left_invariant():
    start = step_exact(np.random.default_rng(5), (N_CHAINS, 2))
    x, _ = draws(step_energy, start, seed=5, step_size=0.2, n_leapfrog=5, n_steps=5)
    for j in range(2):
        assert stats.kstest(x[:, j], step_cdf).pvalue > ALPHA


# --- integrator ---------------------------------------------------------------


def test_reflect_folds_by_parity():
    y = jnp.array([0.25, -0.25, 1.25, 2.5, -1.75, 3.0])
    p = jnp.ones(6)
    u, q = hmc.reflect(y, p)
    np.testing.assert_allclose(u, [0.25, 0.25, 0.75, 0.5, 0.25, 1.0], atol=1e-7)
    np.testing.assert_array_equal(q, [1, -1, -1, 1, 1, -1])


def smooth_energy(u):
    d = u - jnp.array([0.4, 0.55, 0.5])
    return 0.5 * jnp.sum(d * d) / 0.09, d / 0.09


def test_leapfrog_is_reversible_through_reflections():
    u0 = jnp.array([0.9, 0.1, 0.5])
    p0 = jnp.array([3.0, -2.5, 1.7])
    e0, g0 = smooth_energy(u0)
    eps, n = 0.1, 20

    # Count reflections independently: the pre-fold drift target leaves [0, 1].
    u, p, g, n_reflections = u0, p0, g0, 0
    for _ in range(n):
        y = u + eps * (p - 0.5 * eps * g)
        n_reflections += int(jnp.sum((y < 0) | (y > 1)))
        u, p, _, g = hmc.leapfrog(u, p, g, smooth_energy, eps, 1)
    assert n_reflections >= 5

    # n steps at once (merged kicks) agree with n single steps.
    u1, p1, _, g1 = hmc.leapfrog(u0, p0, g0, smooth_energy, eps, n)
    np.testing.assert_allclose(u1, u, atol=1e-6)
    u2, p2, e2, _ = hmc.leapfrog(u1, -p1, g1, smooth_energy, eps, n)
    np.testing.assert_allclose(u2, u0, atol=2e-6)
    np.testing.assert_allclose(-p2, p0, atol=2e-5)
    np.testing.assert_allclose(e2, e0, rtol=1e-5)


def test_energy_error_shrinks_like_step_squared():
    # Harmonic well of width 0.1 in the middle of the box, amplitude 0.1: no
    # reflections, so leapfrog's O(eps²) energy error is the only one.
    def energy(u):
        d = u - 0.5
        return 50.0 * jnp.sum(d * d), 100.0 * d

    u0, p0 = jnp.array([0.5, 0.55]), jnp.array([1.0, -0.6])
    e0, g0 = energy(u0)
    h0 = e0 + 0.5 * jnp.sum(p0 * p0)

    def max_error(eps):
        # Max over one period (0.2π ≈ 0.63) of |ΔH|, one leapfrog step at a time.
        def body(carry, _):
            u, p, e, g = hmc.leapfrog(*carry, energy, eps, 1)
            return (u, p, g), jnp.abs(e + 0.5 * jnp.sum(p * p) - h0)

        _, err = jax.lax.scan(body, (u0, p0, g0), None, length=int(0.7 / eps))
        return float(jnp.max(err))

    errors = [max_error(eps) for eps in (0.02, 0.01, 0.005)]
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert errors[0] < 0.02
    np.testing.assert_allclose(ratios, 4.0, rtol=0.2)


def test_divergent_proposal_is_rejected():
    start = jnp.array([0.3, 0.7])

    def energy(u):
        # NaN everywhere except at the start: every move is divergent.
        moved = jnp.any(u != start)
        return jnp.where(moved, jnp.nan, 0.0), jnp.zeros_like(u)

    state = hmc.init(start, energy)
    new, info = hmc.step(jax.random.key(0), state, energy, 0.1, 3)
    assert bool(info.is_divergent) and not bool(info.is_accepted)
    assert float(info.acceptance_rate) == 0.0
    np.testing.assert_array_equal(new.position, start)
    assert float(new.energy) == 0.0


# --- determinism and compilation -------------------------------------------------


def test_same_key_same_chains():
    start = corner(2)[:64]
    a, ia = draws(
        gaussian_energy, start, seed=7, step_size=0.15, n_leapfrog=4, n_steps=10
    )
    b, ib = draws(
        gaussian_energy, start, seed=7, step_size=0.15, n_leapfrog=4, n_steps=10
    )
    c, _ = draws(
        gaussian_energy, start, seed=8, step_size=0.15, n_leapfrog=4, n_steps=10
    )
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ia.acceptance_rate, ib.acceptance_rate)
    assert not np.array_equal(a, c)


TRACES = {"count": 0}


@partial(jax.jit, static_argnames=("kernel", "n_steps"))
def _counted_runner(key, positions, kernel, params, n_steps):
    TRACES["count"] += 1  # runs only while tracing
    target = Target(gaussian_energy)
    states = kernel.init(positions, target)
    return chains.run(kernel, key, states, target, params, n_steps)


def test_module_level_runner_compiles_once_per_shape():
    TRACES["count"] = 0
    rng = np.random.default_rng(0)
    # The step size is traced: changing it does not recompile; kernels of
    # equal settings (a new but equal value each time) share the program.
    for i, eps in enumerate([0.1, 0.2, 0.05]):
        positions = jnp.asarray(rng.uniform(size=(16, 2)), jnp.float32)
        params = hmc.HMCParams(jnp.float32(eps))
        kernel = hmc.ReflectiveHMC(5)
        states, _ = _counted_runner(jax.random.key(i), positions, kernel, params, 4)
        jax.block_until_ready(states)
    assert TRACES["count"] == 1
    params = hmc.HMCParams(jnp.float32(0.1))
    _counted_runner(jax.random.key(0), positions[:8], hmc.ReflectiveHMC(5), params, 4)
    assert TRACES["count"] == 2
    _counted_runner(jax.random.key(0), positions[:8], hmc.ReflectiveHMC(3), params, 4)
    assert TRACES["count"] == 3  # n_leapfrog is the kernel's static setting


def test_step_eager_and_jitted_agree():
    state = hmc.init(jnp.array([0.2, 0.9]), gaussian_energy)
    f = partial(hmc.step, energy_and_grad=gaussian_energy, step_size=0.15, n_leapfrog=4)
    eager, eager_info = f(jax.random.key(3), state)
    jitted, jitted_info = jax.jit(f)(jax.random.key(3), state)
    np.testing.assert_allclose(jitted.position, eager.position, atol=1e-6)
    assert bool(jitted_info.is_accepted) == bool(eager_info.is_accepted)
    assert np.all(
        (np.asarray(jitted.position) >= 0) & (np.asarray(jitted.position) <= 1)
    )
