"""Moment matching as a plan, composed by MomentMatchingEBM and MaxLikelihoodEBM.

:func:`moment_matching_plan` is MomentMatchingEBM's whole plan: the energy
(linear, MLP or the user's), polynomial features matched in coordinates
centred on the box (:mod:`skmaxent._inputs.centring`), the start, the problem and
the fitted attributes. MaxLikelihoodEBM builds the same plan and swaps in
its objective, data, rule and early stopping (optax's ``alias.py`` style:
composition, not borrowed methods). The estimator passed in is read for its
hyper-parameters and its previous fit (``warm_start``), never written.
"""

import dataclasses
from functools import partial
from typing import NamedTuple

import jax
import numpy as np
import scipy.sparse.linalg

from skmaxent._fit import logz
from skmaxent._fit.plan import Fitted, Plan, Start
from skmaxent._fit.starts import data_start
from skmaxent._fit.train import Rule
from skmaxent._inputs.arrays import f32 as _f32
from skmaxent._inputs.centring import shift_map
from skmaxent.core.energy import Geometry, flatten, unit_geometry
from skmaxent.core.energy import Linear as LinearEnergy
from skmaxent.core.features.roughness import roughness_entries
from skmaxent.core.training import penalties
from skmaxent.core.training.problem import Problem, Report
from skmaxent.core.training.smm import SMM
from skmaxent.energies import MLP, Linear, check_energy
from skmaxent.priors import prior_fields

__all__ = ["Centring", "check_energy_model", "moment_matching_plan"]


class Centring(NamedTuple):
    """The centred parametrisation: the shift map (:func:`skmaxent._inputs.centring.
    shift_map`) and the centred features' mean and sd under the uniform law."""

    sh: object
    mean: np.ndarray
    std: np.ndarray


def check_energy_model(energy_model, roughness, init) -> bool:
    """Whether the energy is linear; ``ValueError`` for options it excludes."""
    linear = isinstance(energy_model, str | Linear)
    if roughness > 0 and not linear:
        raise ValueError(
            f"roughness={roughness} applies to energy_model='linear' only; "
            "use alpha (an L2 penalty on the parameters) for other energies."
        )
    if init == "score_matching" and not linear:
        raise ValueError(
            "init='score_matching' applies to energy_model='linear' only; use "
            "init='auto' or 'zero' with other energies."
        )
    return linear


def _energy(energy_model, key, n, bounds):
    """(public energy, core energy or None for linear, initial theta or None)."""
    if isinstance(energy_model, str | Linear):
        return Linear(), None, None
    if isinstance(energy_model, MLP):
        box = tuple(map(tuple, bounds.tolist()))
        public, core = (
            dataclasses.replace(energy_model, bounds=b) for b in (box, None)
        )
    else:
        public = core = energy_model
    params = check_energy(public, key, n, bounds)
    # An energy with on_unit_box is evaluated on the unit box (see the guide).
    unit_box = callable(getattr(core, "on_unit_box", None))
    theta, flat = flatten(core, params, unit_box)
    return public, flat, theta


def _start(est, inputs, cent: Centring, theta0, warm, *, penalised, key, settings):
    """``(theta0, positions on the unit box, init used)``; ``theta0`` None for
    the linear energy (its start is chosen here)."""
    fm, bounds, X = inputs.fm, inputs.bounds, inputs.X
    sh, std = cent.sh, cent.std
    width = bounds[:, 1] - bounds[:, 0]
    linear = theta0 is None
    if warm:
        if linear:
            theta0 = scipy.sparse.linalg.spsolve(sh.T.T.tocsc(), est.coef_) * std
        else:
            theta0 = est._theta
        positions = est._warm_positions(bounds, bounds)
        return theta0, positions, ("zero" if linear else "energy")
    pos0 = np.asarray(jax.random.uniform(key, (est.n_chains, fm.n_features_in)))
    if not linear:
        return theta0, pos0, "energy"
    usable = X is not None and fm.differentiable and est.init != "zero"
    if usable and (est.init == "score_matching" or not penalised):
        rng = np.random.default_rng(np.asarray(jax.random.key_data(key)))
        user_std = fm.uniform_moments(bounds[:, 0], bounds[:, 1])[1]
        phi, rows = data_start(
            fm,
            X,
            inputs.weights,
            bounds,
            user_std,
            est.init,
            est.n_chains,
            rng,
            max_features=settings.sm_max_features,
        )
        if phi is not None:
            coef0 = phi / user_std
            theta0 = scipy.sparse.linalg.spsolve(sh.T.T.tocsc(), coef0) * std
            return theta0, (rows - bounds[:, 0]) / width, "score_matching"
    return np.zeros(fm.n_features_out), pos0, "zero"


