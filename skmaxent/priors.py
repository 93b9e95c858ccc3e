"""Marginal priors: a penalty pulling one variable's histogram towards given bins.

A module of its own, not in ``features.py``: a prior is a penalty (a
hyper-parameter of the fit), not a feature.
"""

import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from skmaxent.core.training.marginal_priors import PriorBins

__all__ = [
    "MarginalPrior",
    "PRIOR_FLOOR",
    "check_marginal_priors",
    "prior_bins",
    "prior_fields",
]

KINDS = ("kl", "l2")

#: A KL prior floors the model's bin probabilities at ``PRIOR_FLOOR / n_chains``.
PRIOR_FLOOR = 0.5


def _reals(owner, field, values):
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"MarginalPrior.{field} must be a 1-D sequence of real numbers; got "
            f"{values!r}."
        ) from exc
    if arr.ndim != 1 or not np.all(np.isfinite(arr)):
        raise ValueError(
            f"MarginalPrior.{field} must be a 1-D sequence of finite numbers; got "
            f"{values!r}."
        )
    object.__setattr__(owner, field, tuple(float(v) for v in arr))
    return arr


@dataclass(frozen=True)
class MarginalPrior:
    """Penalty ``strength * Phi(p_hat, probs)`` on the histogram of variable ``i``.

    ``p_hat[b] = P_model(edges[b] <= x_i < edges[b + 1])`` are the model's
    bin probabilities (expectations of indicator features, estimated from the
    chains), and

    - ``kind="kl"``: ``Phi = sum_b probs[b] log(probs[b] / p_hat[b])``, the
      Kullback–Leibler divergence of the model's histogram from ``probs``;
    - ``kind="l2"``: ``Phi = 1/2 sum_b (p_hat[b] - probs[b])**2``.

    ``probs`` sums to 1, so the prior also says that all the mass of ``x_i``
    lies in ``[edges[0], edges[-1])``; let the edges span the box unless that
    is meant.

    Parameters
    ----------
    i : int
        Column of ``X``.
    edges : sequence of float, length ``n_bins + 1``
        Strictly increasing bin edges in user units, inside the box.
    probs : sequence of float, length ``n_bins``
        Target bin probabilities, non-negative, summing to 1.
    strength : float
        Penalty weight, ``>= 0``.
    kind : {"kl", "l2"}, default="kl"

    Examples
    --------
    >>> from skmaxent import MarginalPrior
    >>> MarginalPrior(0, edges=[0, 0.5, 1], probs=[0.2, 0.8], strength=10).kind
    'kl'
    """

    i: int
    edges: tuple
    probs: tuple
    strength: float
    kind: str = "kl"

    def __post_init__(self):
        if isinstance(self.i, bool) or not isinstance(self.i, Integral) or self.i < 0:
            raise ValueError(
                f"MarginalPrior.i must be an integer >= 0; got {self.i!r}."
            )
        object.__setattr__(self, "i", int(self.i))
        edges = _reals(self, "edges", self.edges)
        probs = _reals(self, "probs", self.probs)
        if edges.size < 2 or not np.all(np.diff(edges) > 0):
            raise ValueError(
                "MarginalPrior.edges must be at least 2 strictly increasing "
                f"numbers; got {list(self.edges)}."
            )
        if probs.size != edges.size - 1:
            raise ValueError(
                f"MarginalPrior.probs must have one entry per bin, "
                f"len(edges) - 1 = {edges.size - 1}; got {probs.size}."
            )
        if np.any(probs < 0) or abs(probs.sum() - 1.0) > 1e-6:
            raise ValueError(
                "MarginalPrior.probs must be non-negative and sum to 1; got "
                f"{list(self.probs)} (sum {probs.sum():.8g})."
            )
        s = self.strength
        if isinstance(s, bool) or not isinstance(s, Real) or not math.isfinite(s):
            raise ValueError(
                f"MarginalPrior.strength must be a finite number >= 0; got {s!r}."
            )
        if s < 0:
            raise ValueError(f"MarginalPrior.strength must be >= 0; got {s!r}.")
        object.__setattr__(self, "strength", float(s))
        if self.kind not in KINDS:
            raise ValueError(
                f"MarginalPrior.kind must be one of {KINDS}; got {self.kind!r}."
            )


def check_marginal_priors(priors, bounds) -> tuple:
    """Validate ``marginal_priors`` against the box; return them as a tuple.

    Parameters
    ----------
    priors : None or sequence of MarginalPrior
    bounds : ndarray of shape (n_features_in_, 2)

    Returns
    -------
    priors : tuple of MarginalPrior (empty for None).
    """
    if priors is None:
        return ()
    if isinstance(priors, MarginalPrior):
        raise TypeError(
            f"marginal_priors={priors!r} is a single prior; wrap it in a list."
        )
    out = []
    for k, prior in enumerate(priors):
        if not isinstance(prior, MarginalPrior):
            raise TypeError(
                f"marginal_priors[{k}] = {prior!r} is not a skmaxent.MarginalPrior."
            )
        n = bounds.shape[0]
        if prior.i >= n:
            raise ValueError(
                f"marginal_priors[{k}] refers to column {prior.i}, but there are "
                f"{n} variable(s)."
            )
        lo, hi = bounds[prior.i]
        if prior.edges[0] < lo or prior.edges[-1] > hi:
            raise ValueError(
                f"marginal_priors[{k}].edges = {list(prior.edges)} leave the box "
                f"[{lo:.8g}, {hi:.8g}] of column {prior.i}; edges must lie inside "
                "the bounds."
            )
        out.append(prior)
    return tuple(out)


def prior_bins(priors) -> dict:
    """Flatten priors into per-bin arrays for the core (float64 / int32 / bool).

    Returns ``col``, ``low``, ``high``, ``probs``, ``strength`` and ``kl``
    (whether the bin's prior is of kind ``"kl"``), each of shape ``(B,)``
    with ``B`` the total number of bins.
    """
    rows = [
        (p.i, lo, hi, q, p.strength, p.kind == "kl")
        for p in priors
        for lo, hi, q in zip(p.edges[:-1], p.edges[1:], p.probs)
    ]
    cols = list(zip(*rows)) if rows else [()] * 6
    dtypes = (np.int32, np.float64, np.float64, np.float64, np.float64, bool)
    names = ("col", "low", "high", "probs", "strength", "kl")
    return {name: np.asarray(c, dtype=dt) for name, c, dt in zip(names, cols, dtypes)}


def prior_fields(priors, n_chains: int) -> dict:
    """``{"bins": PriorBins}``, the core's view of the priors (float32).

    The field of :class:`skmaxent.core.training.problem.Problem` for both objectives:
    the bins of :func:`prior_bins` and the KL floor ``PRIOR_FLOOR / n_chains``.
    """
    bins = prior_bins(priors)
    f32 = {
        k: v.astype(np.float32) if v.dtype == np.float64 else v for k, v in bins.items()
    }
    return {"bins": PriorBins(**f32, eps=np.float32(PRIOR_FLOOR / n_chains))}
