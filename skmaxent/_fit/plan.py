"""A chain fit as data: what an estimator's ``_plan`` returns and ``_BaseEBM`` runs.

``_BaseEBM.fit`` is the only place a chain fit is wired (scikit-learn's
template method, as in ``BaseMixture.fit_predict``): it reads the input
(:func:`skmaxent._inputs.data.read_inputs`), asks the estimator for a
:class:`Plan`, trains it (:func:`skmaxent._fit.train.run` over the core loop),
turns the result into a :class:`Fitted` model with the plan's ``finish``,
estimates ``log Z`` and sets the fitted attributes -- or, where the plan has
a ``fallback`` and the fit is not to be trusted, runs that plan instead.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from skmaxent._fit.train import FitResult, Rule
from skmaxent._inputs.data import FitInputs
from skmaxent.core.training.problem import Problem

__all__ = ["Start", "Fitted", "Plan"]


class Start(NamedTuple):
    """Where training starts.

    theta : (K,) the objective's parameters.
    positions : (C, n) the chains, on the unit box.
    step_size : the sampling kernel's initial step size.
    init : the start used (``init_``): ``"score_matching"``, ``"gaussian"``,
        ``"zero"`` or ``"energy"``.
    """

    theta: np.ndarray
    positions: np.ndarray
    step_size: float
    init: str


class Fitted(NamedTuple):
    """A trained plan in the form inference uses.

    result : the training's :class:`~skmaxent._fit.train.FitResult` (its chains
        settled at the returned parameters where needed).
    model : ``(energy, theta, geo)``: the core energy, its parameters in
        user units (``coef`` for the linear energy) and its geometry.
    attributes : the estimator's own fitted attributes (``coef_``,
        ``params_``, ...); a value of None deletes that attribute.
    """

    result: FitResult
    model: tuple
    attributes: dict


class Plan(NamedTuple):
    """One chain fit, as an estimator's ``_plan`` describes it.

    inputs : the :class:`~skmaxent._inputs.data.FitInputs` the fit uses (its
        ``bounds``, ``box`` and ``mu`` are the fitted ones).
    objective, problem : the core objective (static) and its traced data.
    kernel : the sampling kernel of training (:mod:`skmaxent.core.sampling.kernel`).
    start : the :class:`Start`.
    rule : the convergence :class:`~skmaxent._fit.train.Rule`.
    keys : ``(training key, log Z key)``.
    finish : ``FitResult -> Fitted``; it raises where the fit diverged, and
        returns None where the fit is no density but the plan has a
        ``fallback``.
    verify : whether the start is verified before learning.
    loss : the history entry of the objective's loss (see
        :func:`skmaxent._fit.train.run`).
    stop : early stopping (see :func:`skmaxent._fit.train.run`), or None.
    fallback : ``() -> Plan``, the plan to run instead where this one's fit
        is no density or its chains missed the model's mass; None: trust it.
    """

    inputs: FitInputs
    objective: Any
    problem: Problem
    kernel: Any
    start: Start
    rule: Rule
    keys: tuple
    finish: Callable[[FitResult], Fitted | None]
    verify: bool = False
    loss: bool | str = False
    stop: Any = None
    fallback: Callable[[], "Plan"] | None = None
