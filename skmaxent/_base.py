"""The scikit-learn shell shared by the chain estimators.

The shell of MaxEntDual, MomentMatchingEBM and MaxLikelihoodEBM. It
validates input, restores the estimator when a fit fails, places the
chains, hands one problem to the core's loop through the host loop, turns
the result into fitted attributes (with ``log Z`` by AIS), and answers
``sample``, ``score_samples``, ``energy`` and ``transform`` from one core
energy. ``fit`` is the one place a chain fit is wired (:mod:`skmaxent._plan`):
each estimator answers one hook, ``_plan``; no numerics here beyond glue.
"""

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin, TransformerMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skmaxent import _host, _logz
from skmaxent._arrays import f32 as _f32
from skmaxent._data import (
    InputSpec,
    check_one_of,
    feature_values,
    key_from_random_state,
    read_inputs,
    row_blocks,
    validate_X,
)
from skmaxent._settings import Settings, clone_snapshot, resolve
from skmaxent._starts import chain_sharding, place_chains, to_host
from skmaxent._support import box_geometry, clip_unit
from skmaxent.core import chains, loop, programs
from skmaxent.core.energy import to_unit, to_user
from skmaxent.core.hmc import HMCParams, ReflectiveHMC
from skmaxent.core.presets import PRESETS
from skmaxent.core.problem import LoopConfig

__all__ = ["_BaseEBM"]


