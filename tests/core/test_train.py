"""The training loop's chains target the model at the current parameters."""

import jax
import jax.numpy as jnp
import numpy as np

from skmaxent.core import train
from skmaxent.core.types import Box
from skmaxent.features import compile_features
from skmaxent.priors import prior_fields


def _hyper(fm, low, high, std, learn):
    p = fm.n_features_out
    return train.Hyper(
        nu=jnp.zeros(p),
        mean=jnp.zeros(p),
        std=jnp.asarray(std, jnp.float32),
        low=low,
        high=high,
        Q=jnp.zeros((p, p)),
        learning_rate=jnp.float32(0.0),
        damping=jnp.float32(1e-3),
        max_norm=jnp.float32(0.5),
        ema=jnp.float32(0.1),
        target_accept=jnp.float32(0.8),
        adapt=jnp.asarray(False),
        learn=jnp.asarray(learn),
        average=jnp.asarray(False),
        max_iter=jnp.int32(1000),
        **prior_fields((), 512),
    )


def test_learning_iterations_refresh_the_chains_energy_cache():
    # Chains whose cached energy and gradient belong to other parameters (as
    # after a parameter step) must be re-evaluated at the current parameters
    # before the Metropolis test: afterwards every chain's cache, accepted or
    # rejected, equals the energy at the current parameters, computed here
    # independently in NumPy (E = -coef . f(x)).
    fm = compile_features("quadratic", 2)
    low, high = jnp.zeros(2, jnp.float32), jnp.ones(2, jnp.float32)
    std = np.ones(fm.n_features_out, np.float32)
    rng = np.random.default_rng(0)
    positions = jnp.asarray(rng.uniform(size=(256, 2)), jnp.float32)
    old = jnp.asarray([1.0, -2.0, 3.0, 1.0, -4.0], jnp.float32)
    phi = jnp.asarray([-3.0, 2.0, -1.0, 4.0, 2.0], jnp.float32)
    chains = train.init_chains(fm, old, Box(low, high), positions)
    state = train.init_state(jax.random.key(1), fm, phi, chains, jnp.float32(0.3))
    config = train.TrainConfig(n_leapfrog=3, chunk_size=1)
    new, _ = train.run_chunk(state, _hyper(fm, low, high, std, True), fm, config)
    u = np.asarray(new.chains.position, np.float64)
    f = np.column_stack(
        [u[:, 0], u[:, 1], u[:, 0] ** 2, u[:, 1] ** 2, u[:, 0] * u[:, 1]]
    )
    expected = -f @ np.asarray(phi, np.float64)
    rejected = np.all(u == np.asarray(positions), axis=1)
    assert rejected.sum() > 10  # the rejected chains are the ones at stake
    np.testing.assert_allclose(np.asarray(new.chains.energy), expected, atol=1e-4)
