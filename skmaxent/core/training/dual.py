"""The maximum-entropy dual: its ascent direction at the chains and the natural step.

In standardised coordinates (``g = (f - m) / s``, ``phi = coef * s``) the
penalised dual ``phi·nu - log Z(phi) - P(phi) - priors`` has gradient
``nu - E[g] - Q phi - prior gradient``; its Hessian is ``-(Cov[g] + Q)``, so
the natural (Newton) step solves ``(Cov[g] + Q + delta I) s = direction``.
:class:`Dual` computes the direction from the chains and applies the step
through an optax-style transform chosen at compile time:

- :func:`dense_natural`: a moving average of the Fisher matrix ``Cov[g]``
  and a Cholesky solve (up to about a thousand features);
- :func:`cg_natural`: matrix-free, neither the ``(p, p)`` Fisher matrix nor
  the chains' ``(C, p)`` feature matrix exists: means per group of chains
  and Fisher-vector products come from the feature map's weighted means
  (``Xᵀ diag(w) X`` for products), the step from preconditioned conjugate
  gradients warm-started at the previous step;
- :func:`gaussian_natural`: features with a complete quadratic block (the
  ``"quadratic"`` preset and those built on it) and a few others, matrix-free:
  the block in the closed-form Gaussian metric
  (:mod:`skmaxent.core.training.gaussian_metric`), whose Gaussian also moves the
  chains (the kernel :class:`~skmaxent.core.training.gaussian_metric.GaussianMove`,
  which the shell composes for this solver).

All use the same penalty operator (:mod:`skmaxent.core.training.penalties`), so
``alpha`` and ``roughness`` work on every path (the Gaussian metric leaves
the block's penalty out of the metric, not out of the direction).
"""

from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from skmaxent.core.energy import to_user
from skmaxent.core.features.blocks import quadratic_block, rest_map
from skmaxent.core.training import penalties
from skmaxent.core.training.cross_fit import cross_fit_weights
from skmaxent.core.training.gaussian_metric import block_gaussian, gaussian_step
from skmaxent.core.training.marginal_priors import bin_indicators, prior_penalty
from skmaxent.core.training.natural_step import (
    cg_natural_step,
    clip_step,
    feature_covariance,
    natural_solve,
    natural_step,
)
from skmaxent.core.training.problem import Problem, Stats
from skmaxent.core.types import Array

__all__ = [
    "Dual",
    "DualParams",
    "ChainMoments",
    "dense_natural",
    "cg_natural",
    "gaussian_natural",
    "n_groups",
]


class DualParams(NamedTuple):
    """The dual's own traced parameters (:attr:`Problem.own`): the natural
    step's ``damping`` and the Fisher moving average's weight ``ema``."""

    damping: Array
    ema: Array


class ChainMoments(NamedTuple):
    """What the chains give the natural step at one iteration.

    rows : (C, p) standardised features at the chains (dense path), or the
        per-group means (matrix-free).
    halves : the two halves' ``(direction, Fisher products thunk)`` of the
        cross-fitted matrix-free step, or None (dense).
    Q : (p, p) the dense penalty (dense path), or None.
    qmv, qdiag : the penalty's matrix-vector product and diagonal.
    geo, x : the geometry and the chains in user units (the Gaussian metric).
    """

    rows: Array
    halves: Any
    Q: Any
    qmv: Any
    qdiag: Array
    geo: Any
    x: Array


class Transform(NamedTuple):
    """optax-style pair: ``init(theta) -> state``; ``update(direction, state,
    theta, moments: ChainMoments) -> (step, state)``."""

    init: Any
    update: Any


def dense_natural(damping, max_norm, ema) -> Transform:
    """Damped Newton step with a Fisher EMA (state (p, p); zero trace = unset)."""

    def init(theta):
        return jnp.zeros((theta.shape[0],) * 2, theta.dtype)

    def update(direction, fisher, theta, moments: ChainMoments):
        del theta
        cov = feature_covariance(moments.rows)
        fresh = jnp.trace(fisher) == 0
        fisher = jnp.where(fresh, cov, (1 - ema) * fisher + ema * cov)
        step = natural_step(direction, fisher, moments.Q, damping, max_norm)
        return step, fisher

    return Transform(init, update)


