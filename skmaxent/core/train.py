"""The training loop: persistent chains and dual ascent, in jitted chunks.

One iteration advances every persistent chain by one reflective HMC transition
at the current parameters, averages the standardised features over the chains,
and takes one damped natural-gradient step on the dual. ``run_chunk`` runs a
fixed number of iterations inside one ``lax.scan``; the host sees the state only
between chunks (progress bar, convergence, divergence).

Two forms of the step (static ``TrainConfig.cg_iter``): dense, with a moving
average of the Fisher matrix ``Cov[g]`` and a Cholesky solve; or matrix-free,
for large models, where neither the ``(p, p)`` Fisher matrix nor the chains'
``(C, p)`` feature matrix exists: feature means per group of chains and
Fisher-vector products come from the feature map's weighted means
(``Xᵀ diag(w) X`` for products) and the step from conjugate gradients.

The function is jitted at module level with the feature map and the
:class:`TrainConfig` static, and everything else traced: fits with equal
shapes and configuration reuse the compiled code, whatever their targets,
bounds, learning rate or phase.
"""

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from skmaxent.core import adaptation, hmc
from skmaxent.core.objectives import (
    PriorBins,
    bin_indicators,
    cg_natural_step,
    chain_fvp,
    cross_fit_weights,
    dual_direction,
    feature_covariance,
    natural_step,
    penalty_matrix,
    prior_penalty,
)
from skmaxent.core.types import Array, Box, PRNGKey

#: Gain of the step-size tracking per iteration (see ``adaptation.track``).
ADAPT_GAIN = 0.05


class TrainConfig(NamedTuple):
    """Static configuration: changing it recompiles.

    ``chunk_size`` iterations run per call; the convergence check uses the
    chunk's per-chain means to estimate the Monte Carlo error.
    """

    n_leapfrog: int = 5
    chunk_size: int = 50
    #: Conjugate-gradient iterations of the matrix-free natural step; 0 uses
    #: the dense Fisher matrix (an EMA, Cholesky solve).
    cg_iter: int = 0


class Hyper(NamedTuple):
    """Traced per-fit quantities (no recompilation when they change).

    nu, mean, std : (p,) standardised targets, and the uniform mean / std of
        the features that define the standardisation.
    low, high : (n,) the box in user units.
    Q : (p, p) penalty Hessian in standardised coordinates.
    learning_rate, damping, max_norm, ema : natural-gradient step settings.
    target_accept : acceptance the step size is tracked towards.
    adapt, learn, average : phase flags (booleans).
    max_iter : iterations beyond it are no-ops.
    bins : the marginal priors' :class:`~skmaxent.core.objectives.PriorBins`;
        empty when there are none (then the prior costs nothing).
    """

    nu: Array
    mean: Array
    std: Array
    low: Array
    high: Array
    Q: Array
    learning_rate: Array
    damping: Array
    max_norm: Array
    ema: Array
    target_accept: Array
    adapt: Array
    learn: Array
    average: Array
    max_iter: Array
    bins: PriorBins


def prior_gradient(hyper: Hyper, x: Array, gram) -> Array:
    """Gradient in ``phi`` of the marginal priors' penalty, from the chains.

    The bins' indicators at the chains ``x`` (C, n) are features whose
    expectations are the model's bin probabilities ``p_hat``; the penalty's
    gradient is ``-Cov[1_bins, grad_phi E]ᵀ dPhi/dp_hat = Cov[1_bins, g]ᵀ
    dPhi/dp_hat`` for the linear energy ``E = -phi·g``, estimated without a
    covariance matrix by the split-half weights of the SMM estimator.
    ``gram(w)`` is ``Gᵀ w`` for weights summing to zero.
    """
    ind = bin_indicators(x, hyper.bins)
    w, _, _ = cross_fit_weights(ind, lambda p_hat: prior_penalty(p_hat, hyper.bins)[1])
    return -gram(w)


