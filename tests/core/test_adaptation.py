"""Step-size adaptation: constant-gain tracking (the package's), and dual
averaging (Hoffman & Gelman 2014, §3.2.1), a reference kept here.

Dual averaging is ``(init, update, final)`` as in blackjax
``adaptation/step_size.py``: with ``x = log(step_size)`` and
``H_t = target - acceptance_t``,

    Hbar_t = (1 - 1/(t + t0)) Hbar_{t-1} + H_t / (t + t0)
    x_{t+1} = mu - sqrt(t) / gamma * Hbar_t
    xbar_{t+1} = t^-kappa x_{t+1} + (1 - t^-kappa) xbar_t

with ``mu = log(10 step_size_0)``. ``current`` is ``exp(x)``, the step size to
use during warm-up; ``final`` is ``exp(xbar)``, the one to keep afterwards.
Every state field is an array, so a traced flag can switch it on and off.
"""

import math
from functools import partial
from types import SimpleNamespace
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from skmaxent.core.sampling import adaptation, chains, hmc
from skmaxent.core.sampling.kernel import Target
from skmaxent.core.types import Array, ArrayLike

N_DIM, N_CHAINS = 10, 64

#: Defaults recommended by Hoffman & Gelman (2014).
T0 = 10.0
GAMMA = 0.05
KAPPA = 0.75
#: Upper bound on the adapted step size. On the unit box a drift of ten box
#: widths per leapfrog step is already pointless; the bound keeps a flat energy
#: (acceptance always 1, so ``x`` grows like ``sqrt(t)``) from overflowing.
MAX_LOG_STEP_SIZE = math.log(10.0)


class DualAveragingState(NamedTuple):
    """State of the dual-averaging scheme (all fields are arrays).

    log_step_size : () ``x_t``, the log step size to use next (warm-up).
    log_step_size_avg : () ``xbar_t``, its weighted average (after warm-up).
    step : () int32 iteration counter ``t``, starting at 1.
    avg_error : () ``Hbar_t``, running average of ``target - acceptance``.
    mu : () ``log(10 step_size_0)``, the point ``x`` is shrunk towards.
    """

    log_step_size: Array
    log_step_size_avg: Array
    step: Array
    avg_error: Array
    mu: Array


def init(step_size: ArrayLike) -> DualAveragingState:
    """Start dual averaging from an initial step size (may be traced)."""
    step_size = jnp.asarray(step_size)
    step_size = step_size.astype(jnp.result_type(step_size, float))
    log_step_size = jnp.log(step_size)
    zero = jnp.zeros_like(log_step_size)
    return DualAveragingState(
        log_step_size=log_step_size,
        log_step_size_avg=zero,
        step=jnp.ones((), dtype=jnp.int32),
        avg_error=zero,
        mu=jnp.log(10.0) + log_step_size,
    )


def update(
    state: DualAveragingState, acceptance_rate: ArrayLike, target: ArrayLike
) -> DualAveragingState:
    """One dual-averaging update from an observed mean acceptance rate.

    Acceptance below ``target`` shrinks the step size, above grows it. The
    log step size is capped at :data:`MAX_LOG_STEP_SIZE`.
    """
    dtype = state.avg_error.dtype
    t = state.step.astype(dtype)
    error = jnp.asarray(target, dtype) - jnp.asarray(acceptance_rate, dtype)
    reg = t + T0
    avg_error = (1.0 - 1.0 / reg) * state.avg_error + error / reg
    log_step_size = state.mu - jnp.sqrt(t) / GAMMA * avg_error
    log_step_size = jnp.minimum(log_step_size, MAX_LOG_STEP_SIZE)
    eta = t ** (-KAPPA)
    log_step_size_avg = eta * log_step_size + (1.0 - eta) * state.log_step_size_avg
    return DualAveragingState(
        log_step_size=log_step_size,
        log_step_size_avg=log_step_size_avg,
        step=state.step + 1,
        avg_error=avg_error,
        mu=state.mu,
    )


def current(state: DualAveragingState) -> Array:
    """The step size to use during warm-up, ``exp(x_t)``."""
    return jnp.exp(state.log_step_size)


def final(state: DualAveragingState) -> Array:
    """The step size to keep after warm-up, ``exp(xbar_t)``.

    Before any update this is 1 (``xbar_1 = 0``); call it after warm-up.
    """
    return jnp.exp(state.log_step_size_avg)


dual_averaging = SimpleNamespace(init=init, update=update, current=current, final=final)


def gaussian_energy(u):
    """Independent Gaussians of width 0.1 in the middle of the box (Gaussian-ish)."""
    d = (u - 0.5) / jnp.linspace(0.05, 0.15, u.shape[0])
    return 0.5 * jnp.sum(d * d), d / jnp.linspace(0.05, 0.15, u.shape[0])


