"""ScoreMatchingGaussian against answers computed independently (NumPy, SciPy).

Reference values never come from the code under test: means and covariances
from ``np.mean``/``np.cov``, densities from ``scipy.stats``, the loss and its
gradient written out here. Random tests use fixed seeds, and their tolerances
are Monte Carlo standard errors, derived beside each assert. The checks
common to all estimators (pickle, clone, sampling, pipelines, grid search,
DataFrames, scikit-learn's estimator checks) are in test_contract.py and
test_common.py; the data sets ``data_4d`` and ``chain_data`` in conftest.py.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import chain_data
from scipy import stats
from sklearn.exceptions import ConvergenceWarning

import skmaxent._gaussian_solvers as solvers
import skmaxent.core.training.gaussian as core_gaussian
from skmaxent._gaussian import ScoreMatchingGaussian
from skmaxent.core import programs


def relative_error(a, b):
    return np.linalg.norm(np.asarray(a) - b) / np.linalg.norm(b)


def support_f1(P, truth):
    iu = np.triu_indices(P.shape[0], k=1)
    found, true = P[iu] != 0, truth[iu]
    return 2 * np.sum(found & true) / (found.sum() + true.sum())


def numpy_loss(X, mu, P):
    """mean_i 1/2 |P (x_i - mu)|^2 - tr(P), straight from the definition."""
    Y = (X - mu) @ P
    return 0.5 * np.mean(np.sum(Y**2, axis=1)) - np.trace(P)


@pytest.fixture(scope="module")
def data(data_4d):
    return data_4d


@pytest.fixture(scope="module")
def fitted(data):
    return ScoreMatchingGaussian().fit(data)


# ---------------------------------------------------------------- closed form


def test_closed_form_equals_mean_and_biased_covariance(data, fitted):
    cov = np.cov(data.T, bias=True)
    assert fitted.solver_ == "closed_form"
    assert fitted.n_iter_ == 1
    assert relative_error(fitted.location_, np.mean(data, axis=0)) < 1e-6
    assert relative_error(fitted.covariance_, cov) < 1e-6
    assert relative_error(fitted.precision_, np.linalg.inv(cov)) < 1e-6
    np.testing.assert_allclose(fitted.precision_, fitted.precision_.T, rtol=0, atol=0)
    for name in ("location_", "covariance_", "precision_"):
        assert getattr(fitted, name).dtype == np.float64


def test_assume_centered_uses_second_moment(data):
    model = ScoreMatchingGaussian(assume_centered=True).fit(data)
    assert np.all(model.location_ == 0)
    assert relative_error(model.covariance_, data.T @ data / len(data)) < 1e-6


def test_closed_form_is_the_minimiser(data, fitted):
    mu, P = fitted.location_, fitted.precision_
    best = numpy_loss(data, mu, P)
    # The minimum value is -tr(S^-1)/2 (see the Notes of the class).
    assert best == pytest.approx(
        -0.5 * np.trace(np.linalg.inv(np.cov(data.T, bias=True)))
    )
    assert fitted.score_matching_loss(data) == pytest.approx(best, rel=1e-10)
    rng = np.random.RandomState(1)
    for _ in range(10):
        E = rng.randn(4, 4)
        E = 1e-3 * (E + E.T) * np.abs(P).max()
        assert numpy_loss(data, mu, P + E) > best
        assert numpy_loss(data, mu + 1e-3 * rng.randn(4) * data.std(0), P) > best


def test_gradient_of_the_loss_vanishes_at_the_closed_form():
    # Unit-scale data so that float32 (JAX's default) resolves the gradient:
    # its entries are sums of O(1) terms, rounded at ~1e-7 relative each.
    rng = np.random.RandomState(2)
    X = rng.multivariate_normal(
        [0.5, -0.5, 0.0], [[1, 0.3, 0], [0.3, 1, 0.2], [0, 0.2, 1]], 400
    )
    model = ScoreMatchingGaussian().fit(X)

    def loss(mu, P, X):
        Y = (X - mu) @ P
        return 0.5 * jnp.mean(jnp.sum(Y**2, axis=1)) - jnp.trace(P)

    g_mu, g_P = jax.grad(loss, argnums=(0, 1))(
        jnp.asarray(model.location_, jnp.float32),
        jnp.asarray(model.precision_, jnp.float32),
        jnp.asarray(X, jnp.float32),
    )
    # As a function of a full matrix the gradient is (SP + PS)/2 - I.
    assert np.max(np.abs(g_mu)) < 1e-4
    assert np.max(np.abs(g_P)) < 1e-4


# ------------------------------------------------------------ gradient solver


def test_gradient_solver_reaches_the_closed_form(data, fitted):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = ScoreMatchingGaussian(solver="gradient").fit(data)
    assert model.solver_ == "gradient"
    assert model.n_iter_ >= 1
    assert relative_error(model.location_, fitted.location_) < 1e-3
    assert relative_error(model.precision_, fitted.precision_) < 1e-3
    assert relative_error(model.covariance_, fitted.covariance_) < 1e-3


def test_gradient_solver_compiles_once_per_shape(data):
    programs.clear()  # no fit below starts over Settings.max_programs
    ScoreMatchingGaussian(solver="gradient").fit(data)
    before = core_gaussian.gradient_steps._cache_size()
    ScoreMatchingGaussian(solver="gradient", learning_rate=0.03, tol=1e-5).fit(
        data[:300]
    )
    ScoreMatchingGaussian(solver="gradient", max_iter=700).fit(data * 2.0)
    assert core_gaussian.gradient_steps._cache_size() == before


def test_gradient_solver_warns_at_max_iter(data):
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        model = ScoreMatchingGaussian(solver="gradient", max_iter=3).fit(data)
    assert model.n_iter_ == 3


def test_verbose_prints_only_when_asked(data, capsys):
    ScoreMatchingGaussian(solver="gradient").fit(data)
    ScoreMatchingGaussian(alpha=0.01).fit(data)
    assert capsys.readouterr().out == ""
    ScoreMatchingGaussian(solver="gradient", verbose=1).fit(data)
    assert "residual" in capsys.readouterr().out


# ---------------------------------------------------- density and transforms


def test_score_samples_equal_scipy_logpdf(data, fitted):
    X_new = data[:50] + 0.3
    expected = stats.multivariate_normal(
        np.mean(data, axis=0), np.cov(data.T, bias=True)
    ).logpdf(X_new)
    np.testing.assert_allclose(fitted.score_samples(X_new), expected, rtol=1e-8)
    assert fitted.score(X_new) == pytest.approx(expected.mean(), rel=1e-8)


def test_mahalanobis_equals_the_quadratic_form(data, fitted):
    diff = data[:20] - np.mean(data, axis=0)
    expected = np.sum(diff @ np.linalg.inv(np.cov(data.T, bias=True)) * diff, axis=1)
    np.testing.assert_allclose(fitted.mahalanobis(data[:20]), expected, rtol=1e-8)


def test_transform_whitens_samples_from_the_model(fitted):
    n = 20_000
    Z = fitted.transform(fitted.sample(n, random_state=0))
    # Z ~ N(0, I) exactly, so the sample mean has standard error 1/sqrt(n),
    # a diagonal entry of the sample covariance sqrt(2/n) and an off-diagonal
    # one 1/sqrt(n). 4 + 10 checked entries: 4 standard errors keeps the
    # family-wise false-alarm rate below 14 * 6.3e-5 < 0.1%.
    assert np.max(np.abs(Z.mean(axis=0))) < 4 / np.sqrt(n)
    C = np.cov(Z.T, bias=True)
    assert np.max(np.abs(np.diag(C) - 1)) < 4 * np.sqrt(2 / n)
    assert np.max(np.abs(C[~np.eye(4, dtype=bool)])) < 4 / np.sqrt(n)


def test_transform_is_the_cholesky_whitening(data, fitted):
    L = np.linalg.cholesky(np.linalg.inv(np.cov(data.T, bias=True)))
    expected = (data - data.mean(axis=0)) @ L
    np.testing.assert_allclose(fitted.transform(data), expected, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(
        fitted.fit_transform(data), expected, rtol=1e-7, atol=1e-9
    )


def test_inverse_transform_undoes_transform(data, fitted):
    back = fitted.inverse_transform(fitted.transform(data))
    np.testing.assert_allclose(back, data, rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError, match="3 features"):
        fitted.inverse_transform(np.zeros((2, 3)))


def test_sample_matches_the_fitted_moments(fitted):
    n = 20_000
    X = fitted.sample(n, random_state=1)
    assert X.shape == (n, 4) and X.dtype == np.float64
    # Standard error of the mean of column j is sqrt(Sigma_jj / n); 4 SE.
    se = np.sqrt(np.diag(fitted.covariance_) / n)
    assert np.all(np.abs(X.mean(axis=0) - fitted.location_) < 4 * se)


# --------------------------------------------------------------- sparse mode


@pytest.fixture(scope="module")
def chain():
    return chain_data(d=15, n=600)


def test_sparse_mode_recovers_a_tridiagonal_support(chain):
    X, truth = chain
    S = np.cov(X.T, bias=True)
    # alpha_max: above it diag(1/S_ii) is optimal, since the off-diagonal
    # gradient there is S_ij (1/S_ii + 1/S_jj) / 2.
    inv = 1 / np.diag(S)
    a_max = np.max(
        np.abs(S * (inv[:, None] + inv[None, :]) / 2)[~np.eye(15, dtype=bool)]
    )
    f1 = []
    for frac in (0.02, 0.05, 0.1, 0.2, 0.4):
        model = ScoreMatchingGaussian(alpha=frac * a_max).fit(X)
        P = model.precision_
        assert model.solver_ == "proximal"
        np.testing.assert_array_equal(P, P.T)
        assert np.linalg.eigvalsh(P)[0] > 0
        np.linalg.cholesky(P)
        f1.append(support_f1(P, truth))
    assert max(f1) >= 0.9, f1


def test_sparse_solution_satisfies_the_lasso_optimality_conditions(chain):
    X, _ = chain
    alpha = 0.05
    model = ScoreMatchingGaussian(alpha=alpha, tol=1e-12, max_iter=20_000).fit(X)
    P = model.precision_
    S = np.cov(X.T, bias=True)
    G = (S @ P + P @ S) / 2 - np.eye(15)  # gradient of the smooth part
    off = ~np.eye(15, dtype=bool)
    nonzero, zero = off & (P != 0), off & (P == 0)
    assert zero.any() and nonzero.any()
    np.testing.assert_allclose(np.diag(G), 0, atol=1e-8)
    np.testing.assert_allclose(G[nonzero], -alpha * np.sign(P[nonzero]), atol=1e-8)
    assert np.all(np.abs(G[zero]) <= alpha + 1e-8)
    # The fitted covariance is the model's: the inverse of the precision.
    np.testing.assert_allclose(model.covariance_ @ P, np.eye(15), atol=1e-8)


def test_alpha_above_alpha_max_gives_the_diagonal_precision(chain):
    X, _ = chain
    S = np.cov(X.T, bias=True)
    inv = 1 / np.diag(S)
    a_max = np.max(
        np.abs(S * (inv[:, None] + inv[None, :]) / 2)[~np.eye(15, dtype=bool)]
    )
    model = ScoreMatchingGaussian(alpha=1.001 * a_max).fit(X)
    np.testing.assert_allclose(model.precision_, np.diag(inv), rtol=1e-10)
    below = ScoreMatchingGaussian(alpha=0.99 * a_max).fit(X).precision_
    assert np.count_nonzero(below - np.diag(np.diag(below))) > 0


def test_small_alpha_approaches_the_closed_form(chain):
    X, _ = chain
    sparse = ScoreMatchingGaussian(alpha=1e-8, tol=1e-10, max_iter=20_000).fit(X)
    exact = np.linalg.inv(np.cov(X.T, bias=True))
    assert relative_error(sparse.precision_, exact) < 1e-6


def test_positive_definite_shift_lifts_the_smallest_eigenvalue():
    S = np.diag([1.0, 4.0])
    P = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues -1 and 3
    Q, shift = solvers._positive_definite(P, S)
    # The floor is eigen_floor / lambda_max(S) = 0.01 / 4 (the default).
    assert np.linalg.eigvalsh(Q)[0] == pytest.approx(0.01 / 4)
    assert shift == pytest.approx(1 + 0.01 / 4)
    np.testing.assert_array_equal(Q - np.diag(np.diag(Q)), P - np.diag(np.diag(P)))


# ------------------------------------------------------------ degenerate data


def degenerate_sets():
    rng = np.random.RandomState(5)
    few = rng.randn(6, 10)
    constant = rng.randn(40, 4)
    constant[:, 2] = 3.3
    collinear = rng.randn(40, 3)
    collinear = np.column_stack([collinear, collinear[:, 0] - collinear[:, 1]])
    return {"n<d": few, "constant": constant, "collinear": collinear}


@pytest.mark.parametrize("name", ["n<d", "constant", "collinear"])
def test_degenerate_data_needs_alpha(name):
    X = degenerate_sets()[name]
    for solver in ("auto", "closed_form", "gradient"):
        with pytest.raises(ValueError, match=r"singular.*alpha > 0"):
            ScoreMatchingGaussian(solver=solver).fit(X)
    model = ScoreMatchingGaussian(alpha=0.1).fit(X)
    assert np.linalg.eigvalsh(model.precision_)[0] > 0
    assert np.all(np.isfinite(model.score_samples(X)))
    assert np.all(np.isfinite(model.sample(3, random_state=0)))


def test_one_sample_error_names_n_samples():
    with pytest.raises(ValueError, match="n_samples=1"):
        ScoreMatchingGaussian().fit(np.ones((1, 3)))


# -------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "params, match",
    [
        ({"alpha": -1.0}, "alpha"),
        ({"solver": "lbfgs"}, "solver"),
        ({"max_iter": 0}, "max_iter"),
        ({"tol": -1.0}, "tol"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"solver": "closed_form", "alpha": 0.1}, "alpha"),
        ({"solver": "gradient", "alpha": 0.1}, "alpha"),
    ],
)
def test_bad_parameters_are_named(data, params, match):
    with pytest.raises(ValueError, match=match):
        ScoreMatchingGaussian(**params).fit(data)


def test_bad_data_is_rejected(data, fitted):
    bad = data.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ScoreMatchingGaussian().fit(bad)
    with pytest.raises(ValueError, match="4 features"):
        fitted.score_samples(np.zeros((2, 3)))


# ------------------------------------------------------ scikit-learn integration


def test_score_is_the_held_out_mean_log_likelihood(chain):
    # What GridSearchCV maximises (see test_contract.py).
    X, _ = chain
    train, test = slice(0, 400), slice(400, 600)
    model = ScoreMatchingGaussian(alpha=0.05).fit(X[train])
    expected = (
        stats.multivariate_normal(model.location_, model.covariance_)
        .logpdf(X[test])
        .mean()
    )
    assert model.score(X[test]) == pytest.approx(expected, rel=1e-8)
