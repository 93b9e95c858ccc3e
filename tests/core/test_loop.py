"""The training loop's chains target the model at the current parameters."""

import jax
import jax.numpy as jnp
import numpy as np

from skmaxent.core.energy import Linear, unit_geometry
from skmaxent.core.sampling import chains
from skmaxent.core.sampling.hmc import HMCParams, ReflectiveHMC
from skmaxent.core.training import loop
from skmaxent.core.training.dual import Dual, DualParams
from skmaxent.core.training.penalties import build
from skmaxent.core.training.problem import LoopConfig, Phase, Problem, identity_report
from skmaxent.features import compile_features
from skmaxent.priors import prior_fields


def _problem(fm, low, high):
    p = fm.n_features_out
    return Problem(
        geo=unit_geometry(low, high, p),
        nu=np.zeros(p, np.float32),
        penalty=build(np.ones(p), 0.0),
        report=identity_report(p),
        learning_rate=np.float32(0.0),
        max_norm=np.float32(0.5),
        own=DualParams(np.float32(1e-3), np.float32(0.1)),
        target_accept=np.float32(0.8),
        **prior_fields((), 512),
    )


def test_learning_iterations_refresh_the_chains_energy_cache():
    # Chains whose cached energy and gradient belong to other parameters (as
    # after a parameter step) must be re-evaluated at the current parameters
    # before the Metropolis test: afterwards every chain's cache, accepted or
    # rejected, equals the energy at the current parameters, computed here
    # independently in NumPy (E = -coef . f(x)).
    fm = compile_features("quadratic", 2)
    low, high = np.zeros(2, np.float32), np.ones(2, np.float32)
    problem = _problem(fm, low, high)
    objective = Dual(Linear(fm))
    rng = np.random.default_rng(0)
    positions = jnp.asarray(rng.uniform(size=(256, 2)), jnp.float32)
    old = jnp.asarray([1.0, -2.0, 3.0, 1.0, -4.0], jnp.float32)
    phi = jnp.asarray([-3.0, 2.0, -1.0, 4.0, 2.0], jnp.float32)
    kernel, params = ReflectiveHMC(n_leapfrog=3), HMCParams(np.float32(0.3))
    state = loop.start(
        jax.random.key(1), objective, kernel, phi, positions, params, problem
    )
    stale = kernel.init(positions, chains.target(Linear(fm), old, problem.geo))
    state = state._replace(chains=stale)
    phase = Phase(np.asarray(True), np.asarray(False), np.int32(1000))
    config = LoopConfig(chunk_size=1)
    new, _ = loop.run_chunk(state, problem, phase, objective, kernel, config)
    u = np.asarray(new.chains.position, np.float64)
    f = np.column_stack(
        [u[:, 0], u[:, 1], u[:, 0] ** 2, u[:, 1] ** 2, u[:, 0] * u[:, 1]]
    )
    expected = -f @ np.asarray(phi, np.float64)
    rejected = np.all(u == np.asarray(positions), axis=1)
    assert rejected.sum() > 10  # the rejected chains are the ones at stake
    np.testing.assert_allclose(np.asarray(new.chains.energy), expected, atol=1e-4)