@partial(jax.jit, static_argnames=("n_warmup", "n_samples"))
def adapt_then_sample(key, target, n_warmup, n_samples):
    """Warm-up adapting on the mean acceptance over chains, then a frozen run."""
    k_init, k_warm, k_run = jax.random.split(key, 3)
    positions = jax.random.uniform(k_init, (N_CHAINS, N_DIM))
    states = jax.vmap(lambda u: hmc.init(u, gaussian_energy))(positions)
    batched = jax.vmap(hmc.step, in_axes=(0, 0, None, None, None))

    def warm(carry, k):
        states, da = carry
        states, info = batched(
            jax.random.split(k, N_CHAINS),
            states,
            gaussian_energy,
            dual_averaging.current(da),
            5,
        )
        da = dual_averaging.update(da, jnp.mean(info.acceptance_rate), target)
        return (states, da), None

    da = dual_averaging.init(1.0)
    (states, da), _ = jax.lax.scan(
        warm, (states, da), jax.random.split(k_warm, n_warmup)
    )
    step_size = dual_averaging.final(da)
    kernel, target = hmc.ReflectiveHMC(5), Target(gaussian_energy)
    params = hmc.HMCParams(step_size)
    _, infos = chains.run(kernel, k_run, states, target, params, n_samples)
    return step_size, jnp.mean(infos.acceptance_rate)


def test_acceptance_is_driven_to_target():
    # The acceptance after adaptation is a mean of 64 chains x 300 steps;
    # its Monte Carlo error is ~0.01, and the adapted step size is itself
    # noisy (gamma = 0.05; its average forgets the start slowly, hence 2000
    # warm-up steps), so 0.05 is a generous tolerance.
    for target in (0.6, 0.8, 0.95):
        step_size, acceptance = adapt_then_sample(jax.random.key(0), target, 2000, 300)
        assert 0.0 < float(step_size) < 1.0
        assert abs(float(acceptance) - target) < 0.05, (target, acceptance)


def test_flat_energy_keeps_step_size_finite():
    # E = 0 accepts everything, so the log step size would grow like sqrt(t).
    da = dual_averaging.init(0.2)
    update = jax.jit(dual_averaging.update)
    for _ in range(2000):
        da = update(da, 1.0, 0.8)
    assert float(dual_averaging.current(da)) <= 10.0 + 1e-5
    assert np.isfinite(float(dual_averaging.final(da)))


def test_update_at_target_shrinks_to_mu():
    da = dual_averaging.update(dual_averaging.init(0.3), 0.8, 0.8)
    np.testing.assert_allclose(dual_averaging.current(da), 3.0, rtol=1e-6)
    assert int(da.step) == 2


def test_update_can_be_switched_off_by_a_traced_flag():
    @jax.jit
    def maybe(da, adapt):
        new = dual_averaging.update(da, 0.1, 0.8)
        return jax.tree.map(lambda a, b: jnp.where(adapt, a, b), new, da)

    da = dual_averaging.init(0.3)
    off = maybe(da, jnp.asarray(False))
    on = maybe(da, jnp.asarray(True))
    for a, b in zip(off, da):
        np.testing.assert_array_equal(a, b)
    # Low acceptance pulls the step below mu = log(10 * 0.3), where it sits at target.
    assert float(dual_averaging.current(on)) < 3.0
    assert int(on.step) == 2


def test_track_moves_towards_target_and_stays_bounded():
    # Above-target acceptance grows the step size by exactly exp(gain * gap).
    grown = adaptation.track(jnp.float32(0.1), 0.9, 0.8, 0.5)
    np.testing.assert_allclose(grown, 0.1 * np.exp(0.05), rtol=1e-6)
    shrunk = adaptation.track(jnp.float32(0.1), 0.3, 0.8, 0.5)
    np.testing.assert_allclose(shrunk, 0.1 * np.exp(-0.25), rtol=1e-6)
    # An unreachable target (acceptance 0 forever) pins it at the floor, not 0.
    eps = jnp.float32(0.1)
    for _ in range(2000):
        eps = adaptation.track(eps, 0.0, 0.8, 0.5)
    assert float(eps) == pytest.approx(adaptation.MIN_STEP_SIZE, rel=1e-6)
    for _ in range(2000):
        eps = adaptation.track(eps, 1.0, 0.8, 0.5)
    assert float(eps) == pytest.approx(adaptation.MAX_STEP_SIZE, rel=1e-6)


def test_track_reaches_target_acceptance_on_a_gaussian():
    # Tracking with a constant gain reaches the acceptance target on a fixed
    # distribution: a truncated Gaussian of sd 0.05 on the unit box.
    def energy_and_grad(u):
        d = (u - 0.5) / 0.05
        return 0.5 * jnp.sum(d**2), d / 0.05

    key = jax.random.key(0)
    states = jax.vmap(lambda u: hmc.init(u, energy_and_grad))(
        jnp.full((256, 2), 0.5) + 0.01
    )

    def body(carry, k):
        states, eps = carry
        keys = jax.random.split(k, 256)
        states, info = jax.vmap(lambda kk, s: hmc.step(kk, s, energy_and_grad, eps, 5))(
            keys, states
        )
        acc = jnp.mean(info.acceptance_rate)
        return (states, adaptation.track(eps, acc, 0.8, 0.05)), acc

    (_, eps), acc = jax.lax.scan(
        body, (states, jnp.float32(1.0)), jax.random.split(key, 1500)
    )
    # Mean acceptance over the last 500 iterations (256 chains each) has a
    # Monte Carlo error well below 0.01; the tracking equilibrium is 0.8.
    assert abs(float(jnp.mean(acc[-500:])) - 0.8) < 0.03