def cg_natural(damping, max_norm, cg_iter: int) -> Transform:
    """Matrix-free damped Newton step, cross-fitted over two halves of the
    chains: ``(F_B^-1 d_A + F_A^-1 d_B) / 2``, each half's direction solved
    with the other half's Fisher-vector products (state: the previous step,
    the warm start of both solves).

    A Fisher estimate from the same draws as the direction correlates with
    it (the features' third moments), so ``E[F^-1 d] = 0`` where ``E[d]``
    is not: a bias that grows with the features per chain. Halves are
    independent given the parameter path, so the cross-fitted step is zero
    in expectation exactly where the moments match.
    """

    def init(theta):
        return jnp.zeros_like(theta)

    def update(direction, previous, theta, moments: ChainMoments):
        del theta, direction
        (d_a, products_a), (d_b, products_b) = moments.halves
        qmv, qdiag = moments.qmv, moments.qdiag

        def solve(d, products):
            fvp, diag = products()
            return cg_natural_step(
                d,
                fvp,
                diag,
                qmv,
                qdiag,
                damping,
                max_norm,
                x0=previous,
                maxiter=cg_iter,
            )

        step = 0.5 * (solve(d_a, products_b) + solve(d_b, products_a))
        return step, step

    return Transform(init, update)


def gaussian_natural(damping, max_norm, cg_iter: int, ema, fm) -> Transform:
    """A complete quadratic block's step in the Gaussian metric, the few
    other features' as in :func:`dense_natural` (a moving average of their
    own Fisher matrix), block-diagonal, one clip for both.

    The metric is :func:`skmaxent.core.training.gaussian_metric.block_gaussian`'s;
    where that Gaussian is not the model's (not a density, or truncated by
    the box: from a far start) the whole step is :func:`cg_natural`'s.
    State: the previous step (CG's warm start) and the others' Fisher.
    """
    block = quadratic_block(fm)
    rest, sub = rest_map(fm)
    q = 0 if rest is None else rest.size
    fallback = cg_natural(damping, max_norm, cg_iter).update

    def init(theta):
        return jnp.zeros_like(theta), jnp.zeros((q, q), theta.dtype)

    def other(direction, fisher, x, geo, qmv):
        """The other features' damped Newton step, its norm², their Fisher."""
        shift, lo, hi = geo.shift, geo.low - geo.shift, geo.high - geo.shift
        G = (sub.values_batch(x - shift, lo, hi) - geo.mean[rest]) / geo.std[rest]
        cov = feature_covariance(G)
        fisher = jnp.where(jnp.trace(fisher) == 0, cov, (1 - ema) * fisher + ema * cov)
        zeros = jnp.zeros_like(direction)
        Q = jax.vmap(lambda e: qmv(zeros.at[rest].set(e))[rest])(jnp.eye(q))
        step, norm2 = natural_solve(direction[rest], fisher, Q, damping)
        return zeros.at[rest].set(step), norm2, fisher

    def update(direction, state, theta, moments: ChainMoments):
        previous, fisher = state
        geo = moments.geo
        gaussian = block_gaussian(theta, geo, block)

        def with_metric(_):
            step, norm2 = gaussian_step(direction, geo, block, gaussian)
            if q == 0:
                return clip_step(step, norm2, max_norm), fisher
            more, more2, fisher_new = other(
                direction, fisher, moments.x, geo, moments.qmv
            )
            return clip_step(step + more, norm2 + more2, max_norm), fisher_new

        def without(_):
            return fallback(direction, previous, theta, moments)[0], fisher

        out, fisher = jax.lax.cond(gaussian[3], with_metric, without, None)
        return out, (out, fisher)

    return Transform(init, update)


def n_groups(C: int) -> int:
    """Groups of chains whose means give the matrix-free standard error: the
    largest divisor of ``C`` up to 32 (32 means resolve an SE to ~13%)."""
    return max(b for b in range(1, min(C, 32) + 1) if C % b == 0)


def _prior_gradient(problem: Problem, x, gram):
    """The marginal priors' gradient in ``phi``, ``Cov[1_bins, g]ᵀ dPhi/dp_hat``,
    by the split-half weights (no covariance matrix); ``gram(w) = Gᵀ w``."""
    ind = bin_indicators(x, problem.bins)
    w, _, _ = cross_fit_weights(ind, lambda p: prior_penalty(p, problem.bins)[1])
    return -gram(w)


