"""The moment-matching (SMM) training loop, for any differentiable energy.

The same scheme as :mod:`skmaxent.core.train` (persistent reflective-HMC
chains, one transition per iteration, ``lax.scan`` over chunks, the host
between chunks), with the objective ``J = 1/2 |E[g] - nu|^2 + penalties`` in
standardised features ``g`` and an optax optimizer (clipping, then Adam)
instead of the dual's natural-gradient step. It is a module of its own
because the dual loop's functions and state are fixed by MaxEntDual.

The energy is a static argument: ``None`` for the linear energy
``E = -(theta / s)·f`` (``theta`` the standardised natural parameters; exact
x-gradients from the feature map, ``grad_theta E = -g``, no autodiff), or a
:class:`FlatEnergy` wrapping an energy object, its parameters flattened to
one vector ``theta`` (``jax.grad`` for both gradients). Everything else is
traced, so fits with equal shapes and configuration reuse the compiled code.
"""

from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from skmaxent.core import adaptation, ais, hmc, train
from skmaxent.core.objectives import (
    PriorBins,
    bin_indicators,
    cross_fit_weights,
    linear_smm_gradient,
    prior_penalty,
)
from skmaxent.core.types import Array, Box, PRNGKey

#: Gain of the step-size tracking per iteration (as in the dual loop).
ADAPT_GAIN = train.ADAPT_GAIN


@dataclass(frozen=True)
class FlatEnergy:
    """An energy object seen as ``E(theta, u)`` on the unit box, ``theta`` flat.

    ``treedef`` and ``shapes`` rebuild the parameter pytree from the vector.
    An energy with an ``on_unit_box(params, u)`` method is called on the unit
    box directly (the compiled code then does not depend on the box);
    otherwise ``energy(params, low + u (high - low))`` in user units.
    """

    energy: Any
    treedef: Any
    shapes: tuple

    def unravel(self, theta: Array):
        sizes = [int(np.prod(s)) for s in self.shapes]
        parts = jnp.split(theta, np.cumsum(sizes)[:-1]) if sizes else []
        leaves = [part.reshape(s) for part, s in zip(parts, self.shapes)]
        return jax.tree.unflatten(self.treedef, leaves)

    def __call__(self, theta: Array, u: Array, low: Array, high: Array) -> Array:
        params = self.unravel(theta)
        on_unit_box = getattr(self.energy, "on_unit_box", None)
        if on_unit_box is not None:
            return on_unit_box(params, u)
        return self.energy(params, low + u * (high - low))


def flatten(energy, params) -> tuple[np.ndarray, FlatEnergy]:
    """``theta`` (float32 vector) and the :class:`FlatEnergy` for a params pytree."""
    leaves, treedef = jax.tree.flatten(params)
    shapes = tuple(tuple(np.shape(leaf)) for leaf in leaves)
    theta = np.concatenate([np.asarray(leaf, np.float32).ravel() for leaf in leaves])
    return theta, FlatEnergy(energy, treedef, shapes)


class SMMConfig(NamedTuple):
    """Static configuration (changing it recompiles)."""

    n_leapfrog: int = 5
    chunk_size: int = 50


