"""The sampling-kernel seam: a kernel written only here trains and integrates.

:class:`RandomWalk` is a random-walk Metropolis kernel on the unit box
(Gaussian proposals, rejected outside the box: symmetric and reversible,
so it leaves ``exp(-E)`` on the box invariant) that implements
:class:`skmaxent.core.sampling.kernel.Kernel` and touches no package module. Plugged
into the training loop and into annealed importance sampling it must give
the exact moments and ``log Z`` of the 2-D quadratic test problem
(quadrature, :func:`conftest.quadratic_2d_exact`): the proof that a new
sampler is one module.
"""

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from conftest import THETA_2D, quadratic_2d_exact
from scipy import stats

from skmaxent.core.energy import Geometry, Linear, unit_geometry
from skmaxent.core.logz import ais
from skmaxent.core.sampling import chains
from skmaxent.core.training import loop
from skmaxent.core.training.dual import Dual, DualParams
from skmaxent.core.training.penalties import build
from skmaxent.core.training.problem import LoopConfig, Phase, Problem, identity_report
from skmaxent.features import compile_features
from skmaxent.priors import prior_fields

CALLS = {"init": 0, "step": 0, "adapt": 0}  # counted while tracing


class WalkState(NamedTuple):
    position: jax.Array  # (C, n)
    energy: jax.Array  # (C,)


class WalkInfo(NamedTuple):
    acceptance_rate: jax.Array  # (C,)


class WalkParams(NamedTuple):
    scale: jax.Array  # () proposal standard deviation on the unit box


@dataclass(frozen=True)
class RandomWalk:
    """Random-walk Metropolis on the unit box, over a batch of chains."""

    def init(self, positions, target):
        CALLS["init"] += 1
        energy = jax.vmap(lambda u: target.energy_and_grad(u)[0])(positions)
        return WalkState(positions, energy)

    def step(self, key, state, target, params):
        CALLS["step"] += 1
        k_move, k_accept = jax.random.split(key)
        u = state.position
        proposal = u + params.scale * jax.random.normal(k_move, u.shape, u.dtype)
        inside = jnp.all((proposal >= 0) & (proposal <= 1), axis=1)
        energy = jax.vmap(lambda v: target.energy_and_grad(v)[0])(
            jnp.clip(proposal, 0.0, 1.0)
        )
        log_ratio = jnp.where(inside, state.energy - energy, -jnp.inf)
        log_u = jnp.log(jax.random.uniform(k_accept, log_ratio.shape, u.dtype))
        accept = log_u < log_ratio
        new = WalkState(
            jnp.where(accept[:, None], proposal, u),
            jnp.where(accept, energy, state.energy),
        )
        return new, WalkInfo(jnp.minimum(1.0, jnp.exp(log_ratio)))

    def adapt(self, params, info, target_accept, gain):
        CALLS["adapt"] += 1
        rate = jnp.mean(info.acceptance_rate)
        return WalkParams(params.scale * jnp.exp(gain * (rate - target_accept)))


def _problem(fm, mu):
    """The dual's problem on the unit box, features standardised."""
    low, high = np.zeros(2, np.float32), np.ones(2, np.float32)
    mean, std = (np.asarray(a, np.float32) for a in fm.uniform_moments(low, high))
    p = fm.n_features_out
    return Problem(
        geo=Geometry(low, high, np.zeros(2, np.float32), mean, std),
        nu=np.asarray((mu - mean) / std, np.float32),
        penalty=build(np.ones(p), 0.0),
        report=identity_report(p),
        learning_rate=np.float32(0.3),
        max_norm=np.float32(0.5 * np.sqrt(2)),
        own=DualParams(np.float32(1e-3), np.float32(0.1)),
        target_accept=np.float32(0.4),
        **prior_fields((), 1024),
    )


