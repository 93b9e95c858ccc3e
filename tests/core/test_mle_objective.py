"""The maximum-likelihood gradient of core.mle against quadrature and closed forms.

References are computed independently: the model's expectations by
Gauss–Legendre quadrature, the data's over the whole data set with NumPy,
and the data's minibatch drawn by the objective itself.
"""

from dataclasses import dataclass
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
from conftest import gauss_legendre, inverse_cdf_draws

from skmaxent.core.energy import flatten, unit_geometry
from skmaxent.core.training.mle import MLE, Data

THETA = np.array([1.5, 0.8, 4.0])  # the model: E(x) = a x + b sin(c x) on [0, 1]
THETA_DATA = np.array([-1.0, 1.2, 6.0])  # the data's law, of the same form


@dataclass(frozen=True)
class Wave:
    """A user energy ``a x + b sin(c x)`` (the init/__call__ protocol)."""

    def init(self, key, n):
        del key, n
        return jnp.asarray(THETA, jnp.float32)

    def __call__(self, params, x):
        return params[0] * x[0] + params[1] * jnp.sin(params[2] * x[0])


def energy_np(theta, x):
    return theta[0] * x + theta[1] * np.sin(theta[2] * x)


def grad_np(theta, x):
    """``d E / d theta`` (3, N) in closed form."""
    return np.stack([x, np.sin(theta[2] * x), theta[1] * x * np.cos(theta[2] * x)])


def exact_draws(rng, theta, size):
    """Exact draws of p ∝ exp(-E) on [0, 1] by inverting the CDF on a fine grid."""
    x = np.linspace(0, 1, 200_001)
    p = np.exp(-energy_np(theta, x))
    cdf = np.concatenate([[0], np.cumsum((p[1:] + p[:-1]) / 2)])
    return inverse_cdf_draws(rng, x, cdf, size)


def test_flat_energy_gradient_is_unbiased_against_quadrature():
    # grad of mean_data E + log Z + reg (mean_data E^2 + E_model E^2):
    # mean_data[(1 + 2 reg E) grad E] + E_model[(-1 + 2 reg E) grad E].
    reg = 0.1
    rng = np.random.default_rng(0)
    data = exact_draws(rng, THETA_DATA, 1000)
    x, w = gauss_legendre(0.0, 1.0, 400)
    dens = np.exp(-energy_np(THETA, x)) * w
    dens /= dens.sum()
    model_term = grad_np(THETA, x) @ (dens * (-1 + 2 * reg * energy_np(THETA, x)))
    Ed, Gd = energy_np(THETA, data), grad_np(THETA, data)
    exact = Gd @ (1 + 2 * reg * Ed) / len(data) + model_term

    theta, flat = flatten(Wave(), Wave().init(None, 1))
    geo = unit_geometry([0.0], [1.0], 1)
    problem = SimpleNamespace(
        geo=geo,
        own=Data(
            reg=jnp.float32(reg),
            second=jnp.zeros((0, 0), jnp.float32),
            U=jnp.asarray(data[:, None], jnp.float32),
            w=jnp.ones(len(data), jnp.float32),
            n_rows=jnp.int32(len(data)),
            key=jnp.zeros(2, jnp.uint32),
        ),
    )
    objective = MLE(flat, None, batch_size=64)
    # R replicate estimates, each from C exact model draws and its own
    # minibatch; their mean must match the exact gradient within 4 standard
    # errors of that mean (3 components: a false alarm < 2e-4).
    R, C = 2000, 32
    chains = jnp.asarray(exact_draws(rng, THETA, (R, C, 1)), jnp.float32)
    keys = jax.random.split(jax.random.key(1), R)

    @jax.jit
    def estimates(chains, keys):
        def one(U, k):
            return objective._rows(jnp.asarray(theta), U, k, problem)[0]

        return jax.vmap(one)(chains, keys)

    est = np.asarray(estimates(chains, keys), np.float64)
    se = est.std(axis=0, ddof=1) / np.sqrt(R)
    np.testing.assert_array_less(np.abs(est.mean(axis=0) - exact), 4 * se)
    # The check has power: the gradient is far from zero in SE units.
    assert np.max(np.abs(exact) / se) > 20
