"""Annealed importance sampling of log Z against exact answers.

Each case runs ``N_SEEDS`` independent AIS estimates (vmapped, one compile).
Tolerances:

* AIS's mean weight is an unbiased estimate of Z whatever the mixing of the
  transitions, so ``log Z_hat`` has only the Jensen bias ``≈ -σ²/2`` with
  ``σ`` its standard error. The mean of ``N_SEEDS`` estimates has standard
  error ``σ / sqrt(N_SEEDS)``; we require
  ``|mean - log Z| < 3 σ / sqrt(N_SEEDS) + σ² / 2 + 1e-4`` with ``σ`` the mean
  reported error (3 standard errors: a 0.27% false-alarm rate per case if
  ``σ`` is right; the last term is float32 rounding of sums of O(10) terms).
* Honesty of the reported ``σ``: with the seeds independent,
  ``(N_SEEDS - 1) s² / σ²`` is χ² with ``N_SEEDS - 1`` degrees of freedom (s the
  spread over seeds), so ``s / σ`` must lie in its two-sided 99.8% interval.
"""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from conftest import exp_log_z, gaussian_box_integral
from scipy import stats

from skmaxent.core.logz import ais
from skmaxent.core.sampling import hmc

N_SEEDS = 8
N_PARTICLES = 256
N_TEMPERATURES = 100


@partial(jax.jit, static_argnames=("energy_and_grad", "n_dim"))
def _estimates(key, energy_and_grad, n_dim, step_size):
    keys = jax.random.split(key, N_SEEDS)
    run = partial(
        ais.log_partition,
        energy_and_grad=energy_and_grad,
        n_dim=n_dim,
        n_particles=N_PARTICLES,
        n_temperatures=N_TEMPERATURES,
        kernel=hmc.ReflectiveHMC(5),
        params=hmc.HMCParams(step_size),
    )
    return jax.vmap(run)(keys)


def check(info, log_z):
    log_z_hat = np.asarray(info.log_z, np.float64)
    sigma = float(np.mean(info.log_z_std))
    assert sigma > 0 and np.all(np.asarray(info.ess) > 0.1 * N_PARTICLES)
    bound = 3 * sigma / np.sqrt(N_SEEDS) + sigma**2 / 2 + 1e-4
    assert abs(log_z_hat.mean() - log_z) < bound, (log_z_hat, log_z, sigma)
    df = N_SEEDS - 1
    lo, hi = np.sqrt(stats.chi2.ppf([0.001, 0.999], df) / df)
    ratio = log_z_hat.std(ddof=1) / sigma
    assert lo < ratio < hi, (ratio, lo, hi)


def test_zero_energy_is_exact():
    def zero(u):
        return jnp.zeros((), u.dtype), jnp.zeros_like(u)

    info = _estimates(jax.random.key(0), zero, 3, 0.2)
    np.testing.assert_array_equal(info.log_z, 0.0)
    np.testing.assert_array_equal(info.log_z_std, 0.0)
    np.testing.assert_allclose(info.ess, N_PARTICLES, rtol=1e-5)


THETA = 8.0


def linear(u):
    return -THETA * u[0], jnp.full_like(u, -THETA)


def test_linear_energy_closed_form():
    info = _estimates(jax.random.key(1), linear, 1, 0.1)
    check(info, exp_log_z(THETA))


MEAN = np.array([0.3, 0.7])
PRECISION = np.array([[30.0, -18.0], [-18.0, 20.0]])


def quadratic(u):
    d = u - jnp.asarray(MEAN, u.dtype)
    g = jnp.asarray(PRECISION, u.dtype) @ d
    return 0.5 * d @ g, g


def test_quadratic_energy_against_quadrature():
    z = gaussian_box_integral(lambda x, y: 1.0, MEAN, PRECISION, epsabs=1e-12)
    info = _estimates(jax.random.key(2), quadratic, 2, 0.15)
    check(info, np.log(z))


LOW, HIGH, DEPTH = 0.2, 0.5, 3.0


def indicator(u):
    # E = -3 sum_j 1[0.2 <= u_j < 0.5]: discontinuous, zero gradient.
    inside = (u >= LOW) & (u < HIGH)
    return -DEPTH * jnp.sum(inside.astype(u.dtype)), jnp.zeros_like(u)


def test_indicator_energy_exact():
    # Z factorises over the two coordinates: 1 + (e^3 - 1)(0.5 - 0.2) each.
    info = _estimates(jax.random.key(3), indicator, 2, 0.2)
    check(info, 2 * np.log1p(np.expm1(DEPTH) * (HIGH - LOW)))