@dataclass(frozen=True)
class Dual:
    """The dual objective for a :class:`~skmaxent.core.energy.Linear` energy.

    ``solver`` is ``"dense"``, ``"cg"`` or ``"gaussian"`` (static, with
    ``cg_iter``; :func:`dense_natural`, :func:`cg_natural`,
    :func:`gaussian_natural`).
    """

    energy: Any
    solver: str = "dense"
    cg_iter: int = 10

    @property
    def cg(self) -> bool:
        """Whether the step is matrix-free (``"cg"`` or ``"gaussian"``)."""
        return self.solver != "dense"

    def n_means(self, C: int) -> int:
        return n_groups(C) if self.cg else C

    def transform(self, problem: Problem) -> Transform:
        (damping, ema), max_norm = problem.own, problem.max_norm
        if self.solver == "dense":
            return dense_natural(damping, max_norm, ema)
        if self.solver == "gaussian":
            fm = self.energy.fm
            return gaussian_natural(damping, max_norm, self.cg_iter, ema, fm)
        return cg_natural(damping, max_norm, self.cg_iter)

    def init(self, theta, problem: Problem):
        return self.transform(problem).init(theta)

    def _moments(self, x, problem: Problem):
        """``(rows, gbar, gram, halves)`` at the chains ``x`` (C, n):
        ``halves`` the two halves' ``(mean, Fisher products thunk)`` pairs of
        the cross-fitted matrix-free step, None on the dense path (whose
        Fisher is the rows' covariance)."""
        geo, fm = problem.geo, self.energy.fm
        if self.solver == "dense":
            G = self.energy.features(geo, x)
            return G, jnp.mean(G, axis=0), (lambda w: G.T @ w), None
        C, B = x.shape[0], n_groups(x.shape[0])
        low, high, mean, std = geo.low, geo.high, geo.mean, geo.std
        groups = x.reshape(B, C // B, x.shape[1])
        rows = (jax.vmap(lambda xg: fm.mean(xg, low, high))(groups) - mean) / std
        gbar = jnp.mean(rows, axis=0)

        def gram(w):
            return fm.mean(x, low, high, w) / std

        def fisher(xs, g):
            """``F v`` and ``diag F`` from the chains ``xs`` with mean ``g``."""

            def fvp(v):
                scores = -jax.vmap(lambda xc: fm.energy(v / std, xc, low, high))(xs)
                w = (scores - jnp.mean(scores)) / xs.shape[0]
                return fm.mean(xs, low, high, w) / std

            squares = fm.mean(xs, low, high, square=True)
            diag = (squares - (mean + g * std) ** 2) / std**2
            return fvp, jnp.maximum(diag, 0.0)

        # Two halves of whole groups for the cross-fitted step: each half's
        # mean, and its Fisher products (built only while learning).
        # (Split chains, and measure their means, where C has no even split
        # into groups.)
        cut = (B // 2) * (C // B) if B > 1 else C // 2
        halves = []
        for xs, r in ((x[:cut], rows[: B // 2]), (x[cut:], rows[B // 2 :])):
            if B > 1:
                g = jnp.mean(r, axis=0)
            else:
                g = (fm.mean(xs, low, high) - mean) / std
            halves.append((g, partial(fisher, xs, g)))
        return rows, gbar, gram, halves

    def iterate(self, theta, opt_state, U, problem: Problem, learn):
        """Stats at the chains ``U`` (C, n) and, while ``learn``, one step."""
        geo, pen = problem.geo, problem.penalty
        x = to_user(geo, U)
        rows, gbar, gram, halves = self._moments(x, problem)
        direction = problem.nu - gbar - penalties.matvec(pen, theta)
        if problem.bins.col.shape[0]:  # static: priors known at trace time
            direction = direction - _prior_gradient(problem, x, gram)
        p = theta.shape[0]
        transform = self.transform(problem)

        # The cross-fitted path's directions: each half's mean for the whole's.
        if halves is not None:
            halves = [(direction + gbar - g, f) for g, f in halves]
        moments = ChainMoments(
            rows=rows,
            halves=halves,
            Q=None if self.cg else penalties.dense(pen, p),
            qmv=lambda v: penalties.matvec(pen, v),
            qdiag=penalties.diag(pen, p),
            geo=geo,
            x=x,
        )

        def step(state):
            return transform.update(direction, state, theta, moments)

        delta, opt_state = jax.lax.cond(
            learn, step, lambda s: (jnp.zeros_like(theta), s), opt_state
        )
        theta = theta + problem.learning_rate * delta
        stats = Stats(rows, -direction, -direction, jnp.asarray(jnp.nan, theta.dtype))
        return theta, opt_state, stats
