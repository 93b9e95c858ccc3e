"""MomentMatchingEBM: an energy-based model whose feature means match targets."""

import dataclasses
import math
import warnings
from numbers import Integral

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse.linalg
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skmaxent import _smm_loop
from skmaxent._base import (
    AIS_PARTICLES,
    AIS_TEMPERATURES,
    INITIAL_STEP_SIZE,
    ROW_BLOCK,
    SAMPLE_BURN_IN,
    SAMPLE_THIN,
    _BaseEBM,
    _key_from_random_state,
)
from skmaxent._centring import shift_map
from skmaxent._starts import data_start
from skmaxent.core import train_smm
from skmaxent.core.roughness import roughness_entries
from skmaxent.energies import MLP, Linear, check_energy
from skmaxent.priors import check_marginal_priors, prior_fields

#: Clipping norm of the gradient before Adam (standardised units).
MAX_GRAD_NORM = 1.0


def _f32(a):
    return np.asarray(a, dtype=np.float32)


class MomentMatchingEBM(_BaseEBM):
    """Energy-based model on a box fitted by matching feature moments.

    The model is ``p(x) = exp(-E(x)) / Z`` on the box ``B = prod_i [lo_i,
    hi_i]`` for an energy ``E`` with parameters ``params_`` -- linear in them
    (``E = -coef_ · f(x)``, the family of :class:`MaxEntDual`), a neural
    network (:class:`skmaxent.energies.MLP`) or your own differentiable
    function. The fit minimises the moment-matching loss

    ``J = 1/2 |E_p[g] - nu|^2 + R(params)``

    in standardised features ``g = (f - m) / s`` (``m``, ``s`` their mean and
    standard deviation under the uniform distribution on ``B``, so that
    features of any unit weigh alike; polynomial features are taken in
    coordinates centred on the box, an equivalent basis in which they are
    uncorrelated under the uniform distribution) by Adam on the covariance
    estimator ``grad J = sum_c w_c grad_params E(x_c)``,
    ``w_c = -(g(x_c) - gbar)·(gbar - nu)``, over persistent reflective-HMC
    chains ``x_c``. It never forms a covariance matrix: the cost per
    iteration is ``O(C (p + K))`` for ``C`` chains, ``p`` features and ``K``
    parameters. The chains are split in two halves, each half's centred
    features weighted by the other half's residual, which removes the
    ``O(1/C)`` bias of estimating both from the same chains.

    Read more in the user guide, ``docs/moment_matching_ebm.md``.

    Parameters
    ----------
    features : {"linear", "quadratic"} or sequence of feature specs, default="quadratic"
        The features ``f`` whose expectations are matched.
    energy_model : "linear", Linear, MLP or energy object, default="linear"
        ``"linear"`` is ``E = -coef·f``. Any object with ``init(key,
        n_features_in) -> params`` (a pytree of arrays) and
        ``__call__(params, x) -> scalar`` (one point, user units) is
        accepted; see :mod:`skmaxent.energies`. It is checked once at fit.
    bounds : array-like of shape (n_features_in_, 2), default=None
        The box; ``None`` infers it from ``X`` (widened by 5% of the range on
        each side); required with ``moments``.
    alpha : float, default=0.0
        L2 penalty ``alpha/2 |params|^2`` (``|coef|^2`` for the linear energy).
    roughness : float, default=0.0
        Roughness penalty ``roughness/2 coef·R·coef`` (linear energy only).
    n_chains : int, default=512
        Persistent HMC chains (at least 4: two halves of two).
    n_leapfrog : int, default=5
        Leapfrog steps per HMC transition.
    step_size : "auto" or float, default="auto"
        HMC step size on the unit box; ``"auto"`` tracks a mean acceptance of
        0.8 until the fit has converged.
    learning_rate : float, default=0.02
        Adam's learning rate, on standardised parameters ``coef * s`` for the
        linear energy. Gradients are first clipped to a global norm of 1.
    max_iter : int, default=1000
        Maximum iterations (one HMC transition per chain and one Adam step).
    tol : float, default=1e-3
        Tolerance of the convergence rule, checked on windows of 50
        iterations. Without a penalty (``alpha = roughness = 0``, no prior of
        positive strength) it is :class:`MaxEntDual`'s rule on the
        standardised moment error: ``max_k (|e_k| - z SE_k) < tol``, ``e_k``
        the window mean of ``(E_chains[f_k] - mu_k) / s_k``, ``SE_k`` its
        Monte Carlo standard error (spread of the per-chain window means over
        ``sqrt(n_chains)``) and ``z`` the two-sided 5% normal quantile,
        Bonferroni-corrected over the features. A penalty moves the optimum
        away from matched moments, so then the rule is on the gradient of
        ``J`` (per parameter, standardised for the linear energy): the mean
        of the last 4 windows' mean gradients must be indistinguishable from
        one below ``tol``, ``SE_k`` the spread of those 4 means over 2 and
        ``z`` Student's quantile with 3 degrees of freedom,
        Bonferroni-corrected over the parameters. The iterates are then
        averaged (Polyak–Ruppert) for 200 more iterations.
    warm_start : bool, default=False
        Continue from the previous fit's ``params_`` and ``chains_`` (Adam
        restarts).
    init : {"auto", "score_matching", "zero"}, default="auto"
        Starting parameters of the linear energy fitted from ``X``.
        ``"score_matching"`` solves the generalised score-matching equations
        on the box for ``coef`` in one linear solve (as in
        :class:`MaxEntDual`), starts the chains on rows of ``X`` and runs
        them at that fixed start for one window: if the (unpenalised)
        convergence rule holds there, that start is the fit and no Adam step
        is taken; otherwise learning continues from it. It needs the linear
        energy, ``X`` and features differentiable in ``x``. ``"auto"`` uses
        it when it applies (never with a penalty or a prior, whose optimum
        it is not); ``"zero"`` starts from ``coef = 0`` (the uniform
        distribution). Other energies start from their ``init``.
    random_state : int, RandomState instance or None, default=None
        Seeds the parameters' initialisation, the chains and the sampler.
    verbose : int, default=0
        Show a progress bar with the moment error when positive.
    marginal_priors : list of MarginalPrior or None, default=None
        Extension of the contract: each
        ``MarginalPrior(i, edges, probs, strength, kind)`` adds
        ``strength * Phi(p_hat, probs)`` to ``J``, ``p_hat`` the model's bin
        probabilities of ``x_i`` on ``edges`` estimated from the chains and
        ``Phi`` a (generalised) KL divergence or half a squared distance.
        Its gradient comes from the same covariance estimator (the bins are
        indicator features whose residual is ``strength * dPhi/dp_hat``).
        With ``kind="kl"`` ``p_hat`` is floored at ``0.5 / n_chains``.

    Attributes
    ----------
    params_ : ndarray or pytree of ndarray
        Fitted energy parameters (``coef_`` for the linear energy).
    coef_ : ndarray of shape (n_features_out,)
        Natural parameters, ``E(x) = -coef_ · f(x)`` (linear energy only).
    energy_model_ : Linear, MLP or energy object
        The energy; an MLP carries the fitted box, so that
        ``energy_model_(params_, x)`` is ``energy(x)`` for one point.
    bounds_ : ndarray of shape (n_features_in_, 2)
        The box.
    moments_ : ndarray of shape (n_features_out,)
        The targets.
    n_features_in_ : int
        Number of variables.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a DataFrame ``X``.
    n_iter_ : int
        Iterations run.
    converged_ : bool
        Whether the convergence rule (see ``tol``) held.
    moment_error_ : float
        The last window's ``max_k |e_k|``.
    step_size_ : float
        HMC step size at the end of the fit.
    chains_ : ndarray of shape (n_chains, n_features_in_)
        Persistent chain positions in user units.
    log_partition_ : float
        Annealed-importance-sampling estimate of
        ``log ∫_[0,1]^n exp(-E(x(u))) du``.
    log_partition_std_ : float
        Its standard error.
    history_ : dict of ndarray
        Per iteration: ``"moment_error"`` (``max_k`` of the standardised
        residual), ``"smm_loss"`` (``J`` with its penalties),
        ``"acceptance"``, ``"step_size"``, ``"phase"`` (``"verify"`` at a
        fixed score-matching start, ``"learn"``, ``"average"``).
    init_ : str
        The start used: ``"score_matching"``, ``"zero"`` or ``"energy"`` (the
        energy's own ``init``).

    See Also
    --------
    MaxEntDual : the maximum-entropy fit of the linear energy by its dual.

    Examples
    --------
    >>> from skmaxent import MomentMatchingEBM
    >>> model = MomentMatchingEBM("linear", bounds=[[0, 1]], n_chains=128,
    ...                           random_state=0)
    >>> model = model.fit(moments=[0.3])
    >>> bool(model.coef_[0] < 0)
    True
    >>> model.sample(5, random_state=0).shape
    (5, 1)
    """

    _parameter_constraints: dict = {
        **_BaseEBM._parameter_constraints,
        "energy_model": [StrOptions({"linear"}), Linear, HasMethods(["init"])],
        "n_chains": [Interval(Integral, 4, None, closed="left")],
        "marginal_priors": [None, list, tuple],
    }

    def __init__(
        self,
        features="quadratic",
        *,
        energy_model="linear",
        bounds=None,
        alpha=0.0,
        roughness=0.0,
        n_chains=512,
        n_leapfrog=5,
        step_size="auto",
        learning_rate=0.02,
        max_iter=1000,
        tol=1e-3,
        warm_start=False,
        init="auto",
        random_state=None,
        verbose=0,
        marginal_priors=None,
    ):
        self.features = features
        self.energy_model = energy_model
        self.bounds = bounds
        self.alpha = alpha
        self.roughness = roughness
        self.n_chains = n_chains
        self.n_leapfrog = n_leapfrog
        self.step_size = step_size
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.init = init
        self.random_state = random_state
        self.verbose = verbose
        self.marginal_priors = marginal_priors

    # ------------------------------------------------------------------ fit
    def _energy(self, key, n, bounds):
        """(public energy, energy for the core or None, initial theta or None)."""
        energy = self.energy_model
        if isinstance(energy, str) or isinstance(energy, Linear):
            return Linear(), None, None
        if isinstance(energy, MLP):
            box = tuple(map(tuple, bounds.tolist()))
            public, core = (dataclasses.replace(energy, bounds=b) for b in (box, None))
        else:
            public = core = energy
        params = check_energy(public, key, n, bounds)
        theta, flat = train_smm.flatten(core, params)
        return public, flat, theta

    def _fit(self, X, moments, sample_weight):
        fm, bounds, mu, X, sample_weight = self._validate_data(
            X, moments, sample_weight
        )
        priors = check_marginal_priors(self.marginal_priors, bounds)
        linear = isinstance(self.energy_model, str | Linear)
        if self.roughness > 0 and not linear:
            raise ValueError(
                f"roughness={self.roughness} applies to energy_model='linear' only; "
                "use alpha (an L2 penalty on the parameters) for other energies."
            )
        key = _key_from_random_state(self.random_state)
        key, k_params, k_init, k_ais = jax.random.split(key, 4)
        n, p = fm.n_features_in, fm.n_features_out
        public, energy, theta0 = self._energy(k_params, n, bounds)
        low, high = _f32(bounds[:, 0]), _f32(bounds[:, 1])
        width = bounds[:, 1] - bounds[:, 0]
        # Polynomial features are matched in coordinates centred on the box
        # (same family, far better conditioned; see skmaxent._centring).
        sh = shift_map(fm.specs, bounds)
        centred = bounds - sh.c[:, None]
        mean, std = fm.uniform_moments(centred[:, 0], centred[:, 1])
        warm = self.warm_start and self.__sklearn_is_fitted__()
        if warm and (
            self._fm != fm
            or self._core_energy != energy
            or self.chains_.shape[0] != self.n_chains
        ):
            raise ValueError(
                "warm_start=True needs the same features, energy_model, number of "
                "variables and n_chains as the previous fit; refit with "
                "warm_start=False."
            )
        step0 = INITIAL_STEP_SIZE if self.step_size == "auto" else float(self.step_size)
        if warm:
            theta0 = self._theta
            if linear:
                theta0 = scipy.sparse.linalg.spsolve(sh.T.T.tocsc(), self.coef_) * std
            pos0 = np.clip((self.chains_ - bounds[:, 0]) / width, 0.0, 1.0)
            step0 = self.step_size_
        else:
            theta0 = np.zeros(p) if linear else theta0
            pos0 = jax.random.uniform(k_init, (self.n_chains, n))
        used = "zero" if linear else "energy"
        strengths = [prior.strength for prior in priors]
        penalised = self.alpha > 0 or self.roughness > 0 or any(strengths)
        if self.init == "score_matching" and not linear:
            raise ValueError(
                "init='score_matching' applies to energy_model='linear' only; use "
                "init='auto' or 'zero' with other energies."
            )
        start = None
        if (
            not warm
            and linear
            and X is not None
            and fm.differentiable
            and self.init != "zero"
            and (self.init == "score_matching" or not penalised)
        ):
            rng = np.random.default_rng(np.asarray(jax.random.key_data(k_init)))
            user_std = fm.uniform_moments(bounds[:, 0], bounds[:, 1])[1]
            start, rows = data_start(
                fm, X, sample_weight, bounds, user_std, self.init, self.n_chains, rng
            )
        if start is not None:
            coef0 = start / user_std
            theta0 = scipy.sparse.linalg.spsolve(sh.T.T.tocsc(), coef0) * std
            pos0 = (rows - bounds[:, 0]) / width
            used = "score_matching"
        if self.roughness > 0:
            rows, cols, vals = roughness_entries(fm.specs, centred[:, 0], centred[:, 1])
        else:
            rows = cols = np.zeros(0, np.int32)
            vals = np.zeros(0)
        verify = start is not None and not penalised
        hyper = train_smm.SMMHyper(
            nu=_f32((sh.T @ mu + sh.t - mean) / std),
            mean=_f32(mean),
            std=_f32(std),
            low=low,
            high=high,
            shift=_f32(sh.c),
            t_rows=sh.rows,
            t_cols=sh.cols,
            t_vals=_f32(sh.vals),
            inv_rows=sh.inv[0],
            inv_cols=sh.inv[1],
            inv_vals=_f32(sh.inv[2]),
            user_std=_f32(fm.uniform_moments(bounds[:, 0], bounds[:, 1])[1]),
            alpha=np.float32(self.alpha),
            roughness=np.float32(self.roughness),
            rough_rows=np.asarray(rows, np.int32),
            rough_cols=np.asarray(cols, np.int32),
            rough_vals=_f32(vals),
            **prior_fields(priors, self.n_chains),
            learning_rate=np.float32(self.learning_rate),
            max_norm=np.float32(MAX_GRAD_NORM),
            target_accept=np.float32(0.8),
            adapt=np.asarray(self.step_size == "auto"),
            learn=np.asarray(True),
            average=np.asarray(False),
            max_iter=np.int32(self.max_iter),
        )
        config = train_smm.SMMConfig(n_leapfrog=int(self.n_leapfrog))
        state = train_smm.start(
            key,
            _f32(theta0),
            _f32(pos0),
            np.float32(step0),
            hyper.std,
            low,
            high,
            hyper.shift,
            fm,
            energy,
        )
        state, history, converged, error = _smm_loop.run(
            self, state, hyper, fm, energy, config, penalised, verify=verify
        )
        n_avg = float(state.n_avg)
        theta = np.asarray(state.theta_sum if n_avg > 0 else state.theta, np.float64)
        theta = theta / max(n_avg, 1.0)
        # The linear energy in user units: coef = Tᵀ (theta / std).
        coef = sh.T.T @ (theta / std) if linear else None
        info = train_smm.log_partition(
            k_ais,
            _f32(coef if linear else theta),
            np.ones_like(hyper.std) if linear else hyper.std,
            low,
            high,
            state.step_size,
            fm,
            energy,
            AIS_PARTICLES,
            AIS_TEMPERATURES,
            int(self.n_leapfrog),
        )
        log_z, log_z_std = float(info.log_z), float(info.log_z_std)
        if not (np.all(np.isfinite(theta)) and np.isfinite(log_z)):
            raise RuntimeError(
                "The fit diverged: non-finite parameters or log-partition after "
                f"{int(state.iteration)} iterations. Try a smaller learning_rate "
                "or alpha > 0."
            )

        self._fm = fm
        self._core_energy = energy
        self._theta = theta
        self.energy_model_ = public
        if linear:
            self.coef_ = coef
            self.params_ = coef
        else:
            self.params_ = jax.tree.map(np.asarray, energy.unravel(_f32(theta)))
            if hasattr(self, "coef_"):
                del self.coef_
        self.bounds_ = bounds
        self.moments_ = np.asarray(mu, dtype=np.float64)
        self.n_iter_ = int(state.iteration)
        self.converged_ = bool(converged)
        self.moment_error_ = float(error)
        self.step_size_ = float(state.step_size)
        self.chains_ = (
            bounds[:, 0] + np.asarray(state.chains.position, np.float64) * width
        )
        self.log_partition_ = log_z
        self.log_partition_std_ = log_z_std
        self.history_ = history
        self.init_ = used
        if not converged:
            warnings.warn(
                f"MomentMatchingEBM did not meet tol={self.tol} in "
                f"max_iter={self.max_iter} iterations (last window's standardised "
                f"moment error {error:.3g}). Increase max_iter or n_chains, or "
                "raise tol or learning_rate.",
                ConvergenceWarning,
                stacklevel=3,
            )

    # ------------------------------------------------------------ inference
    def _core_args(self):
        """(theta, std, low, high) for the core's post-fit functions.

        The linear energy is evaluated in user-unit features: ``theta =
        coef_``, ``std = 1``.
        """
        low, high = self._box()
        if self._core_energy is None:
            return _f32(self.coef_), np.ones_like(_f32(self.coef_)), low, high
        return _f32(self._theta), np.ones(1, np.float32), low, high

    def energy(self, X):
        """Unnormalised energies ``E(x)`` (``-coef_ · f(x)`` for the linear energy).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)

        Returns
        -------
        energy : ndarray of shape (n_samples,)
        """
        if getattr(self, "_core_energy", None) is None:
            return super().energy(X)
        X = self._check_X(X)
        theta, std, low, high = self._core_args()
        out = np.empty(X.shape[0])
        for start in range(0, X.shape[0], ROW_BLOCK):
            block = _f32(X[start : start + ROW_BLOCK])
            padded = np.zeros((ROW_BLOCK, X.shape[1]), np.float32)
            padded[: len(block)] = block
            E = train_smm.energies(
                padded, theta, std, low, high, self._fm, self._core_energy
            )
            out[start : start + len(block)] = np.asarray(E, np.float64)[: len(block)]
        return out

    def score_samples(self, X):
        """Log-density of each row of ``X`` in user units (``-inf`` outside the box).

        ``log p(x) = -E(x) - log_partition_ - sum(log(hi - lo))``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        if getattr(self, "_core_energy", None) is None:
            return super().score_samples(X)
        X = self._check_X(X)
        log_volume = float(np.sum(np.log(self.bounds_[:, 1] - self.bounds_[:, 0])))
        out = -self.energy(X) - self.log_partition_ - log_volume
        inside = np.all((X >= self.bounds_[:, 0]) & (X <= self.bounds_[:, 1]), axis=1)
        return np.where(inside, out, -np.inf)

    def sample(self, n_samples=1, random_state=None):
        """Draw samples from the fitted model by continuing copies of the chains.

        The estimator is not changed.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : None, int or RandomState, default=None

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"n_samples must be a positive integer; got {n_samples!r}."
            )
        key = _key_from_random_state(random_state)
        theta, std, low, high = self._core_args()
        width = self.bounds_[:, 1] - self.bounds_[:, 0]
        pos = _f32(np.clip((self.chains_ - self.bounds_[:, 0]) / width, 0.0, 1.0))
        chains = train_smm.init_chains(
            theta, std, low, high, pos, fm=self._fm, energy=self._core_energy
        )
        C = pos.shape[0]
        rounds = 2 ** math.ceil(math.log2(max(1, -(-n_samples // C))))
        _, positions = train_smm.advance(
            key,
            chains,
            theta,
            std,
            low,
            high,
            jnp.float32(self.step_size_),
            self._fm,
            self._core_energy,
            int(self.n_leapfrog),
            SAMPLE_BURN_IN + SAMPLE_THIN * rounds,
        )
        kept = positions[SAMPLE_BURN_IN + SAMPLE_THIN - 1 :: SAMPLE_THIN]
        U = np.asarray(kept, dtype=np.float64).reshape(-1, pos.shape[1])[:n_samples]
        return self.bounds_[:, 0] + U * width