def _problem(est, inputs, cent: Centring, K, linear, *, priors, rate, settings):
    """The traced :class:`~skmaxent.core.training.problem.Problem` (``K``
    parameters)."""
    fm, bounds, mu = inputs.fm, inputs.bounds, inputs.mu
    sh, mean, std = cent
    centred = bounds - sh.c[:, None]
    R = None
    if est.roughness > 0:
        R = roughness_entries(fm.specs, centred[:, 0], centred[:, 1])
    if linear:
        shift = (sh.rows, sh.cols, sh.vals)
        pen = penalties.build(1.0 / std, est.alpha, est.roughness, R, shift)
    else:
        pen = penalties.build(np.ones(K), est.alpha)
    user_std = fm.uniform_moments(bounds[:, 0], bounds[:, 1])[1]
    low, high = _f32(bounds[:, 0]), _f32(bounds[:, 1])
    inv_rows, inv_cols, inv_vals = sh.inv
    return Problem(
        geo=Geometry(low, high, _f32(sh.c), _f32(mean), _f32(std)),
        nu=_f32((sh.T @ mu + sh.t - mean) / std),
        penalty=pen,
        report=Report(
            np.asarray(inv_rows, np.int32),
            np.asarray(inv_cols, np.int32),
            _f32(inv_vals),
            _f32(std),
            _f32(user_std),
        ),
        learning_rate=np.float32(rate),
        max_norm=np.float32(settings.max_grad_norm),
        target_accept=np.float32(settings.target_accept),
        **prior_fields(priors, est.n_chains),
    )


def _fitted(est, inputs, cent, energies, key, settings, result) -> Fitted:
    """The fitted energy in user units and the attributes; first the chains
    settle at the returned parameters where those are not the iterate they
    followed (:func:`skmaxent._fit.logz.settle`). ``energies`` is ``(public,
    flat)``, ``flat`` None for the linear energy."""
    fm, bounds = inputs.fm, inputs.bounds
    public, flat = energies
    linear = flat is None
    geo = unit_geometry(bounds[:, 0], bounds[:, 1], fm.n_features_out)
    energy, theta = flat, result.theta
    if linear:  # the linear energy in user units: coef = Tᵀ (theta / std)
        energy, theta = LinearEnergy(fm), cent.sh.T.T @ (result.theta / cent.std)
    model = (energy, theta, geo)
    if not linear or result.stopped:
        config = est._ais_config()
        result = logz.settle(key, config, model, result, settings=settings)
    params = theta if linear else jax.tree.map(np.asarray, flat.unravel(_f32(theta)))
    attributes = {
        "coef_": theta if linear else None,  # None: no coef_ for other energies
        "params_": params,
        "energy_model_": public,
        "_fit_energy": flat,
        "_theta": result.theta,
    }
    return Fitted(result, model, attributes)


def moment_matching_plan(est, inputs, settings, *, keys, penalised, rate, priors=()):
    """MomentMatchingEBM's :class:`~skmaxent._fit.plan.Plan` for ``est``, and its
    :class:`Centring`.

    ``keys`` are ``(training, energy init, start, log Z)``; ``penalised``
    whether the objective has a penalty (then the start is not the
    score-matching solution, unless ``init="score_matching"``, and is not
    verified; the rule is on the gradient); ``rate`` the learning rate;
    ``priors`` the checked marginal priors.
    """
    key, k_params, k_init, k_ais = keys
    fm, bounds = inputs.fm, inputs.bounds
    linear = check_energy_model(est.energy_model, est.roughness, est.init)
    public, flat, theta0 = _energy(est.energy_model, k_params, fm.n_features_in, bounds)
    sh = shift_map(fm.specs, bounds)
    centred = bounds - sh.c[:, None]
    cent = Centring(sh, *fm.uniform_moments(centred[:, 0], centred[:, 1]))
    warm = est._warm(fm, getattr(est, "_fit_energy", None) == flat)
    theta0, pos0, used = _start(
        est,
        inputs,
        cent,
        theta0,
        warm,
        penalised=penalised,
        key=k_init,
        settings=settings,
    )
    problem = _problem(
        est,
        inputs,
        cent,
        len(theta0),
        linear,
        priors=priors,
        rate=rate,
        settings=settings,
    )
    step = est.step_size_ if warm else est._initial_step_size(settings)
    plan = Plan(
        inputs=inputs,
        objective=SMM(LinearEnergy(fm) if linear else flat, LinearEnergy(fm)),
        problem=problem,
        kernel=est._kernel(),
        start=Start(theta0, pos0, step, used),
        rule=Rule("gradient", "batch") if penalised else Rule(),
        keys=(key, k_ais),
        finish=partial(_fitted, est, inputs, cent, (public, flat), k_ais, settings),
        verify=used == "score_matching" and not penalised,
        loss=True,
    )
    return plan, cent
