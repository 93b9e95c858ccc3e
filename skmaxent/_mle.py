"""MaxLikelihoodEBM: an energy-based model fitted by maximum likelihood on chains."""

from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from skmaxent._base import _BaseEBM
from skmaxent._fit.likelihood import (
    AUTO_RATE,
    EarlyStop,
    check_validation,
    split,
    training_data,
    widen,
)
from skmaxent._fit.moments import check_energy_model, moment_matching_plan
from skmaxent._fit.plan import Plan
from skmaxent._fit.random import keys_from_random_state
from skmaxent._fit.train import Rule
from skmaxent._inputs.data import feature_means
from skmaxent._inputs.support import box_geometry
from skmaxent.core.energy import Linear as LinearEnergy
from skmaxent.core.energy import to_unit
from skmaxent.core.training.mle import MLE
from skmaxent.energies import Linear

__all__ = ["MaxLikelihoodEBM"]


class MaxLikelihoodEBM(_BaseEBM):
    """Energy-based model on a box fitted by maximum likelihood.

    The model is ``p(x) = exp(-E(x)) / Z`` on the box ``B = prod_i [lo_i,
    hi_i]`` for any differentiable energy ``E`` with parameters ``params_``:
    linear in them (``E = -coef_ · f(x)``, the family of :class:`MaxEntDual`),
    a neural network (:class:`skmaxent.energies.MLP`) or your own function.
    The fit minimises the negative log-likelihood of ``X``,
    ``mean_data E + log Z``, plus penalties, by Adam on its gradient

    ``E_data[grad_params E] - E_model[grad_params E]``

    with the model's expectation over persistent reflective-HMC chains
    (persistent contrastive divergence) and the data's over a minibatch of
    ``batch_size`` rows per iteration (the exact feature means for the
    linear energy, whose fit is then :class:`MaxEntDual`'s: the same
    optimum, reached by Adam instead of natural-gradient steps). Gradients
    are clipped to a global norm of 1 before Adam.

    Read more in the user guide, ``docs/max_likelihood_ebm.md``.

    Parameters
    ----------
    features : {"linear", "quadratic"} or sequence of feature specs, default="quadratic"
        The features ``f`` of the linear energy; for other energies, the
        features whose moment error is reported in ``history_`` and returned
        by ``transform``.
    energy_model : "linear", Linear, MLP or energy object, default="linear"
        ``"linear"`` is ``E = -coef·f``. Any object with ``init(key,
        n_features_in) -> params`` (a pytree of arrays) and
        ``__call__(params, x) -> scalar`` (one point, user units) is
        accepted; see :mod:`skmaxent.energies`.
    bounds : array-like of shape (n_features_in_, 2), default=None
        The box (finite). ``None`` infers it from ``X``: the range of each
        column widened by 50% of it on each side, so that held-out rows
        beyond the training rows' range (cross-validation, a ``Pipeline``
        with a scaler) keep a finite log-density.
    alpha : float, default=0.0
        Weight decay: the L2 penalty ``alpha/2 |params|^2`` (on standardised
        coefficients ``coef * s`` for the linear energy).
    roughness : float, default=0.0
        Roughness penalty ``roughness/2 coef·R·coef`` (linear energy only).
    energy_penalty : float, default=0.0
        ``energy_penalty * (mean_data E^2 + mean_chains E^2)``, the chain
        samples held fixed (Du & Mordatch, 2019): keeps the energy's
        magnitude, and so the sampler's job, bounded. For the linear energy
        ``E`` is taken in standardised features (zero mean under the uniform
        distribution on the box). Values around 1e-3 to 1e-1 suit neural
        energies.
    batch_size : int, default=256
        Data rows drawn (with replacement, by weight) per iteration for the
        data term of a non-linear energy.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows of ``X`` and stop when
        their generalised score-matching loss (see Notes) has not improved
        for ``n_iter_no_change`` windows of 50 iterations; the fit is then
        the best window's mean iterate. Meant for small data sets and large
        networks.
    validation_fraction : float, default=0.1
        Fraction of the rows held out for early stopping.
    n_iter_no_change : int, default=10
        Windows without improvement of the held-out loss before stopping.
    n_chains : int, default=512
        Persistent HMC chains.
    n_leapfrog : int, default=5
        Leapfrog steps per HMC transition.
    step_size : "auto" or float, default="auto"
        HMC step size on the unit box; ``"auto"`` tracks the median chain's
        acceptance towards 0.8 until the fit has converged.
    learning_rate : "auto" or float, default="auto"
        Adam's learning rate; ``"auto"`` is 0.02 for the linear energy (on
        standardised coefficients) and 0.01 for other energies.
    max_iter : int, default=3000
        Maximum iterations (one HMC transition per chain and one Adam step).
    tol : float, default=1e-3
        Tolerance of the convergence rule, checked on windows of 50
        iterations: for the linear energy :class:`MaxEntDual`'s rule on the
        penalised gradient in standardised features; for other energies the
        same test on the penalised gradient over the last 16 windows. The
        iterates are then averaged.
    warm_start : bool, default=False
        Continue from the previous fit's ``params_`` and ``chains_``.
    init : {"auto", "score_matching", "zero"}, default="auto"
        Start of the linear energy: the generalised score-matching solution
        of :class:`MaxEntDual` (``"auto"``: when the features are
        differentiable), also with penalties; without them it is verified
        for one window at fixed parameters (if the rule holds there, it is
        the fit). ``"zero"`` starts at the uniform distribution. Other
        energies start from their ``init``.
    devices : int or None, default=None
        JAX devices the chains are sharded over.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the held-out split, the minibatches, the
        chains and the sampler.
    verbose : int, default=0
        Show a progress bar when positive.

    Attributes
    ----------
    params_ : ndarray or pytree of ndarray
        Fitted energy parameters (``coef_`` for the linear energy).
    coef_ : ndarray of shape (n_features_out,)
        Natural parameters, ``E(x) = -coef_ · f(x)`` (linear energy only).
    energy_model_ : Linear, MLP or energy object
        The energy; an MLP carries the fitted box.
    bounds_ : ndarray of shape (n_features_in_, 2)
        The box.
    moments_ : ndarray of shape (n_features_out,)
        Feature means of the training rows.
    n_features_in_ : int
        Number of variables.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a DataFrame ``X``.
    n_iter_ : int
        Iterations run.
    converged_ : bool
        Whether the convergence rule (see ``tol``) held or early stopping
        ended the fit, and the ``log Z`` run found the model's mass where the
        chains are (after they ran at the returned parameters, where those
        are an average or the best window).
    stopped_early_ : bool
        Whether early stopping ended the fit.
    validation_loss_ : ndarray of shape (n_windows,)
        The held-out loss after each learning window (empty without early
        stopping).
    moment_error_ : float
        The last window's ``max_k |e_k|`` (penalised gradient for the linear
        energy, standardised moment error otherwise).
    step_size_ : float
        HMC step size at the end of the fit.
    chains_ : ndarray of shape (n_chains, n_features_in_)
        Persistent chain positions in user units.
    log_partition_ : float
        Annealed-importance-sampling estimate of ``log Z`` in user units, so
        that ``score_samples(x) = -energy(x) - log_partition_`` in the box.
    log_partition_std_ : float
        Its standard error.
    history_ : dict of ndarray
        Per iteration: ``"moment_error"``, ``"energy_gap"`` (the minibatch's
        mean energy minus the chains': zero at the optimum of an energy
        without a constant term), ``"acceptance"``, ``"step_size"``,
        ``"phase"``.
    init_ : str
        The start used: ``"score_matching"``, ``"zero"`` or ``"energy"``.

    See Also
    --------
    MaxEntDual : the maximum-entropy fit of the linear energy by its dual.
    MomentMatchingEBM : any energy fitted to match feature moments.

    Notes
    -----
    Early stopping needs a criterion that does not involve ``log Z``, which
    only AIS can estimate. The held-out rows' generalised (box-weighted)
    Hyvärinen score, ``mean_i sum_j [1/2 h_j (d_j E)^2 - h_j' d_j E - h_j
    d_j^2 E]`` with ``h_j = (x_j - lo_j)(hi_j - x_j)`` (Yu, Drton & Shojaie,
    2022), is a proper scoring rule: in expectation it is smallest at the
    data's own density, so it rises when the energy starts to fit the
    training rows' noise. The held-out mean energy alone would not do: it
    moves with the unknown ``log Z``.

    References
    ----------
    Tieleman, "Training restricted Boltzmann machines using approximations
    to the likelihood gradient", ICML 2008. Du & Mordatch, "Implicit
    generation and generalization in energy-based models", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from skmaxent import MaxLikelihoodEBM
    >>> X = np.random.default_rng(0).beta(2.0, 5.0, size=(500, 1))
    >>> model = MaxLikelihoodEBM("linear", bounds=[[0, 1]], n_chains=128,
    ...                          random_state=0).fit(X)
    >>> bool(model.coef_[0] < 0)
    True
    >>> model.sample(5, random_state=0).shape
    (5, 1)
    """

    #: A box only (``bounds=None``: the data's range widened by 50%).
    _open_supports = False
    #: The batch-means gradient rule over 16 windows (see ``tol``) where the
    #: settings leave ``n_windows=None`` (:class:`skmaxent.Settings`).
    _default_n_windows = 16

    _parameter_constraints: dict = {
        **_BaseEBM._parameter_constraints,
        "energy_model": [StrOptions({"linear"}), Linear, HasMethods(["init"])],
        "energy_penalty": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "learning_rate": [
            StrOptions({"auto"}),
            Interval(Real, 0, None, closed="neither"),
        ],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        features="quadratic",
        *,
        energy_model="linear",
        bounds=None,
        alpha=0.0,
        roughness=0.0,
        energy_penalty=0.0,
        batch_size=256,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        n_chains=512,
        n_leapfrog=5,
        step_size="auto",
        learning_rate="auto",
        max_iter=3000,
        tol=1e-3,
        warm_start=False,
        init="auto",
        devices=None,
        random_state=None,
        verbose=0,
    ):
        self.features = features
        self.energy_model = energy_model
        self.bounds = bounds
        self.alpha = alpha
        self.roughness = roughness
        self.energy_penalty = energy_penalty
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.n_chains = n_chains
        self.n_leapfrog = n_leapfrog
        self.step_size = step_size
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.init = init
        self.devices = devices
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X=None, y=None, *, sample_weight=None, moments=None):
        """Fit the model to data ``X`` by maximum likelihood.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features_in_)
            Data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows of ``X``.
        moments : None
            Not accepted: a likelihood needs data (use :class:`MaxEntDual`
            or :class:`MomentMatchingEBM` to fit target moments).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if moments is not None:
            raise ValueError(
                "MaxLikelihoodEBM fits data X only; got moments=... Use MaxEntDual "
                "or MomentMatchingEBM to fit target moments."
            )
        if X is None:
            raise ValueError(
                "MaxLikelihoodEBM.fit needs data X of shape (n_samples, "
                "n_features); got X=None."
            )
        return super().fit(X, y, sample_weight=sample_weight)

    def _plan(self, inputs, settings) -> Plan:
        """Moment matching's plan (:func:`skmaxent._fit.moments.moment_matching_plan`)
        on the training rows, with the likelihood's objective, data, rule and
        early stopping."""
        s, fm = settings, inputs.fm
        if self.bounds is None:  # held-out rows beyond the data's range stay in
            wide = widen(inputs.bounds)
            inputs = inputs._replace(bounds=wide, box=wide)
        linear = check_energy_model(self.energy_model, self.roughness, self.init)
        early, fraction = bool(self.early_stopping), self.validation_fraction
        check_validation(early, fraction, int(np.sum(inputs.weights > 0)))
        keys = keys_from_random_state(self.random_state, 6)
        key, k_params, k_init, k_ais, k_split, k_batch = keys
        X, w, X_val, w_val = split(inputs.X, inputs.weights, early, fraction, k_split)
        mu = feature_means(fm, X, w, inputs.box, s.row_block)
        inputs = inputs._replace(X=X, weights=w, mu=mu)
        rate = self.learning_rate
        rate = AUTO_RATE[linear] if rate == "auto" else rate
        # The score-matching start also when penalised (close to the optimum
        # for small penalties; it is verified only without them).
        plan, cent = moment_matching_plan(
            self,
            inputs,
            s,
            keys=(key, k_params, k_init, k_ais),
            penalised=False,
            rate=rate,
        )
        penalised = self.alpha > 0 or self.roughness > 0 or self.energy_penalty > 0
        data = training_data(
            fm, X, w, inputs.box, cent, linear, self.energy_penalty, k_batch
        )
        problem = plan.problem._replace(own=data)
        energy = plan.objective.energy
        stop = None
        if early:
            U_val = to_unit(box_geometry(inputs.box), X_val)
            stop = EarlyStop(energy, problem.geo, U_val, w_val, self.n_iter_no_change)
        return plan._replace(
            objective=MLE(energy, LinearEnergy(fm), int(self.batch_size)),
            problem=problem,
            rule=Rule() if linear else Rule("gradient", "batch"),
            verify=plan.start.init == "score_matching" and not penalised,
            loss="energy_gap",
            stop=stop,
            finish=partial(_stopped, plan.finish, stop),
        )


def _stopped(finish, stop, result):
    """Moment matching's ``finish`` of ``result`` as early stopping left it:
    the best window's parameters where it stopped the fit, converged where
    it did, and the attributes of early stopping."""
    if stop is not None and stop.best is not None and not result.converged:
        result = result._replace(theta=np.asarray(stop.best, np.float64))
    result = result._replace(converged=result.converged or result.stopped)
    fitted = finish(result)
    scores = [] if stop is None else stop.scores
    extra = {
        "stopped_early_": bool(result.stopped),
        "validation_loss_": np.asarray(scores),
    }
    return fitted._replace(attributes=fitted.attributes | extra)
