"""MaxEntDual: the maximum-entropy distribution with given feature means."""

from functools import partial

import jax
import numpy as np

from skmaxent._base import _BaseEBM
from skmaxent._fit.plan import Fitted, Plan, Start
from skmaxent._fit.random import keys_from_random_state
from skmaxent._fit.starts import data_start, gaussian_start
from skmaxent._fit.train import Rule
from skmaxent._inputs.arrays import f32 as _f32
from skmaxent._inputs.support import box_geometry, confinement, reference_coef, walls_of
from skmaxent.core.energy import Geometry, Linear, to_unit, unit_geometry
from skmaxent.core.features.blocks import quadratic_block
from skmaxent.core.features.roughness import roughness_entries
from skmaxent.core.training import penalties
from skmaxent.core.training.dual import Dual, DualParams, n_groups
from skmaxent.core.training.gaussian_metric import GaussianMove
from skmaxent.core.training.problem import Problem, identity_report
from skmaxent.priors import check_marginal_priors, prior_fields


class MaxEntDual(_BaseEBM):
    """Maximum-entropy distribution whose feature expectations match targets.

    The model is the exponential family ``p(x) = exp(coef_ · f(x)) / Z`` on
    the support ``B = prod_i [lo_i, hi_i]`` (a box, or open on some sides):
    among all densities on ``B`` whose feature expectations equal the
    targets (the feature means of ``X``, or ``moments``), it is the one of
    largest entropy. It is fitted by stochastic ascent on the penalised dual
    ``coef·mu - log Z(coef) - alpha/2 |coef|^2 - roughness/2 coef·R·coef``,
    with the expectations ``E[f]`` estimated from
    persistent reflective-HMC chains, and ``log Z`` by annealed importance
    sampling so that :meth:`score` is a real log-likelihood.

    Read more in the user guide, ``docs/maxent_dual.md``.

    Parameters
    ----------
    features : {"linear", "quadratic"} or sequence of feature specs, default="quadratic"
        The features ``f``: a preset or specs from :mod:`skmaxent.features`
        (``Moment``, ``Product``, ``Indicator``, ``Legendre``, ``Custom``).
    bounds : array-like of shape (n_features_in_, 2), default=None
        The support, one ``(lo, hi)`` row per variable; ``lo`` may be
        ``-inf`` and ``hi`` ``+inf``. On an open side the features must give
        a density (a ``ValueError`` says what is missing). ``None`` with
        ``X``: every variable whose features allow it is unbounded, the
        others get the data's range widened by 5%. Required with ``moments``.
    alpha : float, default=0.0
        L2 penalty on ``coef_``.
    roughness : float, default=0.0
        Strength of the roughness penalty ``coef·R·coef`` with
        ``R_kl`` the box average of ``<Hess f_k, Hess f_l>``.
    n_chains : int, default=512
        Persistent HMC chains.
    n_leapfrog : int, default=5
        Leapfrog steps per HMC transition.
    step_size : "auto" or float, default="auto"
        HMC step size in the chains' unit coordinates (the box mapped to
        ``[0, 1]^n``); ``"auto"`` tracks an acceptance rate of 0.8 while the
        fit learns.
    learning_rate : float, default=0.05
        Scale of the damped natural-gradient (Newton) step on the dual in
        standardised coordinates. Much larger values (0.2) can drift on
        strongly correlated targets.
    max_iter : int, default=2000
        Maximum number of iterations (one HMC transition of every chain and
        one parameter step each).
    tol : float, default=1e-3
        Tolerance on the standardised moment error
        ``max_k |E[f_k] - mu_k| / s_k`` (``s_k`` the sd of ``f_k`` under the
        uniform distribution on the box): the fit has converged when, on a
        window of 50 iterations, that error is indistinguishable from one
        below ``tol`` given its Monte Carlo error; the iterates are then
        averaged.
    warm_start : bool, default=False
        Continue from the previous fit's ``coef_`` and ``chains_``.
    init : {"auto", "score_matching", "zero"}, default="auto"
        Starting parameters. ``"score_matching"``: one linear solve of the
        score-matching equations from ``X`` (features differentiable in
        ``x``), verified on chains for one window. ``"zero"``: the uniform
        distribution (on an open axis, a reference density). ``"auto"``:
        score matching when it applies, the Gaussian of the targets for
        ``fit(moments=...)`` with the ``"quadratic"`` preset, else zero; a
        fit from such a start that the ``log Z`` run flags is refitted from
        zero.
    devices : int or None, default=None
        JAX devices the chains are sharded over. ``None`` uses all devices
        when there are several and they divide ``n_chains``, else one; an
        int asks for exactly that many (``n_chains`` must be a multiple).
    random_state : int, RandomState instance or None, default=None
        Seeds the chains, the annealed importance sampler and the fit.
    verbose : int, default=0
        Show a progress bar with the moment error when positive.
    marginal_priors : list of MarginalPrior or None, default=None
        Extension of the contract: each
        ``MarginalPrior(i, edges, probs, strength, kind)`` subtracts
        ``strength * Phi(p_hat, probs)`` from the dual, ``p_hat`` the model's
        bin probabilities of ``x_i`` on ``edges`` and ``Phi`` a divergence
        from ``probs``. Needs ``n_chains >= 4``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features_out,)
        Natural parameters: ``E(x) = -coef_ · f(x)``.
    bounds_ : ndarray of shape (n_features_in_, 2)
        The support (``±inf`` on open sides).
    moments_ : ndarray of shape (n_features_out,)
        The targets.
    n_features_in_ : int
        Number of variables.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a DataFrame ``X``.
    n_iter_ : int
        Iterations run.
    converged_ : bool
        Whether the convergence rule (see ``tol``) held and the ``log Z``
        run found the model's mass where the chains are (see ``init``).
    moment_error_ : float
        The last window's ``max_k |e_k|``.
    step_size_ : float
        HMC step size at the end of the fit.
    chains_ : ndarray of shape (n_chains, n_features_in_)
        Persistent chain positions in user units.
    log_partition_ : float
        Annealed-importance-sampling estimate of ``log Z``, ``Z = ∫_B exp(-E(x))
        dx`` in user units, so that ``score_samples(x) = -energy(x) -
        log_partition_`` inside the box.
    log_partition_std_ : float
        Its standard error (AIS runs are pooled until it is at most 0.05
        nats; a larger one is warned about).
    history_ : dict of ndarray
        Per iteration: ``"moment_error"`` (the chains' ``max_k |e_k|``),
        ``"acceptance"``, ``"step_size"``, and ``"phase"`` (``"verify"`` at a
        fixed score-matching or Gaussian start, ``"learn"``, ``"average"``).
    init_ : str
        The start used: ``"score_matching"``, ``"gaussian"`` or ``"zero"``
        (also for a warm start, which continues the previous fit).

    See Also
    --------
    ScoreMatchingGaussian : a Gaussian fitted by score matching.

    References
    ----------
    E. T. Jaynes, "Information theory and statistical mechanics", Phys. Rev. 1957.

    Examples
    --------
    >>> from skmaxent import MaxEntDual
    >>> model = MaxEntDual("linear", bounds=[[0, 1]], n_chains=128, random_state=0)
    >>> model = model.fit(moments=[0.3])
    >>> bool(model.coef_[0] < 0)
    True
    >>> model.sample(5, random_state=0).shape
    (5, 1)
    """

    def __init__(
        self,
        features="quadratic",
        *,
        bounds=None,
        alpha=0.0,
        roughness=0.0,
        n_chains=512,
        n_leapfrog=5,
        step_size="auto",
        learning_rate=0.05,
        max_iter=2000,
        tol=1e-3,
        warm_start=False,
        init="auto",
        devices=None,
        random_state=None,
        verbose=0,
        marginal_priors=None,
    ):
        self.features = features
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
        self.devices = devices
        self.random_state = random_state
        self.verbose = verbose
        self.marginal_priors = marginal_priors

    def _start(self, inputs, std, warm, key, init, *, settings):
        """``(phi0, chain positions in unit coordinates, init used)`` for ``init``.

        The init used is ``"score_matching"``, ``"gaussian"`` or ``"zero"``
        (also for a warm start, which continues the previous fit). ``"zero"``
        is ``coef = 0`` on a box, and on an open axis the reference density
        of :func:`skmaxent._inputs.support.reference_coef`.
        """
        fm, bounds, box, X = inputs.fm, inputs.bounds, inputs.box, inputs.X
        if warm:
            return self.coef_ * std, self._warm_positions(bounds, box), "zero"
        rng = np.random.default_rng(np.asarray(jax.random.key_data(key)))
        if X is not None and fm.differentiable and init != "zero":
            phi, rows = data_start(
                fm,
                X,
                inputs.weights,
                box,
                std,
                init,
                self.n_chains,
                rng,
                max_features=settings.sm_max_features,
                walls=walls_of(bounds),
            )
            why = None if phi is None else confinement(fm.specs, phi / std, bounds)
            if why is not None and init == "score_matching":
                raise ValueError(
                    "init='score_matching': the score-matching solution is not a "
                    f"density on the open support ({why}); use init='auto' or "
                    "'zero'."
                )
            if phi is not None and why is None:
                return phi, to_unit(box_geometry(box), rows), "score_matching"
        elif X is None and init == "auto":
            gauss = gaussian_start(fm, inputs.mu, bounds)
            if gauss is not None:
                coef0, mean0, cov0 = gauss
                pos = rng.multivariate_normal(mean0, cov0, size=self.n_chains)
                pos = np.clip(pos, bounds[:, 0], bounds[:, 1])
                return coef0 * std, to_unit(box_geometry(box), pos), "gaussian"
        pos = jax.random.uniform(key, (self.n_chains, fm.n_features_in))
        coef0 = reference_coef(fm.specs, box, bounds)
        return coef0 * std, np.asarray(pos), "zero"

    def _matrix_free(self, p, settings) -> bool:
        """Whether the natural step is matrix-free (else a dense Fisher EMA):
        above ``dense_max_features`` or with as many features as chains,
        whose Fisher then has rank below ``p`` (``docs/decisions.md``)."""
        return p > settings.dense_max_features or p >= self.n_chains

    def _solver(self, fm, matrix_free, settings) -> str:
        """``"dense"``, ``"cg"``, or ``"gaussian"``: matrix-free with the
        Gaussian metric (:mod:`skmaxent.core.training.gaussian_metric`) on a complete
        quadratic block and fewer other features than half the chains."""
        if not matrix_free:
            return "dense"
        s, block = settings, quadratic_block(fm)
        if not s.gaussian_metric or block is None:
            return "cg"
        # The other features' Fisher is a dense moving average: few of them.
        others = fm.n_features_out - sum(map(len, block[:3]))
        small = others < self.n_chains // 2 and others <= s.dense_max_features
        return "gaussian" if small else "cg"

    def _problem(self, inputs, mean, std, priors, *, settings) -> Problem:
        s, fm, box, mu = settings, inputs.fm, inputs.box, inputs.mu
        p = fm.n_features_out
        low, high = (np.asarray(b, np.float32) for b in box.T)
        R = None
        if self.roughness > 0:
            R = roughness_entries(fm.specs, box[:, 0], box[:, 1])
        heavy = self._matrix_free(p, s)  # the matrix-free step's damping
        zeros, walls = np.zeros_like(low), walls_of(inputs.bounds)
        return Problem(
            geo=Geometry(low, high, zeros, _f32(mean), _f32(std), walls),
            nu=_f32((mu - mean) / std),
            penalty=penalties.build(1.0 / std, self.alpha, self.roughness, R),
            report=identity_report(p),
            learning_rate=np.float32(self.learning_rate),
            max_norm=np.float32(s.max_norm * np.sqrt(fm.n_features_in)),
            own=DualParams(
                np.float32(s.cg_damping if heavy else s.damping), np.float32(s.ema)
            ),
            target_accept=np.float32(s.target_accept),
            **prior_fields(priors, self.n_chains),
        )

    def _plan(self, inputs, settings) -> Plan:
        s, fm, box = settings, inputs.fm, inputs.box
        priors = check_marginal_priors(self.marginal_priors, inputs.bounds)
        if priors and self.n_chains < 4:
            raise ValueError(
                "marginal_priors need n_chains >= 4 (their gradient splits the "
                f"chains in two halves of at least 2); got n_chains={self.n_chains}."
            )
        mean, std = fm.uniform_moments(box[:, 0], box[:, 1])
        key, k_init, k_ais = keys_from_random_state(self.random_state, 3)
        warm = self._warm(fm)
        cg = self._matrix_free(fm.n_features_out, s)
        objective = Dual(Linear(fm), self._solver(fm, cg, s), s.cg_iter)
        kernel = self._kernel()  # the Gaussian metric's move too, where it serves
        if objective.solver == "gaussian":
            kernel = GaussianMove(kernel, fm)
        groups = n_groups(self.n_chains) if cg else None
        step = self.step_size_ if warm else self._initial_step_size(s)
        problem = self._problem(inputs, mean, std, priors, settings=s)

        def plan(init):
            phi0, pos0, used = self._start(inputs, std, warm, k_init, init, settings=s)
            # init="auto": a fit from a data or Gaussian start that diverged,
            # or whose model AIS finds away from its chains (a false start,
            # or learned from one), is refitted from zero.
            retry = init == "auto" and used != "zero"
            return Plan(
                inputs=inputs,
                objective=objective,
                problem=problem,
                kernel=kernel,
                start=Start(phi0, pos0, step, used),
                rule=Rule("residual", "batch" if priors else "chains", groups),
                keys=(key, k_ais),
                finish=partial(self._fitted, inputs, std, retry),
                verify=used in ("score_matching", "gaussian") and not priors,
                fallback=partial(plan, "zero") if retry else None,
            )

        return plan(self.init)

    def _fitted(self, inputs, std, retry, result) -> Fitted | None:
        """The fitted density ``exp(coef · f)``; None where it is none on the
        open support and the fit can be ``retry``-ed."""
        fm, bounds, box = inputs.fm, inputs.bounds, inputs.box
        coef = result.theta / std
        why = confinement(fm.specs, coef, bounds)
        if why is not None and not retry:
            raise RuntimeError(
                f"The fit diverged: after {result.state.iteration} iterations "
                f"exp(coef_ · f) is not a density on the open support ({why}). "
                "Try a smaller learning_rate, alpha > 0, or finite bounds."
            )
        if why is not None:
            return None
        p = fm.n_features_out
        geo = unit_geometry(box[:, 0], box[:, 1], p, walls_of(bounds))
        return Fitted(result, (Linear(fm), coef, geo), {"coef_": coef})
