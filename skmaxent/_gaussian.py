"""ScoreMatchingGaussian: a Gaussian fitted by Hyvärinen score matching.

For ``p(x) = N(x; mu, P^-1)`` the score is ``-P (x - mu)`` and its divergence
``-tr(P)``, so the score-matching loss on data with mean ``xbar`` and biased
covariance ``S`` is the quadratic ``1/2 tr(P S_mu P) - tr(P)``,
``S_mu = S + (xbar - mu)(xbar - mu)ᵀ``: it depends on the data only through
``(xbar, S)``, which are computed once. Three solvers share that reduction:

- closed form (``alpha == 0``): ``mu = xbar``, ``P = S^-1`` by a Cholesky solve,
  in NumPy float64;
- gradient: optax (clipped Adam) on the Cholesky parameters of ``P``, in JAX
  under one module-level ``jax.jit`` whose compiled code depends on shapes only;
- proximal (``alpha > 0``, ``solver="auto"``): accelerated proximal gradient
  (FISTA) on the symmetric ``P`` with a diagonal (Jacobi) metric, in NumPy.
"""

import warnings
from numbers import Integral, Real

import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy import linalg
from scipy.linalg import blas
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    DensityMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

#: Gradient-solver iterations per jitted call (the host checks between calls).
CHUNK = 250
#: Global-norm clip of the gradient-solver updates.
MAX_NORM = 10.0
#: A Cholesky pivot of the correlation matrix below this (the fraction of a
#: column's variance not explained by the previous columns) means ``S`` is
#: singular for our purposes.
PIVOT_TOL = 1e-12
#: Variance given to a constant column in the regularised sparse problem,
#: relative to the largest variance.
VARIANCE_FLOOR = 1e-6
#: The sparse precision's eigenvalues are kept at or above this fraction of
#: ``1 / lambda_max(S)``.
EIGEN_FLOOR = 1e-2


# --------------------------------------------------------------------------
# Moments and the closed form (NumPy, float64)
# --------------------------------------------------------------------------


def _moments(X, assume_centered):
    """Location and biased second moment about it, ``S = Xcᵀ Xc / n``.

    A constant column gets its exact value as location, so that its centred
    column is exactly zero. ``S`` is one symmetric rank-k update (BLAS syrk):
    half the flops of ``Xcᵀ @ Xc``.
    """
    n, d = X.shape
    if assume_centered:
        location = np.zeros(d)
        Xc = X
    else:
        location = X.mean(axis=0)
        constant = np.ptp(X, axis=0) == 0
        location[constant] = X[0, constant]
        Xc = X - location
    # Xc.T is Fortran-contiguous: syrk reads it without a copy.
    upper = blas.dsyrk(1.0 / n, Xc.T, lower=0)
    S = np.triu(upper) + np.triu(upper, 1).T
    return location, S


def _singular_reason(S):
    """Why ``S`` is (numerically) singular, or ``None`` if it is positive definite."""
    var = np.diag(S)
    constant = np.flatnonzero(var <= 0)
    if constant.size:
        return f"column(s) {constant.tolist()} of X are constant"
    s = np.sqrt(var)
    try:
        c = linalg.cholesky(S / np.outer(s, s), lower=True)
    except linalg.LinAlgError:
        return "some columns of X are linear combinations of others"
    if np.min(np.diag(c)) ** 2 <= PIVOT_TOL:
        return "some columns of X are linear combinations of others"
    return None


def _closed_form_precision(S):
    """``S^-1`` by a Cholesky solve: ``S = C Cᵀ``, then ``C Cᵀ P = I``."""
    c = linalg.cho_factor(S, lower=True)
    P = linalg.cho_solve(c, np.eye(S.shape[0]))
    return (P + P.T) / 2


def _regularised(S, n_samples):
    """A positive-definite stand-in for a singular ``S`` (used when ``alpha > 0``).

    Constant columns get the variance ``VARIANCE_FLOOR * max(diag S)`` (1 if all
    are constant); then the diagonal is multiplied by ``1 + sqrt(log d / n)``,
    the diagonal multiplier of regularised score matching (Lin, Drton & Shojaie
    2016; Yu, Drton & Shojaie 2019), which makes ``S`` positive definite and
    the loss bounded below.
    """
    S = S.copy()
    d = S.shape[0]
    diag = np.diag(S).copy()
    top = diag.max()
    diag[diag <= 0] = VARIANCE_FLOOR * top if top > 0 else 1.0
    diag *= 1.0 + np.sqrt(np.log(max(d, 2)) / n_samples)
    np.fill_diagonal(S, diag)
    return S


