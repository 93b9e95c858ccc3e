"""Log-partition by annealed importance sampling (Neal 2001).

The path is geometric, from a normalised reference ``q`` -- the uniform
distribution on the unit box, or a defensive Gaussian fitted to the model's
chains (:class:`Reference`) -- to the model: ``pi_beta ∝ q^(1 - beta)
exp(-beta E)`` on the box, with ``beta_t = (t / T) ** power``, ``t = 0 .. T``.
Each particle starts from an exact draw of ``q``; at temperature ``t`` it
gains the log-weight ``-(beta_t - beta_{t-1}) (E(u) + log q(u))`` and then
moves by one transition of a sampling kernel (:mod:`skmaxent.core.sampling.kernel`,
reflective HMC in the package) that leaves ``pi_{beta_t}`` invariant.
The mean weight is an unbiased estimate of ``Z = ∫_[0,1]^n exp(-E(u)) du``
whatever the mixing; its log is biased low by about ``Var(log Z_hat) / 2``
(Jensen).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from skmaxent.core import programs
from skmaxent.core.energy import Geometry, clip, inside
from skmaxent.core.logz.references import Reference, _draw, _minus_log_q, reference_from
from skmaxent.core.sampling.hmc import EnergyAndGrad
from skmaxent.core.sampling.kernel import Target
from skmaxent.core.types import Array, PRNGKey

__all__ = [
    "AISInfo",
    "Reference",
    "reference_from",
    "log_partition",
    "model_log_partition",
    "summarize",
]


class AISInfo(NamedTuple):
    """Result of :func:`log_partition`.

    log_z : () estimate of ``log ∫_[0,1]^n exp(-E(u)) du``.
    log_z_std : () its standard error by the delta method,
        ``std(w) / (sqrt(N) mean(w))``.
    ess : () effective sample size of the weights, ``(Σw)² / Σw²``, in
        ``[1, N]``; small values mean the standard error is not to be trusted.
    log_weights : (N,) the particles' log-weights (independent runs pool
        them: every weight is an unbiased estimate of ``Z``).
    positions : (N, n) the particles at the end of the schedule (with their
        weights, an importance sample of the model), or None.
    """

    log_z: Array
    log_z_std: Array
    ess: Array
    log_weights: Array
    positions: Array | None = None


def summarize(log_weights: Array, xp=jnp, logsumexp=logsumexp) -> AISInfo:
    """Estimate, delta-method standard error and ESS from log-weights (N,).

    Weights are shifted by their maximum before exponentiating, which
    cancels in every ratio below. ``xp`` and ``logsumexp`` are the array
    namespace and its ``logsumexp``: JAX's by default; the shell passes
    NumPy's and SciPy's to pool runs' float64 weights on the host.
    """
    n = log_weights.shape[0]
    log_n = xp.log(xp.asarray(n, log_weights.dtype))
    log_z = logsumexp(log_weights) - log_n
    w = xp.exp(log_weights - xp.max(log_weights))
    log_z_std = xp.std(w) / (xp.sqrt(xp.asarray(n, w.dtype)) * xp.mean(w))
    ess = xp.exp(2.0 * logsumexp(log_weights) - logsumexp(2.0 * log_weights))
    return AISInfo(log_z=log_z, log_z_std=log_z_std, ess=ess, log_weights=log_weights)


def log_partition(
    key: PRNGKey,
    energy_and_grad: EnergyAndGrad,
    n_dim: int,
    n_particles: int,
    n_temperatures: int,
    *,
    kernel,
    params,
    power: float = 2.0,
    reference: Reference | None = None,
    walls=None,
    start=None,
    reverse=False,
) -> AISInfo:
    """Annealed importance sampling estimate of the log-partition on the unit box.

    The path is geometric from a normalised reference ``q`` (the uniform
    distribution on the box, or a :class:`Reference`) to the model:
    ``pi_beta ∝ q^(1 - beta) (exp(-E) 1_box)^beta``.

    Parameters
    ----------
    key : PRNG key.
    energy_and_grad : per-point ``u -> (E, dE/du)`` on the unit box.
    n_dim, n_particles : static sizes.
    n_temperatures : ``T >= 1``, the schedule's length; may be traced (one
        compiled program for every length, the transitions a ``while`` loop).
    kernel, params : the sampling kernel (:mod:`skmaxent.core.sampling.kernel`) and
        its parameters (traced), used at every temperature; a step size
        tuned for the model (``beta = 1``) is a safe choice when the
        reference is wider.
    power : schedule exponent, ``beta_t = (t / T) ** power``; ``power > 1``
        spends more temperatures near the reference, where the weights
        change fastest for most energies.
    reference : None (uniform) or a :class:`Reference`.
    walls : the support's walls (:func:`skmaxent.core.sampling.hmc.reflect`); None for
        the box. A support with an open side needs a ``reference``.
    start, reverse : with ``reverse`` (may be traced) the schedule runs from
        the model to ``q``, from ``start`` (n_particles, n_dim), draws of the
        model (the chains): the mean weight estimates ``1 / Z``, so
        ``-log_z`` is a stochastic *upper* bound of ``log Z`` where the
        forward estimate is a lower one (bidirectional Monte Carlo, Grosse,
        Ghahramani & Adams 2015). Their gap bounds the error of both.

    Returns
    -------
    :class:`AISInfo` with the estimate, its standard error, the ESS and the
    final particles.

    Notes
    -----
    Only ``T - 1`` transitions count (at ``beta_1 .. beta_{T-1}``): the
    start is an exact draw of ``q`` and a move at ``beta_T`` would not change
    the weights (it is made and dropped: one loop body for every temperature
    compiles faster than a last evaluation apart). A particle drawn outside
    the box has weight zero. Each HMC transition costs ``n_leapfrog``
    evaluations of ``E`` (and of ``log q`` with a reference), plus one for
    the weights, which also starts the kernel's state at the temperature
    (the same evaluation: the compiler merges the two).
    """
    k_init, k_steps = jax.random.split(key)
    positions = _draw(k_init, reference, n_particles, n_dim)
    if start is not None:
        positions = jnp.where(reverse, start.astype(positions.dtype), positions)
    support = Geometry(None, None, None, None, None, walls)
    alive = inside(support, positions)
    positions = clip(support, positions)  # dead particles: any place

    def parts(u):
        e, g = energy_and_grad(u)
        if reference is None:
            return e, g, jnp.zeros_like(e), jnp.zeros_like(g)
        a, ga = jax.value_and_grad(lambda v: _minus_log_q(reference, v))(u)
        return e, g, a, ga

    def tempered(beta):
        def eg(u):
            e, g, a, ga = parts(u)
            return beta * e + (1 - beta) * a, beta * g + (1 - beta) * ga

        return eg

    # T may be traced: one compiled program serves every schedule length.
    T = jnp.asarray(n_temperatures, positions.dtype)

    def beta(t):
        return (jnp.where(reverse, T - t, t) / T) ** power

    def body(t, carry):
        u, log_w = carry
        tf = t.astype(T.dtype)
        beta_prev, beta_t = beta(tf - 1), beta(tf)
        e, _, a, _ = jax.vmap(parts)(u)
        log_w = log_w - (beta_t - beta_prev) * (e - a)
        goal = Target(tempered(beta_t), walls)
        hot = kernel.init(u, goal)  # the kernel's state at this temperature
        hot, _ = kernel.step(jax.random.fold_in(k_steps, t), hot, goal, params)
        # The move at beta_T changes no weight: made, not kept (one evaluation
        # of the energy in the program instead of two, a smaller program).
        return jnp.where(t < n_temperatures, hot.position, u), log_w

    log_w = jnp.where(alive, 0.0, -jnp.inf).astype(positions.dtype)
    u, log_w = jax.lax.fori_loop(1, n_temperatures + 1, body, (positions, log_w))
    return summarize(log_w)._replace(positions=u)


@programs.jit(static_argnames=("energy", "kernel", "n_particles", "full"))
def model_log_partition(
    key,
    energy,
    theta,
    geo,
    kernel,
    params,
    n_particles,
    n_temperatures,
    *,
    positions=None,
    eps=0.1,
    inflate=1.2,
    full=True,
    reverse=False,
    start=None,
    fixed=None,
) -> AISInfo:
    """:func:`log_partition` of an energy of :mod:`skmaxent.core.energy` at
    ``theta`` (jitted; the energy, the kernel and the sizes static,
    ``n_temperatures``, the kernel's ``params`` and everything else traced:
    one program for every schedule length).

    With chain ``positions`` (C, n) on the unit box the reference is
    :func:`reference_from` them (``eps``, ``inflate``, ``full``); without,
    the uniform distribution. With ``reverse`` (traced, same program) the
    schedule runs backwards from ``start`` (C, n), draws of the model at
    ``theta`` (default ``positions``; cycled to ``n_particles``). A ``fixed``
    :class:`Reference` is used as it is (the chains then only start the
    reverse run).
    """
    reference, n = fixed, geo.low.shape[0]
    start = positions if start is None else start
    if positions is not None and fixed is None:
        reference = reference_from(positions, eps, inflate, full, geo.walls)
    return log_partition(
        key,
        energy.on_unit(theta, geo),
        n_dim=n,
        n_particles=n_particles,
        n_temperatures=n_temperatures,
        kernel=kernel,
        params=params,
        reference=reference,
        walls=geo.walls,
        start=None if positions is None else jnp.resize(start, (n_particles, n)),
        reverse=reverse,
    )
