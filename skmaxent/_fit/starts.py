"""Where a fit starts: score-matching and Gaussian starting parameters.

Shell-side helpers of the estimators' plans (NumPy and SciPy glue around one
jitted core call), kept apart from the fit's control flow.
"""

import functools
import warnings

import numpy as np
import scipy.linalg

from skmaxent._inputs.arrays import pad, pow2
from skmaxent.core.training import score_matching
from skmaxent.features import resolve_features


def gaussian_start(fm, mu, bounds):
    """``coef``, mean and covariance of the Gaussian with the target moments.

    For the ``"quadratic"`` preset (targets ``E[x_i]``, ``E[x_i^2]``,
    ``E[x_i x_j]``), the max-ent density on all of R^n is the Gaussian with
    that mean ``m`` and covariance ``S``: ``coef = (P m, -diag(P)/2, -P_ij)``
    with ``P = S^-1``. On the box it is exact up to the mass the Gaussian puts
    outside, and otherwise a start that the chains verify and correct.
    Returns ``None`` for other features or when ``S`` is not positive definite.
    """
    n = fm.n_features_in
    if fm.specs != resolve_features("quadratic", n):
        return None
    iu, ju = np.triu_indices(n, k=1)
    m = mu[:n]
    second = np.diag(mu[n : 2 * n])
    second[iu, ju] = second[ju, iu] = mu[2 * n :]
    S = second - np.outer(m, m)
    try:
        L = np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        return None
    P = scipy.linalg.cho_solve((L, True), np.eye(n))
    coef = np.r_[P @ m, -0.5 * np.diag(P), -P[iu, ju]]
    return (coef, m, S) if np.all(np.isfinite(coef)) else None


def _quadratic_in_unit_coordinates(bounds):
    """``B`` with ``f(x) = B f(u) + const`` for the quadratic preset, ``x = lo + w u``.

    ``x_i = w_i u_i + lo_i``, ``x_i² = w_i² u_i² + 2 lo_i w_i u_i + lo_i²`` and
    ``x_i x_j = w_i w_j u_i u_j + w_i lo_j u_i + lo_i w_j u_j + lo_i lo_j``.
    """
    lo, w = bounds[:, 0], bounds[:, 1] - bounds[:, 0]
    n = lo.size
    iu, ju = np.triu_indices(n, k=1)
    pairs = 2 * n + np.arange(iu.size)
    B = np.zeros((2 * n + iu.size,) * 2)
    r = np.arange(n)
    B[r, r] = w
    B[n + r, n + r] = w**2
    B[n + r, r] = 2 * lo * w
    B[pairs, pairs] = w[iu] * w[ju]
    B[pairs, iu] = w[iu] * lo[ju]
    B[pairs, ju] = lo[iu] * w[ju]
    return B


@functools.cache
def _blas_controller():
    from threadpoolctl import ThreadpoolController  # a scikit-learn dependency

    return ThreadpoolController()


def _one_blas_thread():
    """A context with one BLAS thread, for the host's small dense algebra:
    right after JAX's CPU work, a multi-threaded call waits for its threads
    (``docs/decisions.md``)."""
    return _blas_controller().limit(limits=1, user_api="blas")


def _padded_rows(X, sample_weight, bounds):
    """``(U, w)``: the rows of positive weight on the unit box, float32, and
    their weights summing to one, padded to a power of two (at least 64)
    with copies of the first row of weight zero, so that data sets of many
    sizes (folds, subsamples) share a few compiled programs. NumPy arrays: an
    eager ``jnp`` conversion would compile a program of its own."""
    keep = sample_weight > 0
    rows = (X[keep] - bounds[:, 0]) / (bounds[:, 1] - bounds[:, 0])
    size = pow2(len(rows), least=64)
    w = sample_weight[keep] / sample_weight[keep].sum()
    return pad(rows, size, fill=rows[0]), pad(w, size)


