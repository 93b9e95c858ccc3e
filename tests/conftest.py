"""Exact answers and data sets shared by the test modules.

Everything here is computed independently of skmaxent, with NumPy and SciPy
only: Gauss–Legendre quadrature, closed forms of the truncated exponential
and of Gaussians, exact samplers (inverse CDF, rejection). Test modules
import the helpers by name (``pythonpath = ["tests"]`` in pyproject.toml):
``from conftest import quadratic_2d_exact``; the data sets are fixtures.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from scipy import integrate, optimize

# Effective sample size of the ``coef_`` of a default chain fit: it averages
# 200 iterates of 512 chains, and with an integrated autocorrelation of at
# most ~10 iterations that is at least 512 * 200 / 10 ≈ 10,000 draws, so
# the standard error of ``coef_k`` is about ``sqrt((F^-1)_kk / ESS)``.
ESS = 512 * 200 / 10

# Natural parameters of the 2-D quadratic test problem on [0, 1]^2, in the
# order of the "quadratic" preset: (x0, x1, x0^2, x1^2, x0*x1).
THETA_2D = np.array([1.0, -0.5, -2.0, -1.0, 2.5])


# ------------------------------------------------------------------ quadrature


def gauss_legendre(lo, hi, n=200):
    """Gauss–Legendre nodes and weights on [lo, hi]; the weights sum to hi - lo."""
    t, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (hi - lo) * t + 0.5 * (hi + lo), 0.5 * (hi - lo) * w


def uniform_grid(lo, hi, n):
    """Tensor Gauss–Legendre rule on the box ``prod [lo_i, hi_i]``, ``n`` nodes
    per axis: points ``(n^d, d)`` and weights summing to 1 (the uniform
    distribution's expectation)."""
    lo, hi = np.atleast_1d(np.asarray(lo, float)), np.atleast_1d(np.asarray(hi, float))
    t, w = np.polynomial.legendre.leggauss(n)
    u, wu = (t + 1) / 2, w / 2
    d = lo.size
    U = np.stack(np.meshgrid(*[u] * d, indexing="ij"), -1).reshape(-1, d)
    W = np.prod(np.stack(np.meshgrid(*[wu] * d, indexing="ij"), -1), -1).ravel()
    return lo + U * (hi - lo), W


def quadratic_features(X):
    """The "quadratic" preset written out: x_i, x_i^2, then x_i x_j for i < j."""
    X = np.asarray(X, float)
    iu, ju = np.triu_indices(X.shape[1], k=1)
    return np.c_[X, X**2, X[:, iu] * X[:, ju]]


def exact_moments(F, w, coef):
    """Mean and Fisher matrix (covariance) of the features under
    ``p ∝ exp(coef·f)``, and ``log sum_q w_q exp(coef·f(x_q))``, from the
    feature values ``F`` (Q, p) at quadrature nodes with weights ``w``."""
    a = F @ coef
    top = a.max()
    dens = w * np.exp(a - top)
    total = dens.sum()
    dens = dens / total
    mean = dens @ F
    fisher = (F - mean).T @ ((F - mean) * dens[:, None])
    return mean, fisher, np.log(total) + top


def maxent_by_newton(F, w, mu, alpha=0.0, max_iter=100):
    """Exact maximiser of the (L2-penalised) max-ent dual
    ``coef·mu - log Z(coef) - alpha/2 |coef|^2`` with ``Z`` by quadrature:
    Newton's method with backtracking on this concave function, from zero."""

    def dual(c):
        return c @ mu - exact_moments(F, w, c)[2] - 0.5 * alpha * c @ c

    coef = np.zeros(F.shape[1])
    for _ in range(max_iter):
        m, fisher, _ = exact_moments(F, w, coef)
        grad = mu - m - alpha * coef
        if np.max(np.abs(grad)) < 1e-10:
            break
        hess = fisher + (alpha + 1e-12) * np.eye(len(m))
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while dual(coef + t * step) < dual(coef) and t > 1e-4:
            t /= 2
        coef = coef + t * step
    return coef


def quadratic_2d_exact(theta):
    """Moments, log Z (on the unit box) and Fisher matrix of ``p ∝ exp(theta·f)``
    on [0, 1]^2 with quadratic features f, by an 80 x 80 Gauss–Legendre rule."""
    X, W = uniform_grid([0.0, 0.0], [1.0, 1.0], 80)
    mu, fisher, log_z = exact_moments(quadratic_features(X), W, np.asarray(theta))
    return mu, log_z, fisher


# ------------------------------------------------- moments of the uniform box


def uniform_raw_moment(a, b, k):
    """``E[x^k]`` for ``x ~ U(a, b)``; exact in rational arithmetic when ``a``
    and ``b`` are ``Fraction``s."""
    return (b ** (k + 1) - a ** (k + 1)) / ((k + 1) * (b - a))


def quadratic_uniform_sd(lo, hi):
    """Standard deviations of the quadratic features under the uniform
    distribution on the box (independent coordinates), in closed form."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    m1, m2, m4 = (uniform_raw_moment(lo, hi, k) for k in (1, 2, 4))
    iu, ju = np.triu_indices(lo.size, k=1)
    var = np.r_[m2 - m1**2, m4 - m2**2, m2[iu] * m2[ju] - (m1[iu] * m1[ju]) ** 2]
    return np.sqrt(var)


# --------------------------------- truncated exponential p ∝ exp(θ x), [0, 1]


def exp_mean(theta):
    """Mean of p(x) ∝ exp(theta x) on [0, 1], in closed form."""
    return 1.0 / (-np.expm1(-theta)) - 1.0 / theta


def exp_theta(mean):
    """The theta whose truncated exponential on [0, 1] has this mean (< 1/2)."""
    return optimize.brentq(lambda t: exp_mean(t) - mean, -50, -1e-6)


def exp_log_z(theta):
    """``log ∫_0^1 exp(theta x) dx``."""
    return np.log(np.expm1(theta) / theta)


def exp_cdf(x, theta):
    return np.expm1(theta * x) / np.expm1(theta)


def exp_draws(rng, theta, size):
    """Exact draws by inverting the CDF."""
    return np.log1p(rng.uniform(size=size) * np.expm1(theta)) / theta


def inverse_cdf_draws(rng, grid, cdf, size):
    """Exact draws (up to the grid's interpolation error) of a 1-D law whose
    increasing, possibly unnormalised CDF is tabulated on ``grid``."""
    return np.interp(rng.uniform(size=size) * cdf[-1], cdf, grid)


# ------------------------------------------------------------------- Gaussians


def gaussian_box_integral(f, mean, precision, epsabs=1e-11, epsrel=1e-10):
    """``∫_[0,1]^2 f(x, y) exp(-d·P d / 2) dx dy``, ``d = (x, y) - mean``, by
    adaptive quadrature (scipy's dblquad)."""

    def integrand(y, x):
        d = np.array([x, y]) - mean
        return f(x, y) * np.exp(-0.5 * d @ precision @ d)

    return integrate.dblquad(integrand, 0, 1, 0, 1, epsabs=epsabs, epsrel=epsrel)[0]


def gaussian_quadratic_moments(m, S):
    """Targets of the quadratic features under N(m, S): (m, E[x_i^2], E[x_i x_j])."""
    iu, ju = np.triu_indices(len(m), k=1)
    second = S + np.outer(m, m)
    return np.r_[m, np.diag(second), second[iu, ju]]


def gaussian_quadratic_coef(m, S):
    """Natural parameters of N(m, S) for the quadratic features:
    ``(P m, -diag(P) / 2, -P_ij)`` with ``P = S^-1``."""
    P = np.linalg.inv(S)
    iu, ju = np.triu_indices(len(m), k=1)
    return np.r_[P @ m, -0.5 * np.diag(P), -P[iu, ju]]


def gaussian_sample_3d():
    """5,000 draws of a correlated 3-D Gaussian (sd 0.25) deep inside [-1, 1]^3:
    the faces are 4 sd away, so the truncated mass (~1e-4) is negligible and
    the quadratic max-ent model of the sample is the Gaussian of its mean and
    (biased) covariance."""
    rng = np.random.default_rng(0)
    corr = np.array([[1.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 1.0]])
    X = rng.multivariate_normal(np.zeros(3), 0.25**2 * corr, size=8000)
    return X[np.all(np.abs(X) < 1, axis=1)][:5000]


def chain_data(d, n, rho=0.5, seed=0):
    """AR(1) data: covariance rho^|i-j|, whose precision is tridiagonal."""
    idx = np.arange(d)
    cov = rho ** np.abs(idx[:, None] - idx[None, :])
    X = np.random.RandomState(seed).multivariate_normal(np.zeros(d), cov, size=n)
    return X, np.abs(idx[:, None] - idx[None, :]) == 1


def rejection_draws(rng, theta, n_dim, size, batch, pad):
    """Exact draws of ``p ∝ exp(theta·f)`` on [0, 1]^n_dim (quadratic f) by
    rejection from the uniform: the density is bounded by ``exp(max logp +
    pad)`` with the max over each batch of ``batch`` proposals."""
    samples = []
    while sum(len(s) for s in samples) < size:
        U = rng.uniform(size=(batch, n_dim))
        logp = quadratic_features(U) @ theta
        keep = np.log(rng.uniform(size=len(U))) < logp - (logp.max() + pad)
        samples.append(U[keep])
    return np.concatenate(samples)[:size]


# ------------------------------------------------------ checks of chain models


def chain_moment_error(model, target, scale, rounds, random_state):
    """Moment error of model samples against ``target``, and its standard
    error, both divided by ``scale``. Rows of ``sample`` come round by round
    over the chains, and the chains are independent given the parameters, so
    the spread of the per-chain means gives an honest standard error of the
    overall mean despite autocorrelation along each chain."""
    C = model.n_chains
    X = model.sample(rounds * C, random_state=random_state)
    F = model.transform(X).reshape(rounds, C, -1)
    se = F.mean(axis=0).std(axis=0, ddof=1) / np.sqrt(C) / scale
    return np.abs(F.mean(axis=(0, 1)) - target) / scale, se


# -------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def data_4d():
    """Correlated 4-d Gaussian data with columns in different units."""
    rng = np.random.RandomState(0)
    A = rng.randn(4, 4)
    cov = A @ A.T / 4 + np.eye(4)
    X = rng.multivariate_normal([1.0, -2.0, 0.5, 3.0], cov, size=500)
    return X * np.array([1.0, 10.0, 0.1, 1.0])


@pytest.fixture(scope="session")
def data_2d():
    """300 draws of a correlated 2-D normal, clipped to the box [-3.5, 3.5]^2."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2)) @ np.array([[1.0, 0.5], [0.0, 1.0]])
    return np.clip(X, -3.5, 3.5)


@pytest.fixture(scope="session")
def mlp_1d():
    """A MomentMatchingEBM with an MLP energy on [-2, 3], fitted to moments."""
    from skmaxent import MomentMatchingEBM
    from skmaxent.energies import MLP

    model = MomentMatchingEBM(
        "quadratic",
        energy_model=MLP(hidden=(8,)),
        bounds=[[-2.0, 3.0]],
        n_chains=256,
        random_state=0,
    )
    return model.fit(moments=[1.0, 2.0])


# ---------------------------------------------------------- hypothesis profiles

# Property-based tests (test_properties.py) run a fixed, derandomized budget
# in CI ("ci", the default: the same examples every run, a few minutes at
# most on 2 cores) and a long random search on request:
# SKMAXENT_HYPOTHESIS_PROFILE=long python -m pytest tests/test_properties.py
# (or pytest's --hypothesis-profile=long). No example database is written.
_SLOW_OK = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
]
hypothesis_settings.register_profile(
    "ci",
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=_SLOW_OK,
)
hypothesis_settings.register_profile(
    "long",
    max_examples=2000,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=_SLOW_OK,
)
hypothesis_settings.load_profile(os.environ.get("SKMAXENT_HYPOTHESIS_PROFILE", "ci"))