# --------------------------------------------------------------------------
# Sparse precision: FISTA on the symmetric P (NumPy, float64)
# --------------------------------------------------------------------------


def _sparse_precision(S, alpha, max_iter, tol):
    """Minimise ``1/2 tr(PSP) - tr(P) + alpha sum_{i!=j} |P_ij|`` over symmetric P.

    The smooth part has gradient ``G = (SP + PS)/2 - I`` and Hessian
    ``D -> (SD + DS)/2``. With ``s_i^2 = S_ii`` and ``lam = lambda_max`` of the
    correlation matrix, ``S <= lam diag(s^2)``, so
    ``<D, (SD + DS)/2> <= sum_ij w_ij D_ij^2``, ``w_ij = lam (s_i^2 + s_j^2)/2``:
    a separable majorant. A proximal step in that metric is a gradient step
    ``Y - G / w`` followed by soft-thresholding the off-diagonal at
    ``alpha / w``; both keep P symmetric. Nesterov momentum with an adaptive
    restart (when the step goes uphill) gives FISTA. The start,
    ``diag(1 / S_ii)``, is the exact solution for ``alpha`` large enough.

    Returns ``(P, n_iter, converged)``; converged means
    ``max |P_k - P_k-1| <= tol * max |P_k|``.
    """
    d = S.shape[0]
    s2 = np.diag(S)
    s = np.sqrt(s2)
    lam = linalg.eigvalsh(S / np.outer(s, s), subset_by_index=[d - 1, d - 1])[0]
    w = lam * (s2[:, None] + s2[None, :]) / 2
    threshold = alpha / w
    np.fill_diagonal(threshold, 0.0)
    eye = np.eye(d)

    P = np.diag(1.0 / s2)
    Y = P
    t = 1.0
    converged = False
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        SY = S @ Y
        V = Y - ((SY + SY.T) / 2 - eye) / w
        P_new = np.sign(V) * np.maximum(np.abs(V) - threshold, 0.0)
        step = P_new - P
        if np.max(np.abs(step)) <= tol * np.max(np.abs(P_new)):
            P = P_new
            converged = True
            break
        if np.vdot(Y - P_new, step) > 0:  # uphill: restart the momentum
            t = 1.0
        t_new = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2
        Y = P_new + ((t - 1.0) / t_new) * step
        P, t = P_new, t_new
    return P, n_iter, converged


def _positive_definite(P, S):
    """``P + c I`` with ``c >= 0`` the least shift giving ``lambda_min >= eps``.

    ``eps = EIGEN_FLOOR / lambda_max(S)``: the model then has no direction with
    more than ``1 / EIGEN_FLOOR`` times the data's largest variance. The
    diagonal is not penalised, so the shift keeps the sparsity pattern. For
    the minimiser of the sparse problem this is usually a no-op.
    """
    d = S.shape[0]
    eps = EIGEN_FLOOR / linalg.eigvalsh(S, subset_by_index=[d - 1, d - 1])[0]
    low = linalg.eigvalsh(P, subset_by_index=[0, 0])[0]
    shift = max(0.0, eps - low)
    return P + shift * np.eye(d), shift


# --------------------------------------------------------------------------
# Gradient solver: optax on the Cholesky parameters (JAX, alpha == 0)
# --------------------------------------------------------------------------
# Coordinates are standardised, z = D^-1 (x - xbar) with D = diag(s),
# s_i^2 = S_ii: then mu = xbar + s * m and P = D^-1 Q D^-1, where Q = L Lᵀ and
# L is lower triangular with diagonal exp(log_diag) and strict lower triangle
# `off`. The loss is the score-matching loss of z,
#   1/2 tr(Q (R + m mᵀ) Q) - tr(Q),   R = D^-1 S D^-1 (the correlation matrix).
# In user units the loss is 1/2 tr(W Q (R + m mᵀ) Q) - tr(W Q) with
# W = D^-2; for every positive diagonal W both are strictly convex in Q and
# stationary at m = 0, Q = R^-1 (the gradient (WQM + MQW)/2 - W vanishes
# there), so they have the same minimiser, and the standardised one is well
# conditioned whatever the columns' units.


