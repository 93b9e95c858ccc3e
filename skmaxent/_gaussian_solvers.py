"""The solvers behind ScoreMatchingGaussian, on the data's moments ``(xbar, S)``.

For ``p(x) = N(x; mu, P^-1)`` the score is ``-P (x - mu)`` and its divergence
``-tr(P)``, so the score-matching loss on data with mean ``xbar`` and biased
covariance ``S`` is the quadratic ``1/2 tr(P S_mu P) - tr(P)``,
``S_mu = S + (xbar - mu)(xbar - mu)ᵀ``: it depends on the data only through
``(xbar, S)``, which are computed once. Three solvers share that reduction:

- closed form (``alpha == 0``): ``mu = xbar``, ``P = S^-1`` by a Cholesky solve,
  in NumPy float64;
- gradient: optax (clipped Adam) on the Cholesky parameters of ``P``, in JAX
  under one module-level ``jax.jit`` whose compiled code depends on shapes only
  (:func:`skmaxent.core.training.gaussian.gradient_steps`); this module runs its host
  loop;
- proximal (``alpha > 0``, ``solver="auto"``): accelerated proximal gradient
  (FISTA) on the symmetric ``P`` with a diagonal (Jacobi) metric, in NumPy.
"""

import warnings
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from scipy import linalg
from scipy.linalg import blas
from sklearn.exceptions import ConvergenceWarning

from skmaxent._fit.interrupts import checkpoint
from skmaxent._fit.settings import get_config
from skmaxent.core import programs
from skmaxent.core.training.gaussian import gradient_steps, optimizer


class GaussianFit(NamedTuple):
    """What :func:`fit_gaussian` returns: the estimator's fitted attributes."""

    location: np.ndarray
    precision: np.ndarray
    precision_cholesky: np.ndarray
    covariance: np.ndarray
    solver: str
    n_iter: int


def _scatter(X, alpha, assume_centered):
    """``(location, S, S_fit)``: the sample mean (or zero) and scatter of ``X``,
    and the scatter the proximal solver fits (regularised where singular,
    which ``alpha == 0`` refuses)."""
    n, d = X.shape
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        location, S = _moments(X, assume_centered)
    _check_scale(X, location, S)
    reason = _singular_reason(S)
    if reason is None:
        return location, S, S
    if alpha == 0:
        raise ValueError(
            f"The sample covariance of X is singular (n_samples={n}, "
            f"n_features={d}): {reason}. With alpha=0 the score-matching "
            "loss is then unbounded below; use alpha > 0 for a "
            "regularised sparse precision, or drop the redundant columns."
        )
    return location, S, _regularised(S, n)


def fit_gaussian(
    X, *, alpha, solver, max_iter, tol, learning_rate, assume_centered, verbose
) -> GaussianFit:
    """Fit ``N(mu, P^-1)`` to ``X`` by (penalised) score matching.

    ``solver`` is the estimator's parameter (``"auto"``, ``"closed_form"`` or
    ``"gradient"``; the last two need ``alpha == 0``); the solver chosen is
    ``GaussianFit.solver``. Raises ``ValueError`` if ``S`` is singular and
    ``alpha == 0``; warns (``ConvergenceWarning``) if an iterative solver
    stops at ``max_iter``. The parameters are the estimator's, as given.
    """
    alpha = float(alpha)
    d = X.shape[1]
    location, S, S_fit = _scatter(X, alpha, assume_centered)
    if solver == "gradient":
        location, precision, n_iter, converged = _gradient_fit(
            location,
            S,
            0.0 if assume_centered else 1.0,
            lr=float(learning_rate),
            max_iter=max_iter,
            tol=float(tol),
            verbose=verbose,
        )
    elif alpha == 0:
        solver = "closed_form"
        precision, n_iter, converged = _closed_form_precision(S), 1, True
    else:
        solver = "proximal"
        precision, n_iter, converged = _sparse_precision(
            S_fit, alpha, max_iter, float(tol)
        )
        precision, shift = _positive_definite(precision, S_fit)
        if verbose > 0:
            print(f"proximal: {n_iter} iterations, diagonal shift {shift:.3g}")
    if not converged:
        warnings.warn(
            f"The {solver} solver did not converge in max_iter={max_iter} "
            f"iterations (tol={tol}); increase max_iter"
            + (" or adjust learning_rate." if solver == "gradient" else "."),
            ConvergenceWarning,
            stacklevel=3,  # the caller of the estimator's fit
        )
    try:
        chol = linalg.cholesky(precision, lower=True)
    except (linalg.LinAlgError, ValueError) as exc:
        # The gradient solver can leave a Cholesky diagonal that under- or
        # overflows (e.g. Adam with a large learning_rate, in float64).
        raise RuntimeError(
            f"The {solver} solver diverged: after {n_iter} iterations its "
            "precision is not positive definite; lower learning_rate="
            f"{learning_rate} (or use solver='auto')."
        ) from exc
    if solver == "closed_form":
        covariance = S
    else:
        covariance = linalg.cho_solve((chol, True), np.eye(d))
        covariance = (covariance + covariance.T) / 2
    return GaussianFit(
        location=location,
        precision=precision,
        precision_cholesky=chol,
        covariance=covariance,
        solver=solver,
        n_iter=int(n_iter),
    )


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