class FitState(NamedTuple):
    """State carried across iterations and chunks.

    phi : (p,) standardised natural parameters (``coef = phi / std``).
    phi_sum, n_avg : running sum and count of the Polyak–Ruppert average.
    fisher : (p, p) exponential moving average of ``Cov[g]`` over chains,
        the natural-gradient preconditioner; in the matrix-free form (p,)
        the previous step instead, the conjugate gradients' warm start.
    chains : batched :class:`hmc.HMCState` on the unit box, (C, n) positions.
    step_size : the HMC step size in use (tracked while ``adapt``).
    key : PRNG key; iteration : iterations done so far.
    """

    phi: Array
    phi_sum: Array
    n_avg: Array
    fisher: Array
    chains: Any
    step_size: Array
    key: PRNGKey
    iteration: Array


class ChunkInfo(NamedTuple):
    """What the host needs after a chunk.

    residual : (p,) mean over the chunk of ``E_chains[g] - nu + Q phi``, minus
        the gradient of the penalised dual: the moment error when there is no
        penalty, and zero at the penalised optimum in any case.
    residual_se : (p,) its Monte Carlo standard error: the spread over chains
        of each chain's chunk mean, over ``sqrt(C)``. Chains are independent
        given the parameter path, and a chain mean over the whole chunk
        absorbs the autocorrelation along the chain.
    moment_error : (K,) per iteration ``max_k |residual_k|``.
    acceptance, step_size : (K,) per iteration.
    finite : whether parameters and chains stayed finite.
    """

    residual: Array
    residual_se: Array
    moment_error: Array
    acceptance: Array
    step_size: Array
    finite: Array


def unit_energy(fm, coef: Array, box: Box):
    """``energy_and_grad(u)`` of ``E = -coef·f(x)`` for one point ``u`` of the unit box.

    Uses the feature map's analytic x-gradient (matrix form for products) and
    the chain rule ``dE/du = dE/dx * (high - low)``.
    """
    width = box.high - box.low

    def energy_and_grad(u):
        x = box.low + u * width
        e = fm.energy(coef, x, box.low, box.high)
        g = fm.energy_grad(coef, x, box.low, box.high)
        return e, g * width

    return energy_and_grad


def n_groups(C: int) -> int:
    """Groups of chains whose means give the standard error in matrix form:
    the largest divisor of ``C`` up to 32 (the chains are independent, so
    group means are too; 32 of them resolve a standard error to ~13%)."""
    return max(b for b in range(1, min(C, 32) + 1) if C % b == 0)


@partial(jax.jit, static_argnames=("fm",))
def init_chains(fm, coef: Array, box: Box, positions: Array):
    """Batched HMC states for chain ``positions`` (C, n) on the unit box."""
    return jax.vmap(lambda u: hmc.init(u, unit_energy(fm, coef, box)))(positions)


def init_state(
    key: PRNGKey, fm, phi: Array, chains, step_size: Array, matrix_free=False
) -> FitState:
    """Initial :class:`FitState`; the Fisher EMA starts at zero and fills in.

    ``matrix_free``: ``fisher`` holds the previous step (p,) instead, the
    conjugate gradients' warm start.
    """
    p = phi.shape[0]
    return FitState(
        phi=phi,
        phi_sum=jnp.zeros_like(phi),
        n_avg=jnp.zeros((), dtype=phi.dtype),
        fisher=jnp.zeros((p,) if matrix_free else (p, p), dtype=phi.dtype),
        chains=chains,
        step_size=jnp.asarray(step_size, dtype=phi.dtype),
        key=key,
        iteration=jnp.zeros((), dtype=jnp.int32),
    )