def _optimizer(learning_rate):
    return optax.chain(optax.clip_by_global_norm(MAX_NORM), optax.adam(learning_rate))


def _unpack(theta, fit_location):
    """``(m, Q)`` from the unconstrained parameters."""
    d = theta["log_diag"].shape[0]
    rows, cols = np.tril_indices(d, k=-1)
    L = jnp.diag(jnp.exp(theta["log_diag"])).at[rows, cols].set(theta["off"])
    return theta["m"] * fit_location, L @ L.T


def _loss(theta, R, fit_location):
    """Score-matching loss of the standardised data at the Cholesky parameters."""
    m, Q = _unpack(theta, fit_location)
    QM = Q @ (R + jnp.outer(m, m))
    return 0.5 * jnp.sum(QM * Q) - jnp.trace(Q)


def _residual(theta, R, fit_location):
    """Stationarity residual ``max(|G|, |Q Q m|)`` in the precision ``Q``.

    ``G = (QM + MQ)/2 - I`` is the gradient in ``Q``: it vanishes only at the
    minimiser, and is an error in ``Q`` scaled by the Hessian (eigenvalues
    ``(lambda_i + lambda_j)/2`` of ``M``), unlike the gradient in the Cholesky
    parameters.
    """
    m, Q = _unpack(theta, fit_location)
    QM = Q @ (R + jnp.outer(m, m))
    G = 0.5 * (QM + QM.T) - jnp.eye(Q.shape[0], dtype=Q.dtype)
    grad_m = Q @ (Q @ m) * fit_location
    return jnp.maximum(jnp.max(jnp.abs(G)), jnp.max(jnp.abs(grad_m)))


@jax.jit
def _gradient_steps(theta, opt_state, n_steps, R, fit_location, lr, tol):
    """Up to ``n_steps`` optax updates, stopping early when the residual <= tol.

    Every argument is traced (hyper-parameters included), so one compiled
    version serves all fits with the same number of features.
    """
    opt = _optimizer(lr)
    grad = jax.grad(_loss)

    def cond(carry):
        i, _, _, r = carry
        return (i < n_steps) & (r > tol)

    def body(carry):
        i, theta, state, _ = carry
        updates, state = opt.update(grad(theta, R, fit_location), state, theta)
        theta = optax.apply_updates(theta, updates)
        return i + 1, theta, state, _residual(theta, R, fit_location)

    r0 = _residual(theta, R, fit_location)
    carry = (jnp.asarray(0, jnp.int32), theta, opt_state, r0)
    i, theta, opt_state, r = jax.lax.while_loop(cond, body, carry)
    return theta, opt_state, i, r, _loss(theta, R, fit_location)


