"""How the chain estimators fit: ``fit`` is the one place a chain fit is wired.

The fitting side of MaxEntDual, MomentMatchingEBM and MaxLikelihoodEBM
(their answers are :mod:`skmaxent._inference`'s). ``fit`` validates the
input, asks the estimator's one hook, ``_plan``, for a
:class:`~skmaxent._fit.plan.Plan`, places the chains, hands the plan to the
core's loop through the host loop, turns the result into fitted attributes
(with ``log Z`` by AIS), runs the plan's fallback where the fit is not to be
trusted, and restores the estimator when a fit fails. No numerics here
beyond glue.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions

from skmaxent._fit import logz, train
from skmaxent._fit.devices import chain_sharding, place_chains, to_host
from skmaxent._fit.interrupts import checkpoint, finishing
from skmaxent._inference import _ChainModel
from skmaxent._inputs.arrays import f32 as _f32
from skmaxent._inputs.data import (
    InputSpec,
    check_one_of,
    read_inputs,
    validate_X,
)
from skmaxent._inputs.support import box_geometry
from skmaxent.core import programs
from skmaxent.core.energy import to_user
from skmaxent.core.features.presets import PRESETS
from skmaxent.core.sampling.hmc import HMCParams
from skmaxent.core.training import loop
from skmaxent.core.training.problem import LoopConfig

__all__ = ["_BaseEBM"]


class _BaseEBM(_ChainModel):
    """Shared shell of the estimators trained on persistent chains."""

    #: Whether supports open on one or both sides are fitted (``bounds`` with
    #: infinite ends; ``bounds=None`` then means unbounded where the features
    #: allow it). Estimators that need a box set it False.
    _open_supports = True

    _parameter_constraints: dict = {
        "features": [StrOptions(set(PRESETS)), list, tuple],
        "bounds": [None, "array-like"],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "roughness": [Interval(Real, 0, None, closed="left")],
        "n_chains": [Interval(Integral, 2, None, closed="left")],
        "n_leapfrog": [Interval(Integral, 1, None, closed="left")],
        "step_size": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "init": [StrOptions({"auto", "score_matching", "zero"})],
        "devices": [None, Interval(Integral, 1, None, closed="left")],
        "marginal_priors": [None, list, tuple],
    }

    # ------------------------------------------------------------------ fit
    @finishing
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None, *, moments=None, sample_weight=None):
        """Fit the model to data ``X`` or to target ``moments``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features_in_), default=None
            Data; the targets are the (weighted) means of the features over it.
        y : None
            Ignored.
        moments : array-like of shape (n_features_out,) or dict, default=None
            Target feature expectations in feature order, or ``{name: value}``
            for every feature. Requires ``bounds``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows of ``X``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        del y
        settings = self._resolve_settings()
        snapshot = dict(self.__dict__)
        try:
            self._fit(X, moments, sample_weight, settings)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(snapshot)
            raise
        return self

    def _fit(self, X, moments, sample_weight, settings):
        """The one wiring of a chain fit: inputs, the estimator's plan,
        training, ``log Z`` and the fitted attributes; the plan's fallback
        where its fit is not to be trusted."""
        programs.trim(settings.max_programs)  # bounded memory in a long session
        plan = self._plan(
            self._read_inputs(X, moments, sample_weight, settings), settings
        )
        while True:
            fitted = plan.finish(self._train(plan, settings))
            retry = plan.fallback is not None
            if fitted is not None and self._finish(plan, fitted, settings, retry):
                checkpoint()  # an interrupt still pending: undone by fit
                return
            plan = plan.fallback()
            # The fallback compiles its start's programs: keep the bound.
            programs.trim(settings.max_programs)

    def _plan(self, inputs, settings):
        """The estimator's :class:`~skmaxent._fit.plan.Plan` for ``inputs``."""
        raise NotImplementedError

    def _read_inputs(self, X, moments, sample_weight, settings):
        """:func:`skmaxent._inputs.data.read_inputs`, after the estimator validated
        ``X`` and set (or, fitting moments, reset) its ``n_features_in_``."""
        check_one_of(X, moments)
        names = None
        if X is not None:
            X = validate_X(self, X, reset=True)
            names = getattr(self, "feature_names_in_", None)
        spec = InputSpec(
            self.features, self.bounds, self._open_supports, self.init, self._name
        )
        inputs = read_inputs(spec, X, names, moments, sample_weight, settings)
        if X is None:
            self.n_features_in_ = inputs.n_features_in
            self.__dict__.pop("feature_names_in_", None)
        return inputs

    @property
    def _name(self) -> str:
        return type(self).__name__

    def _ais_config(self) -> logz.AISConfig:
        return logz.AISConfig(self._name, self._kernel(), self.n_chains, self.verbose)

    def _warm(self, fm, same=True) -> bool:
        """Whether this fit continues the previous one (``warm_start``)."""
        warm = self.warm_start and self.__sklearn_is_fitted__()
        if warm and not (
            same and self._fm == fm and self.chains_.shape[0] == self.n_chains
        ):
            raise ValueError(
                "warm_start=True needs the same features, energy_model, number "
                "of variables and n_chains as the previous fit; refit with "
                "warm_start=False."
            )
        return warm

    def _initial_step_size(self, settings) -> float:
        if self.step_size == "auto":
            return settings.initial_step_size
        return float(self.step_size)

    def _train(self, plan, settings) -> train.FitResult:
        """The plan's chains placed (sharded over ``devices``), the core loop
        driven by the host loop."""
        start, s = plan.start, settings
        sharding = chain_sharding(self.devices, self.n_chains)
        positions = place_chains(_f32(start.positions), sharding)
        params = HMCParams(np.float32(start.step_size))
        state = loop.start(
            plan.keys[0],
            plan.objective,
            plan.kernel,
            _f32(start.theta),
            positions,
            params,
            plan.problem,
        )
        config = LoopConfig(s.chunk_size, s.adapt_gain)
        size = (self.n_chains, positions.shape[1], np.size(start.theta))
        quick = train.quick_programs(*size, s)

        def run_chunk(state, phase):
            program = loop.run_chunk
            if quick and not phase.learn:  # verifying a start
                program = program.quick
            return program(
                state, plan.problem, phase, plan.objective, plan.kernel, config
            )

        return train.run(
            run_chunk,
            state,
            max_iter=int(self.max_iter),
            tol=float(self.tol),
            rule=plan.rule,
            adapt=self.step_size == "auto",
            verify=plan.verify,
            names=plan.inputs.fm.names,
            settings=s,
            verbose=self.verbose,
            desc=self._name,
            loss=plan.loss,
            stop=plan.stop,
        )

    def _finish(self, plan, fitted, settings, retry=False) -> bool:
        """AIS for ``log Z`` (which checks the chains), the divergence check and
        the fitted attributes; False (nothing set) where ``retry`` and AIS
        finds the model's mass away from the chains."""
        result, model, inputs = fitted.result, fitted.model, plan.inputs
        state, (energy, theta, geo) = result.state, model
        log_z, log_z_std, trusted = logz.log_partition(
            plan.keys[1],
            self._ais_config(),
            model,
            result,
            inputs.box,
            retry=retry,
            settings=settings,
        )
        if retry and not trusted:
            return False
        if not (np.all(np.isfinite(theta)) and np.isfinite(log_z)):
            raise RuntimeError(
                "The fit diverged: non-finite parameters or log-partition after "
                f"{int(state.iteration)} iterations. Try a smaller learning_rate, "
                "alpha > 0, or check that the targets are not at a bound."
            )
        positions = to_host(state.chains.position).astype(np.float64)
        self._fm, self._box = inputs.fm, inputs.box
        self._core = (energy, _f32(theta), geo)
        self.bounds_ = inputs.bounds
        self.moments_ = np.asarray(inputs.mu, dtype=np.float64)
        self.n_iter_ = int(state.iteration)
        self.converged_ = bool(result.converged and trusted)
        self.moment_error_ = float(result.error)
        self.step_size_ = float(state.params.step_size)
        self.chains_ = to_user(box_geometry(inputs.box), positions)
        self.log_partition_ = log_z
        self.log_partition_std_ = log_z_std
        self.history_ = result.history
        self.init_ = plan.start.init
        for name, value in fitted.attributes.items():
            if value is not None:
                setattr(self, name, value)
            else:
                self.__dict__.pop(name, None)
        if not result.converged:
            limits = (self.tol, self.max_iter)
            why = train.unconverged(self._name, limits, result, settings)
            warnings.warn(why, ConvergenceWarning, stacklevel=4)
        return True
