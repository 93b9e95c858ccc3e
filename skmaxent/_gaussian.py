"""ScoreMatchingGaussian: a Gaussian fitted by Hyvärinen score matching.

The estimator validates, calls :func:`skmaxent._gaussian_solvers.fit_gaussian`
(closed form, gradient or proximal solver on the data's mean and covariance)
and stores the result; its other methods are exact Gaussian formulas.
"""

from numbers import Integral, Real

import numpy as np
from scipy import linalg
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    DensityMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skmaxent._fit.interrupts import finishing
from skmaxent._gaussian_solvers import fit_gaussian
from skmaxent._inputs.data import validate_X


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

    @finishing
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
        snapshot = dict(self.__dict__)
        try:
            return self._fit(X)
        except BaseException:  # a failed fit leaves the estimator as it was
            self.__dict__.clear()
            self.__dict__.update(snapshot)
            raise

    def _fit(self, X):
        X = validate_X(self, X, reset=True, dtype=(np.float64,))
        if self.solver != "auto" and float(self.alpha) > 0:
            raise ValueError(
                f"solver={self.solver!r} requires alpha=0, got alpha={self.alpha!r}; "
                "use solver='auto' (proximal gradient on P, exact zeros) for a "
                "sparse precision."
            )
        fitted = fit_gaussian(
            X,
            alpha=self.alpha,
            solver=self.solver,
            max_iter=self.max_iter,
            tol=self.tol,
            learning_rate=self.learning_rate,
            assume_centered=self.assume_centered,
            verbose=self.verbose,
        )
        self.location_ = fitted.location
        self.precision_ = fitted.precision
        self.precision_cholesky_ = fitted.precision_cholesky
        self.covariance_ = fitted.covariance
        self.solver_ = fitted.solver
        self.n_iter_ = fitted.n_iter
        return self

    @property
    def _n_features_out(self):
        return self.n_features_in_

    def _validate(self, X):
        check_is_fitted(self)
        return validate_X(self, X, reset=False, dtype=(np.float64,))

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