def _gradient_fit(location, S, fit_location, lr, max_iter, tol, verbose):
    """Run the gradient solver; returns ``(location, P, n_iter, converged)``.

    Starts at ``m = 0`` (``mu = xbar``) and ``Q = I`` (``P = diag(1 / S_ii)``).
    """
    d = S.shape[0]
    s = np.sqrt(np.diag(S))
    R = jnp.asarray(S / np.outer(s, s), jnp.result_type(float))
    theta = {
        "m": jnp.zeros(d, R.dtype),
        "log_diag": jnp.zeros(d, R.dtype),
        "off": jnp.zeros(d * (d - 1) // 2, R.dtype),
    }
    opt_state = _optimizer(lr).init(theta)
    n_iter, residual = 0, np.inf
    while n_iter < max_iter:
        n_steps = min(CHUNK, max_iter - n_iter)
        theta, opt_state, k, residual, loss = _gradient_steps(
            theta, opt_state, n_steps, R, fit_location, lr, tol
        )
        n_iter += int(k)
        residual, loss = float(residual), float(loss)
        if not (np.isfinite(residual) and np.isfinite(loss)):
            raise RuntimeError(
                f"The gradient solver diverged at iteration {n_iter} (non-finite "
                f"loss or parameters); lower learning_rate={lr}."
            )
        if verbose > 0:
            print(f"iter {n_iter:6d}  loss {loss:.6g}  residual {residual:.3g}")
        if residual <= tol or int(k) < n_steps:
            break
    m = np.asarray(theta["m"], np.float64) * fit_location
    L = np.diag(np.exp(np.asarray(theta["log_diag"], np.float64)))
    L[np.tril_indices(d, k=-1)] = np.asarray(theta["off"], np.float64)
    P = (L @ L.T) / np.outer(s, s)
    return location + s * m, P, n_iter, residual <= tol


# --------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------


class ScoreMatchingGaussian(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, DensityMixin, BaseEstimator
):
    """Gaussian density fitted by score matching, with an optional sparse precision.

    Minimises the Hyvärinen score-matching loss of ``N(mu, P^-1)``,

    ``L(mu, P) = mean_i [1/2 |P (x_i - mu)|^2] - tr(P)
    (+ alpha * sum_{i != j} |P_ij|)``,

    which never needs the normalising constant. It depends on the data only
    through the sample mean ``xbar`` and the biased covariance ``S``:
    ``L = 1/2 tr(P S_mu P) - tr(P)`` with ``S_mu = S + (xbar - mu)(xbar - mu)ᵀ``.
    With ``alpha > 0`` it is a lasso-type problem whose solution has exact
    zeros off the diagonal of ``P``: a Gaussian graphical model, the
    score-matching counterpart of :class:`sklearn.covariance.GraphicalLasso`.

    Read more in the user guide, ``docs/score_matching_gaussian.md``.

    Parameters
    ----------
    alpha : float, default=0.0
        L1 penalty on the off-diagonal entries of the precision ``P`` (each
        unordered pair counted twice, as ``sum_{i != j}``), in the units of
        the loss. ``0`` gives the closed form.
    solver : {"auto", "closed_form", "gradient"}, default="auto"
        ``"closed_form"``: ``mu = xbar``, ``P = S^-1`` by a Cholesky solve,
        in float64. ``"gradient"``: Adam (optax) on ``mu`` and the Cholesky
        parameters of ``P`` (log-diagonal and strict lower triangle), in JAX
        float32, converging to the closed form. Both need ``alpha == 0``: the
        L1 term is not differentiable, and Adam would leave entries near, not
        at, zero. ``"auto"``: the closed form when ``alpha == 0``, otherwise
        accelerated proximal gradient (FISTA) on the symmetric ``P``, which
        gives exact zeros. ``solver_`` records the choice.
    max_iter : int, default=2000
        Maximum iterations of the gradient and proximal solvers.
    tol : float, default=1e-4
        Gradient solver: stop when ``max |G| <= tol``, ``G = (QR + RQ)/2 - I``
        the gradient of the loss of the standardised data in its precision
        ``Q`` (``R`` the correlation matrix), i.e. a relative error of about
        ``tol`` in ``P``. Proximal solver: stop when an iteration changes no
        entry of ``P`` by more than ``tol * max |P|``. Unused by the closed
        form.
    learning_rate : float, default=0.05
        Adam step size of the gradient solver (standardised coordinates).
    assume_centered : bool, default=False
        If True, ``mu = 0`` is fixed and ``S`` is the second moment about 0.
    random_state : int, RandomState instance or None, default=None
        Not used: every solver is deterministic. Kept for the package's
        uniform API; :meth:`sample` takes its own ``random_state``.
    verbose : int, default=0
        Print solver progress when positive.

    Attributes
    ----------
    location_ : ndarray of shape (n_features_in_,)
        Estimated mean ``mu``.
    covariance_ : ndarray of shape (n_features_in_, n_features_in_)
        Model covariance ``P^-1`` (for the closed form, exactly ``S``).
    precision_ : ndarray of shape (n_features_in_, n_features_in_)
        Estimated precision ``P``, symmetric positive definite.
    precision_cholesky_ : ndarray of shape (n_features_in_, n_features_in_)
        Lower-triangular ``L`` with ``P = L Lᵀ``; :meth:`transform` is
        ``(x - mu) L``.
    solver_ : str
        The solver used: ``"closed_form"``, ``"gradient"`` or ``"proximal"``.
    n_iter_ : int
        Iterations run (1 for the closed form: one Cholesky solve).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a DataFrame ``X``.

    See Also
    --------
    sklearn.covariance.EmpiricalCovariance : the same estimate as the closed form.
    sklearn.covariance.GraphicalLasso : sparse precision by penalised likelihood.

    Notes
    -----
    **The closed form.** Expanding ``S_mu``,
    ``tr(P S_mu P) = tr(PSP) + |P (xbar - mu)|^2``, so for any non-singular
    ``P`` the loss is minimised over ``mu`` by ``mu = xbar``. Over symmetric
    ``P`` the remaining ``1/2 tr(PSP) - tr(P)`` has gradient
    ``(SP + PS)/2 - I`` and Hessian ``D -> (SD + DS)/2``, whose eigenvalues
    ``(lambda_i + lambda_j)/2`` are positive when ``S`` is positive definite:
    the loss is strictly convex, and ``P = S^-1`` zeroes the gradient, so it is
    the unique minimiser, with loss ``-tr(S^-1)/2``. Score matching thus
    recovers the maximum-likelihood Gaussian (biased covariance). ``P`` is
    computed as ``cho_solve(cholesky(S), I)``. When ``S`` is singular (fewer
    samples than features, a constant or collinear column) the loss is
    unbounded below and ``alpha == 0`` raises ``ValueError``.

    **Sparse precision.** The loss is quadratic in ``P``; the L1 term makes it
    a lasso, solved by FISTA with a Jacobi-scaled separable majorant (see
    ``docs/score_matching_gaussian.md``), which keeps ``P`` symmetric. If
    ``S`` is singular it is first regularised: constant columns get a small
    variance and the diagonal is multiplied by ``1 + sqrt(log d / n)`` (the
    diagonal multiplier of Lin et al.). The minimiser is not guaranteed to be
    positive definite; if its smallest eigenvalue is below
    ``0.01 / lambda_max(S)``, ``c I`` is added with the least ``c`` that lifts
    it there (the diagonal is not penalised, so the sparsity pattern stays).

    References
    ----------
    A. Hyvärinen, "Estimation of non-normalized statistical models by score
    matching", JMLR 2005.
    L. Lin, M. Drton and A. Shojaie, "Estimation of high-dimensional graphical
    models using regularized score matching", EJS 2016.
    A. Beck and M. Teboulle, "A fast iterative shrinkage-thresholding algorithm
    for linear inverse problems", SIAM J. Imaging Sci. 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from skmaxent import ScoreMatchingGaussian
    >>> rng = np.random.RandomState(0)
    >>> X = rng.multivariate_normal([0.0, 1.0], [[1.0, 0.5], [0.5, 2.0]], size=500)
    >>> model = ScoreMatchingGaussian().fit(X)
    >>> np.allclose(model.covariance_, np.cov(X.T, bias=True))
    True
    >>> model.transform(X).shape
    (500, 2)
    >>> model.sample(3, random_state=0).shape
    (3, 2)
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"auto", "closed_form", "gradient"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "assume_centered": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        alpha=0.0,
        solver="auto",
        max_iter=2000,
        tol=1e-4,
        learning_rate=0.05,
        assume_centered=False,
        random_state=None,
        verbose=0,
    ):
        self.alpha = alpha
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.assume_centered = assume_centered
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the Gaussian by (penalised) score matching.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : ScoreMatchingGaussian
            The fitted estimator.
        """
        X = validate_data(self, X, dtype=np.float64)
        alpha = float(self.alpha)
        if self.solver != "auto" and alpha > 0:
            raise ValueError(
                f"solver={self.solver!r} requires alpha=0, got alpha={self.alpha!r}; "
                "use solver='auto' (proximal gradient on P, exact zeros) for a "
                "sparse precision."
            )
        n, d = X.shape
        location, S = _moments(X, self.assume_centered)
        reason = _singular_reason(S)
        if reason is not None:
            if alpha == 0:
                raise ValueError(
                    f"The sample covariance of X is singular (n_samples={n}, "
                    f"n_features={d}): {reason}. With alpha=0 the score-matching "
                    "loss is then unbounded below; use alpha > 0 for a "
                    "regularised sparse precision, or drop the redundant columns."
                )
            S_fit = _regularised(S, n)
        else:
            S_fit = S

        if self.solver == "gradient":
            solver = "gradient"
            location, precision, n_iter, converged = _gradient_fit(
                location,
                S,
                0.0 if self.assume_centered else 1.0,
                float(self.learning_rate),
                self.max_iter,
                float(self.tol),
                self.verbose,
            )
        elif alpha == 0:
            solver = "closed_form"
            precision, n_iter, converged = _closed_form_precision(S), 1, True
        else:
            solver = "proximal"
            precision, n_iter, converged = _sparse_precision(
                S_fit, alpha, self.max_iter, float(self.tol)
            )
            precision, shift = _positive_definite(precision, S_fit)
            if self.verbose > 0:
                print(f"proximal: {n_iter} iterations, diagonal shift {shift:.3g}")
        if not converged:
            warnings.warn(
                f"The {solver} solver did not converge in max_iter={self.max_iter} "
                f"iterations (tol={self.tol}); increase max_iter"
                + (" or adjust learning_rate." if solver == "gradient" else "."),
                ConvergenceWarning,
                stacklevel=2,
            )
        try:
            chol = linalg.cholesky(precision, lower=True)
        except linalg.LinAlgError as exc:  # pragma: no cover - guarded above
            raise RuntimeError(
                "The fitted precision is not positive definite."
            ) from exc
        if solver == "closed_form":
            covariance = S
        else:
            covariance = linalg.cho_solve((chol, True), np.eye(d))
            covariance = (covariance + covariance.T) / 2

        self.location_ = location
        self.precision_ = precision
        self.precision_cholesky_ = chol
        self.covariance_ = covariance
        self.solver_ = solver
        self.n_iter_ = int(n_iter)
        return self

    @property
    def _n_features_out(self):
        return self.n_features_in_

    def _validate(self, X):
        check_is_fitted(self)
        return validate_data(self, X, dtype=np.float64, reset=False)

    def mahalanobis(self, X):
        """Squared Mahalanobis distances ``(x - mu)ᵀ P (x - mu)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Points.

        Returns
        -------
        dist : ndarray of shape (n_samples,)
            Squared distances under the fitted precision.
        """
        Z = (self._validate(X) - self.location_) @ self.precision_cholesky_
        return np.einsum("ij,ij->i", Z, Z)

    def score_samples(self, X):
        """Exact Gaussian log-density of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Points.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            ``log N(x; location_, covariance_)``.
        """
        maha = self.mahalanobis(X)
        log_det_precision = 2.0 * np.sum(np.log(np.diag(self.precision_cholesky_)))
        d = self.n_features_in_
        return -0.5 * (d * np.log(2.0 * np.pi) - log_det_precision + maha)

    def score(self, X, y=None):
        """Mean log-likelihood of ``X`` under the model (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Points.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Mean of :meth:`score_samples`.
        """
        return float(np.mean(self.score_samples(X)))

    def score_matching_loss(self, X):
        """The score-matching loss of the fitted model on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Points.

        Returns
        -------
        loss : float
            ``mean_i [1/2 |P (x_i - mu)|^2] - tr(P)``, without the L1 term.
        """
        Y = (self._validate(X) - self.location_) @ self.precision_
        return float(
            0.5 * np.mean(np.einsum("ij,ij->i", Y, Y)) - np.trace(self.precision_)
        )

    def transform(self, X):
        """Whiten: ``z = Lᵀ (x - mu)`` with ``P = L Lᵀ`` (Cholesky).

        Under the model ``z`` has identity covariance.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Points.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_features_in_)
            Whitened points.
        """
        return (self._validate(X) - self.location_) @ self.precision_cholesky_

    def inverse_transform(self, X):
        """Undo :meth:`transform`: ``x = mu + L^-T z``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Whitened points.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
            Points in the original units.
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=np.float64, input_name="X")
        if Z.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {Z.shape[1]} features, but inverse_transform expects "
                f"{self.n_features_in_} (the number of features seen in fit)."
            )
        return self._unwhiten(Z)

    def _unwhiten(self, Z):
        X = linalg.solve_triangular(
            self.precision_cholesky_, Z.T, lower=True, trans="T"
        )
        return self.location_ + X.T

    def sample(self, n_samples=1, random_state=None):
        """Draw samples from the fitted Gaussian.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed or generator for the draws; the estimator is not changed.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
            Samples.
        """
        check_is_fitted(self)
        if (
            not isinstance(n_samples, Integral)
            or isinstance(n_samples, bool)
            or n_samples < 1
        ):
            raise ValueError(
                f"n_samples must be a positive integer, got {n_samples!r}."
            )
        rng = check_random_state(random_state)
        Z = rng.standard_normal((int(n_samples), self.n_features_in_))
        return self._unwhiten(Z)