def test_a_kernel_written_here_trains_to_the_exact_moments():
    # Learn for 40 chunks of 50 iterations from zero, then average the
    # iterates of the next 20 chunks. Each iteration's moments come from
    # 1,024 chains; over 1,000 averaged iterations and an integrated
    # autocorrelation below ~20 iterations that is >= 50,000 effective
    # draws, so the averaged iterate's moments are within about
    # 1/sqrt(50,000) = 0.0045 feature sd of the targets (plus the constant
    # learning rate's small bias). 0.03 sd is over six of those; a kernel
    # that ignored the energy (the uniform distribution) is off by > 0.5 sd.
    fm = compile_features("quadratic", 2)
    mu, _, fisher = quadratic_2d_exact(THETA_2D)
    problem = _problem(fm, mu)
    kernel, objective = RandomWalk(), Dual(Linear(fm))
    CALLS.update(init=0, step=0, adapt=0)
    positions = jax.random.uniform(jax.random.key(0), (1024, 2))
    state = loop.start(
        jax.random.key(1),
        objective,
        kernel,
        jnp.zeros(fm.n_features_out),
        positions,
        WalkParams(jnp.float32(0.5)),
        problem,
    )
    config, thetas = LoopConfig(chunk_size=50), []
    for chunk in range(60):
        phase = Phase(np.asarray(True), np.asarray(True), np.int32(10**6))
        state, info = loop.run_chunk(state, problem, phase, objective, kernel, config)
        if chunk >= 40:
            thetas.append(np.asarray(info.theta, np.float64))
    assert CALLS["step"] >= 1 and CALLS["adapt"] >= 1  # the kernel was the one used
    # Adaptation moved the proposal scale from its start, towards 40 %.
    assert abs(float(state.params.scale) - 0.5) > 0.01
    assert 0.3 < float(np.mean(info.acceptance)) < 0.5
    coef = np.mean(thetas, axis=0) / np.asarray(problem.geo.std, np.float64)
    achieved, _, _ = quadratic_2d_exact(coef)
    sd = np.sqrt(np.diag(fisher))
    np.testing.assert_array_less(np.abs(achieved - mu) / sd, 0.03)


def test_a_kernel_written_here_integrates_log_z():
    # AIS with the random walk at every temperature, from the uniform
    # reference; 8 independent runs of 512 particles. The mean estimate is
    # within 3 standard errors of the 8-run mean (sigma / sqrt(8)) plus the
    # Jensen bias sigma^2 / 2 of the quadrature value; the reported error is
    # checked to be the runs' spread (chi-square bounds at 0.1 %).
    fm = compile_features("quadratic", 2)
    _, log_z, _ = quadratic_2d_exact(THETA_2D)
    geo = unit_geometry(np.zeros(2), np.ones(2), 5)  # theta = coef
    eg = Linear(fm).on_unit(jnp.asarray(THETA_2D, jnp.float32), geo)
    CALLS.update(init=0, step=0)

    @jax.jit
    def estimates(key):
        def one(k):
            return ais.log_partition(
                k,
                eg,
                2,
                512,
                50,
                kernel=RandomWalk(),
                params=WalkParams(jnp.float32(0.3)),
            )

        return jax.vmap(one)(jax.random.split(key, 8))

    info = estimates(jax.random.key(2))
    assert CALLS["step"] >= 1 and CALLS["init"] >= 1
    est = np.asarray(info.log_z, np.float64)
    sigma = float(np.mean(info.log_z_std))
    assert sigma > 0
    bound = 3 * sigma / np.sqrt(8) + sigma**2 / 2 + 1e-4
    assert abs(est.mean() - log_z) < bound, (est, log_z, sigma)
    lo, hi = np.sqrt(stats.chi2.ppf([0.001, 0.999], 7) / 7)
    assert lo < est.std(ddof=1) / sigma < hi


def test_sample_and_settle_take_the_kernel():
    # chains.sample with the random walk at THETA_2D: the mean of x_0 over
    # 1,024 chains x 100 kept draws (thinned by 5 from 500 transitions
    # after 200 of burn-in) is within 4 of its standard errors (the
    # per-chain means' spread over sqrt(1,024)) of the exact one.
    fm = compile_features("quadratic", 2)
    mu, _, _ = quadratic_2d_exact(THETA_2D)
    geo = unit_geometry(np.zeros(2), np.ones(2), 5)  # theta = coef
    theta = jnp.asarray(THETA_2D, jnp.float32)
    start = jax.random.uniform(jax.random.key(3), (1024, 2))
    kernel, params = RandomWalk(), WalkParams(jnp.float32(0.3))
    settled = chains.settle(
        jax.random.key(4), Linear(fm), theta, geo, start, kernel, params, 200
    )
    draws = chains.sample(
        jax.random.key(5), Linear(fm), theta, geo, settled.position, kernel, params, 500
    )
    x0 = np.asarray(draws[4::5, :, 0], np.float64)  # (100, 1024)
    per_chain = x0.mean(axis=0)
    se = per_chain.std(ddof=1) / np.sqrt(per_chain.size)
    assert abs(per_chain.mean() - mu[0]) < 4 * se
