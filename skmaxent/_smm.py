"""MomentMatchingEBM: an energy-based model whose feature means match targets."""

from numbers import Integral

from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from skmaxent._base import _BaseEBM
from skmaxent._fit.moments import moment_matching_plan
from skmaxent._fit.plan import Plan
from skmaxent._fit.random import keys_from_random_state
from skmaxent.energies import Linear
from skmaxent.priors import check_marginal_priors


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
        HMC step size on the unit box; ``"auto"`` tracks the median chain's
        acceptance towards 0.8 until the fit has converged.
    learning_rate : float, default=0.02
        Adam's learning rate, on standardised parameters ``coef * s`` for the
        linear energy. Gradients are first clipped to a global norm of 1.
    max_iter : int, default=1000
        Maximum iterations (one HMC transition per chain and one Adam step).
    tol : float, default=1e-3
        Tolerance of the convergence rule, checked on windows of 50
        iterations: without a penalty, :class:`MaxEntDual`'s rule on the
        standardised moment error; with ``alpha``, ``roughness`` or a prior,
        the same test on the gradient of ``J`` over the last 4 windows. The
        iterates are then averaged.
    warm_start : bool, default=False
        Continue from the previous fit's ``params_`` and ``chains_`` (Adam
        restarts).
    init : {"auto", "score_matching", "zero"}, default="auto"
        Starting parameters of the linear energy fitted from ``X``.
        ``"score_matching"``: one linear solve of the score-matching
        equations (as in :class:`MaxEntDual`), verified on chains for one
        window. ``"auto"`` uses it when it applies (the linear energy,
        features differentiable in ``x``, no penalty or prior);
        ``"zero"`` starts from ``coef = 0``. Other energies start from their
        ``init``.
    devices : int or None, default=None
        JAX devices the chains are sharded over, as in :class:`MaxEntDual`.
    random_state : int, RandomState instance or None, default=None
        Seeds the parameters' initialisation, the chains and the sampler.
    verbose : int, default=0
        Show a progress bar with the moment error when positive.
    marginal_priors : list of MarginalPrior or None, default=None
        Extension of the contract: each
        ``MarginalPrior(i, edges, probs, strength, kind)`` adds
        ``strength * Phi(p_hat, probs)`` to ``J``, ``p_hat`` the model's bin
        probabilities of ``x_i`` on ``edges`` and ``Phi`` a divergence from
        ``probs``.

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
        Whether the convergence rule (see ``tol``) held and the ``log Z``
        run found the model's mass where the chains are.
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

    #: A box only: the centring map, the neural energies and the zero start
    #: assume finite bounds (``bounds=None``: the data's range widened by 5%).
    _open_supports = False

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
        devices=None,
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
        self.devices = devices
        self.random_state = random_state
        self.verbose = verbose
        self.marginal_priors = marginal_priors

    # ------------------------------------------------------------------ fit
    def _plan(self, inputs, settings) -> Plan:
        priors = check_marginal_priors(self.marginal_priors, inputs.bounds)
        keys = keys_from_random_state(self.random_state, 4)
        strong = any(q.strength for q in priors)
        penalised = self.alpha > 0 or self.roughness > 0 or strong
        plan, _ = moment_matching_plan(
            self,
            inputs,
            settings,
            keys=keys,
            penalised=penalised,
            rate=self.learning_rate,
            priors=priors,
        )
        return plan