def _iteration(fm, config: TrainConfig, hyper: Hyper, carry, _):
    """One iteration: advance chains, measure moments, natural-gradient step.

    ``carry`` is ``(state, gsum)``, ``gsum`` (C, p) the running per-chain sum of
    the standardised features over the chunk's active iterations.
    """
    state, gsum = carry
    box = Box(hyper.low, hyper.high)
    key, k_step = jax.random.split(state.key)
    coef = state.phi / hyper.std
    energy_and_grad = unit_energy(fm, coef, box)
    C = state.chains.position.shape[0]
    keys = jax.random.split(k_step, C)
    # While learning, the chains' cached energy and gradient belong to the
    # previous parameters: recompute them (one gradient per chain), or the
    # Metropolis test would compare two different energies and the chains
    # would not leave the current model invariant. At fixed parameters
    # (verification) the cache is exact and the refresh is skipped.
    current = jax.lax.cond(
        hyper.learn,
        lambda c: jax.vmap(lambda u: hmc.init(u, energy_and_grad))(c.position),
        lambda c: c,
        state.chains,
    )
    chains, info = jax.vmap(
        lambda k, s: hmc.step(k, s, energy_and_grad, state.step_size, config.n_leapfrog)
    )(keys, current)
    acceptance = jnp.mean(info.acceptance_rate)

    x = box.low + chains.position * (box.high - box.low)
    low, high, mean, std = box.low, box.high, hyper.mean, hyper.std
    if config.cg_iter:
        # Matrix form: never the (C, p) feature matrix. Means per group of
        # chains (for the standard error) and Fisher-vector products through
        # the feature map's weighted means: O(C n^2) for quadratic features.
        B = gsum.shape[0]
        groups = x.reshape(B, C // B, x.shape[1])
        rows = (jax.vmap(lambda xg: fm.mean(xg, low, high))(groups) - mean) / std
        gbar = jnp.mean(rows, axis=0)

        def gram(w):
            return fm.mean(x, low, high, w) / std

        def fisher_products():
            def fvp(v):
                scores = -jax.vmap(lambda xc: fm.energy(v / std, xc, low, high))(x)
                return gram((scores - jnp.mean(scores)) / C)

            squares = fm.mean(x, low, high, square=True)
            diag = (squares - (mean + gbar * std) ** 2) / std**2
            return fvp, jnp.maximum(diag, 0.0)
    else:
        rows = (fm.values_batch(x, low, high) - mean) / std
        gbar = jnp.mean(rows, axis=0)

        def gram(w):
            return rows.T @ w

        def fisher_products():
            return chain_fvp(rows)

    direction = dual_direction(hyper.nu, gbar, state.phi, hyper.Q)
    if hyper.bins.col.shape[0]:  # marginal priors (static: known at trace time)
        direction = direction - prior_gradient(hyper, x, gram)
    residual = -direction
    active = state.iteration < hyper.max_iter
    learn = hyper.learn & active

    def cg_learn_step(previous):
        fvp, diag = fisher_products()
        step = cg_natural_step(
            direction,
            fvp,
            diag,
            hyper.Q,
            hyper.damping,
            hyper.max_norm,
            previous,
            config.cg_iter,
        )
        return step, step

    def learn_step(fisher):
        # The Fisher EMA starts from the first covariance it sees (zero trace
        # marks "not yet"): verification iterations do not learn and skip the
        # O(C p^2 + p^3) covariance and solve altogether.
        cov = feature_covariance(rows)
        fresh = jnp.trace(fisher) == 0
        fisher = jnp.where(fresh, cov, (1 - hyper.ema) * fisher + hyper.ema * cov)
        step = natural_step(direction, fisher, hyper.Q, hyper.damping, hyper.max_norm)
        return fisher, step

    fisher, step = jax.lax.cond(
        learn,
        cg_learn_step if config.cg_iter else learn_step,
        lambda f: (f, jnp.zeros_like(direction)),
        state.fisher,
    )
    phi = jnp.where(learn, state.phi + hyper.learning_rate * step, state.phi)
    average = hyper.average & active
    phi_sum = jnp.where(average, state.phi_sum + phi, state.phi_sum)
    n_avg = jnp.where(average, state.n_avg + 1, state.n_avg)

    # The median chain's acceptance, not the mean: a minority of chains left
    # far out in the tails (steep energy, poor acceptance at any step size)
    # must not shrink everyone's step size until no chain can move.
    adapt = hyper.adapt & active
    tracked = adaptation.track(
        state.step_size,
        jnp.median(info.acceptance_rate),
        hyper.target_accept,
        ADAPT_GAIN,
    )
    step_size = jnp.where(adapt, tracked, state.step_size)

    chains = jax.tree.map(
        lambda new, old: jnp.where(active, new, old), chains, state.chains
    )
    new = FitState(
        phi=phi,
        phi_sum=phi_sum,
        n_avg=n_avg,
        fisher=fisher,
        chains=chains,
        step_size=step_size,
        key=key,
        iteration=state.iteration + active.astype(jnp.int32),
    )
    gsum = gsum + jnp.where(active, rows, 0.0)
    out = (residual, jnp.max(jnp.abs(residual)), acceptance, state.step_size, active)
    return (new, gsum), out


@partial(jax.jit, static_argnames=("fm", "matrix_free"))
def start(
    key: PRNGKey,
    phi: Array,
    positions: Array,
    step_size: Array,
    std: Array,
    low: Array,
    high: Array,
    alpha: Array,
    roughness: Array,
    R: Array,
    fm,
    matrix_free: bool = False,
) -> tuple[FitState, Array]:
    """Initial :class:`FitState` and penalty matrix ``Q``, in one compiled call.

    ``phi`` are standardised parameters (``coef = phi / std``), ``positions``
    (C, n) the chains on the unit box; see :func:`penalty_matrix` for ``Q``.
    ``matrix_free`` (no roughness; ``R`` ignored): ``Q`` is the diagonal
    ``alpha / std^2`` (p,) and nothing of size ``p x p`` is formed.
    """
    if matrix_free:
        Q = alpha / std**2
    else:
        Q = penalty_matrix(alpha, roughness, R, std)
    chains = init_chains(fm, phi / std, Box(low, high), positions)
    return init_state(key, fm, phi, chains, step_size, matrix_free), Q


@partial(jax.jit, static_argnames=("fm", "config"))
def run_chunk(
    state: FitState, hyper: Hyper, fm, config: TrainConfig
) -> tuple[FitState, ChunkInfo]:
    """Run ``config.chunk_size`` iterations in one ``lax.scan``.

    Returns the new state and a :class:`ChunkInfo` with the chunk's mean
    standardised residual and its Monte Carlo standard error, which is what
    the convergence rule needs. Iterations beyond ``hyper.max_iter`` are
    no-ops and do not count in either.
    """
    C = state.chains.position.shape[0]
    rows = n_groups(C) if config.cg_iter else C
    gsum = jnp.zeros((rows, hyper.nu.shape[0]), hyper.nu.dtype)
    (state, gsum), (res, err, acc, eps, active) = jax.lax.scan(
        partial(_iteration, fm, config, hyper),
        (state, gsum),
        None,
        length=config.chunk_size,
    )
    n_active = jnp.maximum(jnp.sum(active), 1)
    weights = active / n_active
    chain_means = gsum / n_active
    se = jnp.std(chain_means, axis=0, ddof=1) / jnp.sqrt(rows)
    finite = jnp.all(jnp.isfinite(state.phi)) & jnp.all(
        jnp.isfinite(state.chains.position)
    )
    return state, ChunkInfo(weights @ res, se, err, acc, eps, finite)


@partial(jax.jit, static_argnames=("fm", "n_leapfrog", "n_steps"))
def advance(
    key: PRNGKey,
    chains,
    coef: Array,
    low: Array,
    high: Array,
    step_size: Array,
    fm,
    n_leapfrog: int,
    n_steps: int,
):
    """Advance batched chains ``n_steps`` HMC transitions at fixed ``coef``.

    Returns the chains after every step, positions stacked as
    ``(n_steps, C, n)`` on the unit box, and the final chains.
    """
    energy_and_grad = unit_energy(fm, coef, Box(low, high))
    C = chains.position.shape[0]

    def body(chains, k):
        keys = jax.random.split(k, C)
        chains, _ = jax.vmap(
            lambda kk, s: hmc.step(kk, s, energy_and_grad, step_size, n_leapfrog)
        )(keys, chains)
        return chains, chains.position

    chains, positions = jax.lax.scan(body, chains, jax.random.split(key, n_steps))
    return chains, positions