class SMMHyper(NamedTuple):
    """Traced per-fit quantities.

    nu, mean, std : (p,) standardised targets and the uniform mean / std of
        the features. low, high : (n,) the box.
    shift : (n,) features are evaluated at ``x - shift`` on the shifted box
        (centred polynomial features; the energy object sees ``x``).
    t_rows, t_cols, t_vals : entries of ``T`` with ``f(x - shift) = T f(x) + t``;
        the linear energy's user-unit coefficients are ``Tᵀ (theta / std)``.
    inv_rows, inv_cols, inv_vals, user_std : entries of ``T^-1`` and the
        uniform standard deviations of the user's features, to report the
        residual in them: ``(E[f] - mu) / user_std = T^-1 (std * r) / user_std``.
    alpha : L2 strength on those coefficients (linear) or on ``theta``.
    roughness, rough_rows, rough_cols, rough_vals : roughness strength and the
        nonzeros of ``R`` on the shifted box (empty unless linear with roughness).
    bins : the marginal priors' ``objectives.PriorBins``.
    learning_rate, max_norm : Adam's rate and the gradient clipping norm.
    target_accept, adapt, learn, average, max_iter : as in ``train.Hyper``.
    """

    nu: Array
    mean: Array
    std: Array
    low: Array
    high: Array
    shift: Array
    t_rows: Array
    t_cols: Array
    t_vals: Array
    inv_rows: Array
    inv_cols: Array
    inv_vals: Array
    user_std: Array
    alpha: Array
    roughness: Array
    rough_rows: Array
    rough_cols: Array
    rough_vals: Array
    bins: PriorBins
    learning_rate: Array
    max_norm: Array
    target_accept: Array
    adapt: Array
    learn: Array
    average: Array
    max_iter: Array


class SMMState(NamedTuple):
    """State carried across iterations: ``theta`` (K,), its Polyak–Ruppert sum
    and count, the optimizer's state, the chains, step size, key, iterations."""

    theta: Array
    theta_sum: Array
    n_avg: Array
    opt_state: Any
    chains: Any
    step_size: Array
    key: PRNGKey
    iteration: Array


class SMMChunkInfo(NamedTuple):
    """Chunk summary for the host: mean standardised residual of the user's
    features ``(E[f] - mu) / s`` (p,) with its Monte Carlo standard error
    from per-chain means, and the mean gradient of J (K,); per iteration (T,)
    ``max |residual|``, J, acceptance and step size."""

    residual: Array
    residual_se: Array
    gradient: Array
    moment_error: Array
    smm_loss: Array
    acceptance: Array
    step_size: Array
    finite: Array


def _optimizer(learning_rate, max_norm):
    return optax.chain(optax.clip_by_global_norm(max_norm), optax.adam(learning_rate))


def energy_and_grad(fm, energy, theta, std, low, high, shift):
    """Per-point ``u -> (E, dE/du)`` on the unit box at parameters ``theta``.

    The linear energy ``-(theta / std)·f(x - shift)``; an energy object at ``x``.
    """
    if energy is None:
        return train.unit_energy(fm, theta / std, Box(low - shift, high - shift))
    return jax.value_and_grad(lambda u: energy(theta, u, low, high))


def _penalty(theta, hyper, linear):
    """L2 and roughness: value and gradient in ``theta``."""
    if not linear:
        return 0.5 * hyper.alpha * theta @ theta, hyper.alpha * theta
    p = theta.shape[0]
    cs = theta / hyper.std  # coefficients of the shifted features
    coef = jax.ops.segment_sum(hyper.t_vals * cs[hyper.t_rows], hyper.t_cols, p)
    Tcoef = jax.ops.segment_sum(hyper.t_vals * coef[hyper.t_cols], hyper.t_rows, p)
    Rc = jax.ops.segment_sum(
        hyper.rough_vals * cs[hyper.rough_cols], hyper.rough_rows, p
    )
    value = 0.5 * hyper.alpha * coef @ coef + 0.5 * hyper.roughness * cs @ Rc
    return value, (hyper.alpha * Tcoef + hyper.roughness * Rc) / hyper.std


def _user_residual(r: Array, hyper: SMMHyper) -> Array:
    """Standardised residuals of the shifted features, (..., p), in the user's."""
    p = r.shape[-1]
    v = jnp.moveaxis(r * hyper.std, -1, 0)
    u = jax.ops.segment_sum(
        hyper.inv_vals.reshape((-1,) + (1,) * (v.ndim - 1)) * v[hyper.inv_cols],
        hyper.inv_rows,
        p,
    )
    return jnp.moveaxis(u, 0, -1) / hyper.user_std