def _check_scale(X, location, S):
    """Raise ``ValueError`` if the Gaussian of ``X`` is beyond float64's range.

    Every variance ``S_jj`` and its inverse must be finite: a column with
    values near 1e154 or beyond has a variance that overflows, and a varying
    column of size 1e-155 or below one whose inverse (the precision) does.
    """
    var = np.diag(S)
    with np.errstate(divide="ignore", over="ignore"):
        inverse = 1.0 / var
    bad = ~(np.isfinite(location) & np.isfinite(var))
    bad |= ~np.isfinite(inverse) & (np.ptp(X, axis=0) > 0)
    if np.any(bad):
        j = int(np.flatnonzero(bad)[0])
        size = float(np.max(np.abs(X[:, j])))
        raise ValueError(
            f"X[:, {j}] has values of size {size:.3g}, whose variance "
            f"({float(var[j]):.3g}) or its inverse is beyond the range of "
            "float64; rescale X (e.g. with sklearn.preprocessing.StandardScaler "
            "in a Pipeline)."
        )


def _singular_reason(S, pivot_tol=1e-12):
    """Why ``S`` is (numerically) singular, or ``None`` if it is positive definite.

    A Cholesky pivot of the correlation matrix at or below ``pivot_tol`` (the
    fraction of a column's variance not explained by the previous columns)
    counts as singular.
    """
    var = np.diag(S)
    constant = np.flatnonzero(var <= 0)
    if constant.size:
        return f"column(s) {constant.tolist()} of X are constant"
    s = np.sqrt(var)
    try:
        c = linalg.cholesky(S / np.outer(s, s), lower=True)
    except linalg.LinAlgError:
        return "some columns of X are linear combinations of others"
    if np.min(np.diag(c)) ** 2 <= pivot_tol:
        return "some columns of X are linear combinations of others"
    return None


def _closed_form_precision(S):
    """``S^-1`` by a Cholesky solve: ``S = C Cᵀ``, then ``C Cᵀ P = I``."""
    c = linalg.cho_factor(S, lower=True)
    P = linalg.cho_solve(c, np.eye(S.shape[0]))
    return (P + P.T) / 2


def _regularised(S, n_samples, variance_floor=1e-6):
    """A positive-definite stand-in for a singular ``S`` (used when ``alpha > 0``).

    Constant columns get the variance ``variance_floor * max(diag S)`` (1 if
    all are constant); then the diagonal is multiplied by
    ``1 + sqrt(log d / n)``, the diagonal multiplier of regularised score
    matching (Lin, Drton & Shojaie 2016; Yu, Drton & Shojaie 2019), which
    makes ``S`` positive definite and the loss bounded below.
    """
    S = S.copy()
    d = S.shape[0]
    diag = np.diag(S).copy()
    top = diag.max()
    diag[diag <= 0] = variance_floor * top if top > 0 else 1.0
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


def _positive_definite(P, S, eigen_floor=1e-2):
    """``P + c I`` with ``c >= 0`` the least shift giving ``lambda_min >= eps``.

    ``eps = eigen_floor / lambda_max(S)``: the model then has no direction with
    more than ``1 / eigen_floor`` times the data's largest variance. The
    diagonal is not penalised, so the shift keeps the sparsity pattern. For
    the minimiser of the sparse problem this is usually a no-op.
    """
    d = S.shape[0]
    eps = eigen_floor / linalg.eigvalsh(S, subset_by_index=[d - 1, d - 1])[0]
    low = linalg.eigvalsh(P, subset_by_index=[0, 0])[0]
    shift = max(0.0, eps - low)
    return P + shift * np.eye(d), shift


# --------------------------------------------------------------------------
# Gradient solver: the host loop over skmaxent.core.training.gaussian (alpha == 0)
# --------------------------------------------------------------------------


def _gradient_fit(
    location, S, fit_location, *, lr, max_iter, tol, verbose, chunk=250, max_norm=10.0
):
    """Run the gradient solver; returns ``(location, P, n_iter, converged)``.

    Starts at ``m = 0`` (``mu = xbar``) and ``Q = I`` (``P = diag(1 / S_ii)``)
    in the standardised coordinates of :mod:`skmaxent.core.training.gaussian`. Each
    jitted call runs up to ``chunk`` Adam steps, with updates clipped to global
    norm ``max_norm``; the host checks for divergence and prints between calls.
    """
    programs.trim(get_config().max_programs)  # bounded memory in a long session
    d = S.shape[0]
    s = np.sqrt(np.diag(S))
    R = jnp.asarray(S / np.outer(s, s), jnp.result_type(float))
    theta = {
        "m": jnp.zeros(d, R.dtype),
        "log_diag": jnp.zeros(d, R.dtype),
        "off": jnp.zeros(d * (d - 1) // 2, R.dtype),
    }
    opt_state = optimizer(lr, max_norm).init(theta)
    n_iter, residual = 0, np.inf
    while n_iter < max_iter:
        n_steps = min(chunk, max_iter - n_iter)
        theta, opt_state, k, residual, loss = gradient_steps(
            theta, opt_state, n_steps, R, fit_location, lr, tol, max_norm
        )
        n_iter += int(k)
        checkpoint()  # a Ctrl-C surfaces here, between chunks
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
    eig = np.linalg.eigvalsh(L @ L.T)  # the standardised precision
    if not (np.all(np.isfinite(eig)) and eig[0] > 1e-13 * eig[-1]):
        raise RuntimeError(
            f"The gradient solver diverged by iteration {n_iter}: its precision "
            f"is singular (eigenvalues {eig[0]:.3g} to {eig[-1]:.3g} in "
            f"standardised units); lower learning_rate={lr}."
        )
    P = (L @ L.T) / np.outer(s, s)
    return location + s * m, P, n_iter, residual <= tol