class _BaseEBM(DensityMixin, TransformerMixin, BaseEstimator):
    """Shared shell of the estimators trained on persistent chains."""

    #: Windows of the batch-means rule where the settings leave
    #: ``n_windows=None`` (:class:`skmaxent.Settings`).
    _default_n_windows = 4
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

    def __sklearn_clone__(self):
        """``sklearn.base.clone``, which also carries the settings in effect
        where they are not the defaults (or this estimator's carried ones):
        see :func:`skmaxent.config_context`."""
        clone = super().__sklearn_clone__()
        carried = clone_snapshot(self.__dict__.get("_carried_settings"))
        if carried is not None:
            clone._carried_settings = carried
        return clone

    def _resolve_settings(self) -> Settings:
        """The settings of one call (fit, sample, score_samples, ...): the
        thread's, or the carried ones where the thread's are the defaults."""
        carried = self.__dict__.get("_carried_settings")
        return resolve(carried, self._default_n_windows)

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
                return
            plan = plan.fallback()
            # The fallback compiles its start's programs: keep the bound.
            programs.trim(settings.max_programs)

    def _plan(self, inputs, settings):
        """The estimator's :class:`~skmaxent._plan.Plan` for ``inputs``."""
        raise NotImplementedError

    def _read_inputs(self, X, moments, sample_weight, settings):
        """:func:`skmaxent._data.read_inputs`, after the estimator validated
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

    def _ais_config(self) -> _logz.AISConfig:
        return _logz.AISConfig(self._name, self._kernel(), self.n_chains, self.verbose)

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

    def _warm_positions(self, bounds=None, box=None):
        """The fitted chains in the unit coordinates of ``box`` inside ``bounds``
        (default: the fitted ones), for ``warm_start`` and ``sample``."""
        bounds = self.bounds_ if bounds is None else bounds
        box = self._box if box is None else box
        return clip_unit(bounds, to_unit(box_geometry(box), self.chains_))

    def _initial_step_size(self, settings) -> float:
        if self.step_size == "auto":
            return settings.initial_step_size
        return float(self.step_size)

    def _kernel(self) -> ReflectiveHMC:
        """The sampling kernel of every fit, ``sample`` and AIS."""
        return ReflectiveHMC(int(self.n_leapfrog))

    def _train(self, plan, settings) -> _host.FitResult:
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
        quick = _host.quick_programs(*size, s)

        def run_chunk(state, phase):
            program = loop.run_chunk
            if quick and not phase.learn:  # verifying a start
                program = program.quick
            return program(
                state, plan.problem, phase, plan.objective, plan.kernel, config
            )

        return _host.run(
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
        log_z, log_z_std, trusted = _logz.log_partition(
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
            why = _host.unconverged(self._name, limits, result, settings)
            warnings.warn(why, ConvergenceWarning, stacklevel=4)
        return True

    def __sklearn_is_fitted__(self):
        return hasattr(self, "log_partition_")

    # ------------------------------------------------------------ inference
    def _check_X(self, X):
        check_is_fitted(self)
        return validate_X(self, X, reset=False)

    def _features(self, X, row_block):
        return feature_values(self._fm, X, self._box, row_block)

    def _energies(self, X, row_block):
        """``E(x)`` (float64): features times ``coef_`` in float64 for the
        linear energy, the core energy in blocks of ``row_block`` rows
        otherwise."""
        if hasattr(self, "coef_"):
            return -(self._features(X, row_block) @ self.coef_)
        energy, theta, geo = self._core
        out = np.empty(X.shape[0])
        for start, m, rows in row_blocks(X, row_block):
            E = chains.energies(energy, theta, geo, rows)
            out[start : start + m] = np.asarray(E, np.float64)[:m]
        return out

    def energy(self, X):
        """Unnormalised energies ``E(x)`` (``-coef_ · f(x)`` for the linear energy).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Points in user units.

        Returns
        -------
        energy : ndarray of shape (n_samples,)
            ``E(x)`` of each row.
        """
        row_block = self._resolve_settings().row_block
        return self._energies(self._check_X(X), row_block)

    def score_samples(self, X):
        """Log-density of each row of ``X`` in user units (``-inf`` outside the box).

        ``log p(x) = -E(x) - log_partition_``. Rows outside the box get
        ``-inf``, with one warning per call that counts them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Points in user units.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            ``log p(x)`` of each row.
        """
        row_block = self._resolve_settings().row_block
        X = self._check_X(X)
        out = -self._energies(X, row_block) - self.log_partition_
        inside = np.all((X >= self.bounds_[:, 0]) & (X <= self.bounds_[:, 1]), axis=1)
        if not np.all(inside):
            warnings.warn(
                f"{int(np.sum(~inside))} of {len(inside)} row(s) of X lie outside "
                f"the model's support bounds_ = {self.bounds_.tolist()}: their "
                "log-density is -inf. Widen bounds (in the units the estimator "
                "sees, after any scaling in a Pipeline) if such values can occur.",
                UserWarning,
                stacklevel=2,
            )
        return np.where(inside, out, -np.inf)

    def score(self, X, y=None):
        """Mean log-likelihood of ``X`` under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Points in user units.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Mean of ``score_samples(X)``.
        """
        del y
        return float(np.mean(self.score_samples(X)))

    def transform(self, X):
        """Feature values ``f(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Points in user units.

        Returns
        -------
        F : ndarray of shape (n_samples, n_features_out)
            Feature values, in the order of ``get_feature_names_out()``.
        """
        row_block = self._resolve_settings().row_block
        return self._features(self._check_X(X), row_block)

    def get_feature_names_out(self, input_features=None):
        """Names of the features, in the order of ``transform``'s columns.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored unless it disagrees with ``feature_names_in_``.

        Returns
        -------
        names : ndarray of str objects
            One name per feature, e.g. ``"x0"``, ``"x0^2"``, ``"x0*x1"``.
        """
        check_is_fitted(self)
        if input_features is not None:
            input_features = np.asarray(input_features, dtype=object)
            default = [f"x{i}" for i in range(self.n_features_in_)]
            expected = getattr(
                self, "feature_names_in_", np.array(default, dtype=object)
            )
            if len(input_features) != self.n_features_in_ or np.any(
                input_features != expected
            ):
                raise ValueError(
                    "input_features is not equal to feature_names_in_: "
                    f"{list(input_features)} != {list(expected)}"
                )
        return np.asarray(self._fm.names, dtype=object)

    def sample(self, n_samples=1, random_state=None):
        """Draw samples from the fitted model by continuing copies of the chains.

        The estimator is not changed.

        Parameters
        ----------
        n_samples : int, default=1
            Number of draws.
        random_state : None, int or RandomState, default=None
            Seeds the draws.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
            Draws in user units.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"n_samples must be a positive integer; got {n_samples!r}."
            )
        s = self._resolve_settings()
        key = key_from_random_state(random_state)
        energy, theta, geo = self._core
        pos = _f32(self._warm_positions())
        C = pos.shape[0]
        rounds = 2 ** math.ceil(math.log2(max(1, -(-n_samples // C))))
        positions = chains.sample(
            key,
            energy,
            theta,
            geo,
            pos,
            self._kernel(),
            HMCParams(np.float32(self.step_size_)),
            s.sample_burn_in + s.sample_thin * rounds,
        )
        kept = positions[s.sample_burn_in + s.sample_thin - 1 :: s.sample_thin]
        U = np.asarray(kept, dtype=np.float64).reshape(-1, pos.shape[1])[:n_samples]
        return to_user(box_geometry(self._box), U)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