def _iteration(fm, energy, config: SMMConfig, hyper: SMMHyper, carry, _):
    state, sums = carry
    key, k_step = jax.random.split(state.key)
    eg = energy_and_grad(
        fm, energy, state.theta, hyper.std, hyper.low, hyper.high, hyper.shift
    )
    C = state.chains.position.shape[0]
    # The chains' cached energy and gradient belong to the previous
    # parameters: recompute them, or the Metropolis test would compare two
    # different energies and the chains would not leave the model invariant.
    current = jax.vmap(lambda u: hmc.init(u, eg))(state.chains.position)
    chains, info = jax.vmap(
        lambda k, s: hmc.step(k, s, eg, state.step_size, config.n_leapfrog)
    )(jax.random.split(k_step, C), current)
    acceptance = jnp.mean(info.acceptance_rate)

    x = hyper.low + chains.position * (hyper.high - hyper.low)
    lo, hi = hyper.low - hyper.shift, hyper.high - hyper.shift
    G = (fm.values_batch(x - hyper.shift, lo, hi) - hyper.mean) / hyper.std
    Ind = bin_indicators(x, hyper.bins)
    p = G.shape[1]

    def residual(m):
        _, prior_grad = prior_penalty(m[p:], hyper.bins)
        return jnp.concatenate([m[:p] - hyper.nu, prior_grad])

    w, _, _ = cross_fit_weights(jnp.concatenate([G, Ind], axis=1), residual)
    if energy is None:  # grad_theta E = -g: no autodiff, no (p, p) matrix
        grad = linear_smm_gradient(G, w)
    else:
        grad_theta = jax.grad(energy)
        H = jax.vmap(lambda u: grad_theta(state.theta, u, hyper.low, hyper.high))(
            chains.position
        )
        grad = H.T @ w
    pen_value, pen_grad = _penalty(state.theta, hyper, energy is None)
    grad = grad + pen_grad

    delta = jnp.mean(G, axis=0) - hyper.nu
    prior_value, _ = prior_penalty(jnp.mean(Ind, axis=0), hyper.bins)
    loss = 0.5 * delta @ delta + prior_value + pen_value

    active = state.iteration < hyper.max_iter
    opt = _optimizer(hyper.learning_rate, hyper.max_norm)
    updates, opt_state = opt.update(grad, state.opt_state, state.theta)
    learn = hyper.learn & active
    theta = jnp.where(learn, state.theta + updates, state.theta)
    opt_state = jax.tree.map(
        lambda new, old: jnp.where(learn, new, old), opt_state, state.opt_state
    )
    average = hyper.average & active
    tracked = adaptation.track(
        state.step_size, acceptance, hyper.target_accept, ADAPT_GAIN
    )
    chains = jax.tree.map(
        lambda new, old: jnp.where(active, new, old), chains, state.chains
    )
    new = SMMState(
        theta=theta,
        theta_sum=jnp.where(average, state.theta_sum + theta, state.theta_sum),
        n_avg=jnp.where(average, state.n_avg + 1, state.n_avg),
        opt_state=opt_state,
        chains=chains,
        step_size=jnp.where(hyper.adapt & active, tracked, state.step_size),
        key=key,
        iteration=state.iteration + active.astype(jnp.int32),
    )
    gsum, res_sum, grad_sum = sums
    on = active.astype(G.dtype)
    sums = (gsum + on * G, res_sum + on * delta, grad_sum + on * grad)
    error = jnp.max(jnp.abs(_user_residual(delta, hyper)))
    out = (error, loss, acceptance, state.step_size, active)
    return (new, sums), out


@partial(jax.jit, static_argnames=("fm", "energy"))
def start(
    key, theta, positions, step_size, std, low, high, shift, fm, energy
) -> SMMState:
    """Initial :class:`SMMState` (chains at ``positions`` (C, n) on the unit box)."""
    eg = energy_and_grad(fm, energy, theta, std, low, high, shift)
    chains = jax.vmap(lambda u: hmc.init(u, eg))(positions)
    return SMMState(
        theta=theta,
        theta_sum=jnp.zeros_like(theta),
        n_avg=jnp.zeros((), theta.dtype),
        opt_state=_optimizer(1.0, 1.0).init(theta),
        chains=chains,
        step_size=jnp.asarray(step_size, theta.dtype),
        key=key,
        iteration=jnp.zeros((), jnp.int32),
    )


