"""What one fit is, as traced arrays: shared by the training loop and every objective.

A :class:`Problem` holds everything per fit that may change without
recompiling (targets, box, penalties, priors, step settings); a
:class:`Phase` the host's switches for the next chunk; :class:`Stats` what an
objective measures at the chains in one iteration. Static choices (the
objective, its solver, the sampling kernel, chunk size) live in the
objective, the kernel and :class:`LoopConfig` instead.
"""

from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from skmaxent.core.energy import Geometry
from skmaxent.core.training.marginal_priors import PriorBins
from skmaxent.core.training.penalties import Penalty
from skmaxent.core.types import Array

__all__ = [
    "Report",
    "Problem",
    "Phase",
    "Stats",
    "Objective",
    "LoopConfig",
    "identity_report",
]


class Report(NamedTuple):
    """How a standardised residual ``r`` of the fitted features is reported.

    ``(E[f] - mu) / user_std = T⁻¹ (std r) / user_std`` (COO entries of
    ``T⁻¹``): the user's standardised moment error when the fit works in
    centred coordinates; the identity otherwise.
    """

    rows: Array
    cols: Array
    vals: Array
    std: Array
    user_std: Array

    def __call__(self, r: Array) -> Array:
        p = r.shape[-1]
        v = jnp.moveaxis(r * self.std, -1, 0)
        u = jax.ops.segment_sum(
            self.vals.reshape((-1,) + (1,) * (v.ndim - 1)) * v[self.cols],
            self.rows,
            p,
        )
        return jnp.moveaxis(u, 0, -1) / self.user_std


def identity_report(p: int) -> Report:
    """The :class:`Report` that leaves a residual as it is."""
    ones = np.ones(p, np.float32)
    idx = np.arange(p, dtype=np.int32)
    return Report(idx, idx, ones, ones, ones)


class Problem(NamedTuple):
    """A fit's traced data.

    geo : the energy's :class:`~skmaxent.core.energy.Geometry` (box, shift,
        feature standardisation).
    nu : (p,) standardised targets ``(mu - mean) / std``.
    penalty : the quadratic :class:`~skmaxent.core.training.penalties.Penalty`.
    bins : the marginal priors' bins (``B = 0`` when there are none).
    report : the residual's :class:`Report`.
    learning_rate, max_norm : the parameter update's rate and clipping norm.
    target_accept : acceptance the kernel's parameters (the HMC step size)
        are adapted towards.
    own : the objective's own traced parameters (the dual's
        :class:`~skmaxent.core.training.dual.DualParams`, the
        maximum-likelihood objective's rows,
        :class:`~skmaxent.core.training.mle.Data`); ``None`` for moment
        matching.
    """

    geo: Geometry
    nu: Array
    penalty: Penalty
    bins: PriorBins
    report: Report
    learning_rate: Array
    max_norm: Array
    target_accept: Array
    own: Any = None


class Phase(NamedTuple):
    """The host's switches for a chunk (traced booleans and a count).

    learn : take parameter steps (else the parameters stay fixed: a
        verification of a start, with the chains' cache left as it is).
    adapt : adapt the kernel's parameters towards ``target_accept``.
    max_iter : iterations beyond this total are no-ops.
    """

    learn: Array
    adapt: Array
    max_iter: Array


class Stats(NamedTuple):
    """What an objective measures in one iteration.

    means : (R, p) per-chain (or per-group) means of the standardised
        features, whose spread over ``R`` gives the Monte Carlo standard
        error.
    residual : (p,) the standardised residual (reported through
        :class:`Report`): the moment error, or the penalised gradient.
    gradient : (K,) the objective's gradient in ``theta`` (for batch means).
    loss : () the objective's value (``nan`` when it has none).
    """

    means: Array
    residual: Array
    gradient: Array
    loss: Array


class Objective(Protocol):
    """What the training loop asks of an objective.

    An objective is a hashable value (a frozen dataclass: a static argument
    of the compiled chunk; equal objectives share it) holding its static
    choices; everything traced comes in the :class:`Problem` (what every
    objective shares, and its own parameters in ``problem.own``).
    :class:`~skmaxent.core.training.dual.Dual`,
    :class:`~skmaxent.core.training.smm.SMM` and
    :class:`~skmaxent.core.training.mle.MLE` implement it.
    """

    #: The energy it trains (:mod:`skmaxent.core.energy`): the loop samples
    #: ``energy.on_unit(theta, problem.geo)``.
    energy: Any

    def n_means(self, C: int) -> int:
        """Rows of :attr:`Stats.means` for ``C`` chains (per chain, or per
        group of chains), whose spread gives the Monte Carlo error."""

    def init(self, theta: Array, problem: Problem) -> Any:
        """The update's state at ``theta``."""

    def iterate(self, theta, state, U, problem: Problem, learn) -> tuple:
        """``(theta, state, Stats)``: the statistics at the chains ``U`` (C,
        n) on the unit box and, where the traced ``learn`` holds, one
        parameter step."""


class LoopConfig(NamedTuple):
    """Static settings of the loop (changing one recompiles).

    chunk_size : iterations per compiled chunk (the host sees the state only
        between chunks; the convergence rule uses the chunk's means).
    adapt_gain : gain of the kernel's adaptation (the constant-gain
        step-size tracking, :func:`skmaxent.core.sampling.adaptation.track`).
    """

    chunk_size: int = 50
    adapt_gain: float = 0.05