def score_matching_start(fm, X, sample_weight, bounds, std, ridge=1e-6, walls=None):
    """Standardised natural parameters ``phi = coef * std`` by score matching.

    One linear solve of the generalised score-matching system on the rows of
    positive weight (see :mod:`skmaxent.core.training.score_matching`), built on the
    unit box (the loss is invariant under that change of coordinates) so
    that the units of ``X`` do not matter: for the ``"quadratic"`` preset the
    structured O(N n³) form of the quadratic features of ``u``, mapped to
    standardised coordinates in float64; otherwise the features divided by
    ``std``. A ridge ``ridge`` times the mean of diag Γ. Returns ``None`` when
    the system is singular or the solution is not finite. With ``walls`` (a
    support open on some side), ``bounds`` is its reference box and the
    weights are those of :func:`skmaxent.core.training.score_matching.unit_weights`.
    """
    U, w = _padded_rows(X, sample_weight, bounds)
    n = fm.n_features_in
    if fm.specs == resolve_features("quadratic", n):
        zeros, ones = np.zeros(n, np.float32), np.ones(n, np.float32)
        Gamma, g = score_matching.quadratic_system(U, w, zeros, ones, n, walls)
        B = _quadratic_in_unit_coordinates(bounds) / std[:, None]
        with _one_blas_thread():
            Gamma = B @ np.asarray(Gamma, np.float64) @ B.T
        g = B @ np.asarray(g, np.float64)
    else:
        low = np.asarray(bounds[:, 0], np.float32)
        high = np.asarray(bounds[:, 1], np.float32)
        scale = np.asarray(1.0 / std, np.float32)
        Gamma, g = score_matching.standardised_system(U, w, low, high, scale, fm, walls)
    Gamma, g = np.asarray(Gamma, np.float64), np.asarray(g, np.float64)
    if not (np.all(np.isfinite(Gamma)) and np.all(np.isfinite(g))):
        return None
    p = g.shape[0]
    lam = ridge * np.trace(Gamma) / p
    try:
        with warnings.catch_warnings(), _one_blas_thread():
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            phi = scipy.linalg.solve(Gamma + lam * np.eye(p), g, assume_a="pos")
    except (np.linalg.LinAlgError, ValueError):
        return None
    return phi if np.all(np.isfinite(phi)) else None


def data_start(
    fm,
    X,
    sample_weight,
    bounds,
    std,
    init,
    n_chains,
    rng,
    *,
    max_features=8192,
    walls=None,
):
    """The score-matching start of a fit from ``X``, with chains on data rows.

    Returns ``(phi, rows)``: standardised parameters from
    :func:`score_matching_start` and ``n_chains`` rows of ``X`` drawn by
    weight, on which the chains start (if the start is right, they are
    already draws from the model: no burn-in). ``bounds`` is the reference
    box and ``walls`` the support's (:func:`score_matching_start`).
    ``(None, None)`` when the system is singular, or the model has over
    ``max_features`` features (a dense ``(p, p)`` system: 0.5 GB at 8,192),
    and ``init`` is ``"auto"``; with ``init="score_matching"`` that raises a
    ``ValueError``.
    """
    if fm.n_features_out > max_features:
        if init == "score_matching":
            raise ValueError(
                f"init='score_matching' solves a dense system of {max_features} "
                f"features at most; got {fm.n_features_out}. Use init='auto' "
                "(which starts from zero here) or fewer features."
            )
        return None, None
    phi = score_matching_start(fm, X, sample_weight, bounds, std, walls=walls)
    if phi is None:
        if init == "score_matching":
            raise ValueError(
                "init='score_matching' failed: the score-matching system is "
                "singular for this data (too few distinct rows for the "
                "features?). Use init='zero' or more data."
            )
        return None, None
    keep = sample_weight > 0
    rows = rng.choice(
        int(keep.sum()), n_chains, p=sample_weight[keep] / sample_weight[keep].sum()
    )
    return phi, X[keep][rows]