@partial(jax.jit, static_argnames=("fm", "energy", "config"))
def run_chunk(state: SMMState, hyper: SMMHyper, fm, energy, config: SMMConfig):
    """Run ``config.chunk_size`` iterations in one ``lax.scan``.

    Iterations beyond ``hyper.max_iter`` are no-ops and are not counted.
    """
    C, K, p = state.chains.position.shape[0], state.theta.shape[0], hyper.nu.shape[0]
    dt = state.theta.dtype
    sums = (jnp.zeros((C, p), dt), jnp.zeros((p,), dt), jnp.zeros((K,), dt))
    (state, sums), (err, loss, acc, eps, active) = jax.lax.scan(
        partial(_iteration, fm, energy, config, hyper),
        (state, sums),
        None,
        length=config.chunk_size,
    )
    gsum, res_sum, grad_sum = sums
    n = jnp.maximum(jnp.sum(active), 1)
    chain_means = _user_residual(gsum / n - hyper.nu, hyper)
    residual_se = jnp.std(chain_means, axis=0, ddof=1) / jnp.sqrt(C)
    finite = jnp.all(jnp.isfinite(state.theta)) & jnp.all(
        jnp.isfinite(state.chains.position)
    )
    info = SMMChunkInfo(
        residual=_user_residual(res_sum / n, hyper),
        residual_se=residual_se,
        gradient=grad_sum / n,
        moment_error=err,
        smm_loss=loss,
        acceptance=acc,
        step_size=eps,
        finite=finite,
    )
    return state, info


@partial(jax.jit, static_argnames=("fm", "energy"))
def init_chains(theta, std, low, high, positions, fm, energy):
    """Batched HMC states at ``positions`` (C, n) on the unit box."""
    eg = energy_and_grad(fm, energy, theta, std, low, high, 0 * low)
    return jax.vmap(lambda u: hmc.init(u, eg))(positions)


@partial(jax.jit, static_argnames=("fm", "energy", "n_leapfrog", "n_steps"))
def advance(
    key, chains, theta, std, low, high, step_size, fm, energy, n_leapfrog, n_steps
):
    """Advance chains ``n_steps`` transitions; positions stacked (n_steps, C, n)."""
    eg = energy_and_grad(fm, energy, theta, std, low, high, 0 * low)
    C = chains.position.shape[0]

    def body(chains, k):
        chains, _ = jax.vmap(lambda kk, s: hmc.step(kk, s, eg, step_size, n_leapfrog))(
            jax.random.split(k, C), chains
        )
        return chains, chains.position

    return jax.lax.scan(body, chains, jax.random.split(key, n_steps))


@partial(jax.jit, static_argnames=("fm", "energy"))
def energies(X, theta, std, low, high, fm, energy):
    """Energies at the rows of ``X`` (N, n) in user units, (N,)."""
    eg = energy_and_grad(fm, energy, theta, std, low, high, 0 * low)
    return jax.vmap(lambda x: eg((x - low) / (high - low))[0])(X)


@partial(
    jax.jit,
    static_argnames=("fm", "energy", "n_particles", "n_temperatures", "n_leapfrog"),
)
def log_partition(
    key,
    theta,
    std,
    low,
    high,
    step_size,
    fm,
    energy,
    n_particles,
    n_temperatures,
    n_leapfrog,
):
    """AIS estimate of ``log ∫_[0,1]^n exp(-E(u)) du`` (see :mod:`.ais`)."""
    return ais.log_partition(
        key,
        energy_and_grad(fm, energy, theta, std, low, high, 0 * low),
        n_dim=low.shape[0],
        n_particles=n_particles,
        n_temperatures=n_temperatures,
        step_size=step_size,
        n_leapfrog=n_leapfrog,
    )
