"""Supports open on one or both sides, against closed forms and quadrature.

Tolerances as in ``test_maxent.py``: a fitted ``coef`` is off by the chains'
Monte Carlo error mapped through the inverse Fisher matrix, standard error
``sqrt((F^-1)_kk / ESS)`` with ``ESS = 512 * 200 / 10`` (200 averaged
iterations of 512 chains, autocorrelation time at most ~10); we allow 4 of
them. ``log_partition_`` is compared with the exact ``log Z`` *of the fitted
coef* within 3 reported standard errors plus 0.01 (the AIS estimate's
Jensen bias, about ``Var / 2``, is below 0.002 at the 0.05 target).
Sampled moments are checked with :func:`conftest.chain_moment_error` at 4
of their standard errors plus 0.01 (the fit's own error, as in
``test_maxent.py``).
"""

import warnings

import numpy as np
import pytest
from conftest import ESS, chain_moment_error
from scipy import integrate, stats
from sklearn.datasets import load_wine
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmaxent import MaxEntDual, MomentMatchingEBM
from skmaxent._inputs.support import confinement
from skmaxent._inputs.validation import check_bounds
from skmaxent.core.sampling import hmc
from skmaxent.features import (
    Custom,
    Indicator,
    Legendre,
    Moment,
    Product,
    resolve_features,
)

INF = np.inf


def _quad_log_z(coef, lo, hi):
    """``log ∫_lo^hi exp(c1 x + c2 x²) dx`` by adaptive quadrature."""
    c1, c2 = coef
    peak = -c1 / (2 * c2) if c2 < 0 else 0.0
    shift = c1 * np.clip(peak, lo, hi) + c2 * np.clip(peak, lo, hi) ** 2
    val, _ = integrate.quad(
        lambda x: np.exp(c1 * x + c2 * x * x - shift), lo, hi, epsabs=0, epsrel=1e-12
    )
    return np.log(val) + shift


@pytest.mark.parametrize(
    ("bounds", "mean", "coef", "log_z"),
    [
        # [0, inf), mean 2: p = exp(-x / 2) / 2.
        ([0.0, INF], 2.0, -0.5, np.log(2.0)),
        # (-inf, 3], mean 1: p ∝ exp(x / 2), Z = exp(3 / 2) / (1 / 2).
        ([-INF, 3.0], 1.0, 0.5, 1.5 + np.log(2.0)),
    ],
)
def test_exponential_on_a_half_line(bounds, mean, coef, log_z):
    model = MaxEntDual([Moment(0)], bounds=[bounds], random_state=0)
    model.fit(moments=[mean])
    assert model.converged_
    assert np.all(np.isinf(model.bounds_) == np.isinf(bounds))
    # Var[x] = 1 / coef² for the exponential: se = sqrt(1 / (Var ESS)).
    se = np.sqrt(coef**2 / ESS)
    assert abs(model.coef_[0] - coef) < 4 * se
    # log Z of the fitted c: c a - log(-c) on [a, inf), c b - log(c) on (-inf, b].
    c = model.coef_[0]
    exact = c * bounds[0] - np.log(-c) if c < 0 else c * bounds[1] - np.log(c)
    # ...and the exact one's within the coef's error, by the delta method
    # (d log Z / dc = E[x] = mean at the true c).
    assert abs(exact - log_z) < 4 * se * (abs(mean) + 0.1)
    assert abs(model.log_partition_ - exact) < 3 * model.log_partition_std_ + 0.01
    err, se_m = chain_moment_error(model, [mean], abs(1 / coef), 16, 1)
    assert err[0] < 4 * se_m[0] + 0.01
    X = model.sample(2000, random_state=0)
    assert np.all((X >= bounds[0]) & (X <= bounds[1]))


def test_truncated_gaussian_on_a_half_line():
    """Mean and second moment on [0, inf): N(0.5, 1) truncated at 0."""
    law = stats.truncnorm(-0.5, INF, loc=0.5, scale=1.0)
    mu = np.array([law.mean(), law.var() + law.mean() ** 2])
    coef = np.array([0.5, -0.5])
    # Fisher matrix: the covariance of (x, x²) under the truncated law.
    m = [law.expect(lambda x, k=k: x**k) for k in range(1, 5)]
    fisher = np.array([[m[1] - m[0] ** 2, m[2] - m[0] * m[1]], [0, m[3] - m[1] ** 2]])
    fisher[1, 0] = fisher[0, 1]
    se = np.sqrt(np.diag(np.linalg.inv(fisher)) / ESS)
    model = MaxEntDual([Moment(0), Moment(0, 2)], bounds=[[0, INF]], random_state=0)
    model.fit(moments=mu)
    np.testing.assert_array_less(np.abs(model.coef_ - coef), 4 * se)
    exact = _quad_log_z(model.coef_, 0.0, INF)
    assert abs(model.log_partition_ - exact) < 3 * model.log_partition_std_ + 0.01
    sd = np.sqrt(np.diag(fisher))
    err, se_m = chain_moment_error(model, mu, sd, 16, 1)
    assert np.all(err < 4 * se_m + 0.01)


def _gaussian_log_z(coef, n):
    """``log ∫_R^n exp(coef · f)`` for the quadratic features, closed form."""
    b = coef[:n]
    P = -2.0 * np.diag(coef[n : 2 * n])
    iu, ju = np.triu_indices(n, k=1)
    P[iu, ju] = P[ju, iu] = -coef[2 * n :]
    sign, logdet = np.linalg.slogdet(P)
    assert sign > 0
    return 0.5 * n * np.log(2 * np.pi) - 0.5 * logdet + 0.5 * b @ np.linalg.solve(P, b)


def test_correlated_gaussian_on_the_line_learned_from_the_reference():
    """Quadratic targets of N(m, S) on R^2, corr 0.9: the Gaussian, from init='zero'
    (the independent reference Gaussian), so the correlation must be learned."""
    m, S = np.array([1.0, -2.0]), np.array([[1.0, 0.9], [0.9, 1.0]]) * 4.0
    P = np.linalg.inv(S)
    coef = np.r_[P @ m, -0.5 * np.diag(P), -P[0, 1]]
    mu = np.r_[m, np.diag(S) + m**2, S[0, 1] + m[0] * m[1]]
    # Fisher matrix from exact draws (independent of the package).
    X = np.random.default_rng(0).multivariate_normal(m, S, size=400_000)
    F = np.c_[X, X**2, X[:, 0] * X[:, 1]]
    se = np.sqrt(np.diag(np.linalg.inv(np.cov(F.T))) / ESS)
    model = MaxEntDual(
        "quadratic", bounds=[[-INF, INF]] * 2, init="zero", random_state=0
    ).fit(moments=mu)
    assert model.init_ == "zero" and model.converged_
    np.testing.assert_array_less(np.abs(model.coef_ - coef), 4 * se)
    exact = _gaussian_log_z(model.coef_, 2)
    assert abs(model.log_partition_ - exact) < 3 * model.log_partition_std_ + 0.01
    err, se_m = chain_moment_error(model, mu, F.std(axis=0), 16, 1)
    assert np.all(err < 4 * se_m + 0.01)


def test_score_samples_is_minus_energy_minus_log_partition():
    rng = np.random.default_rng(0)
    for bounds in ([[-2.0, 5.0], [1.0, 3.0]], [[-INF, INF], [0.0, INF]]):
        X = np.abs(rng.normal(size=(200, 2))) * [1.0, 0.5] + [0.0, 1.0]
        X = X[X[:, 1] < 3.0]
        model = MaxEntDual("quadratic", bounds=bounds, random_state=0, max_iter=200)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X)
        lhs = model.score_samples(X[:20])
        rhs = -model.energy(X[:20]) - model.log_partition_
        np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("features", "bounds", "moments", "match"),
    [
        ([Moment(0)], [[-INF, INF]], [0.0], r"Moment\(0, 2\)"),
        ([Indicator(0, 0, 1)], [[0, INF]], [0.5], r"Moment\(0\)"),
        ([Legendre(0, 2)], [[0, INF]], [0.1], r"Moment\(0\)"),
        ([Moment(0)], [[0, INF]], [-1.0], "outside"),
        ([Moment(0)], [[0, INF]], [0.0], "limit"),
        ([Moment(0), Moment(0, 2)], [[-INF, INF]], [1.0, 0.5], "second moment"),
        ([Moment(0), Moment(0, 2)], [[-INF, INF]], [1.0, 1.0], "point mass"),
    ],
)
def test_impossible_targets_on_open_supports_raise(features, bounds, moments, match):
    with pytest.raises(ValueError, match=match):
        MaxEntDual(features, bounds=bounds).fit(moments=moments)


@pytest.mark.parametrize(
    ("features", "bounds", "match"),
    [
        ([Moment(0), Moment(0, 2), Moment(0, 3)], [[-INF, INF]], "is odd"),
        ([Moment(0), Moment(1), Product(0, 1)], [[0, INF]] * 2, r"lack Moment"),
        ([Custom(lambda x: x[0] ** 2, "c")], [[-INF, INF]], "Custom"),
    ],
)
def test_features_without_a_density_on_open_supports_raise(features, bounds, match):
    with pytest.raises(ValueError, match=match):
        MaxEntDual(features, bounds=bounds).fit(moments=[1.0] * len(features))


def test_confinement_of_coefficients():
    """``confinement`` against hand-made cases: decaying or not, and the
    quadratic form's definiteness (corr 0.5 vs a product coefficient that
    makes it indefinite)."""
    quad = [Moment(0), Moment(1), Moment(0, 2), Moment(1, 2), Product(0, 1)]
    line = np.array([[-INF, INF]] * 2)
    assert confinement(quad, np.array([0, 0, -0.5, -0.5, 0.5]), line) is None
    assert "definite" in confinement(quad, np.array([0, 0, -0.5, -0.5, 1.5]), line)
    # x0 on [0, inf) coupled to a Gaussian x1: exp(-x0²/2 - x1²/2 + e x0 x1)
    # grows along x0 after integrating x1 exactly when e² > 1 (Schur).
    half = np.array([[0, INF], [-INF, INF]])
    assert confinement(quad, np.array([0, 0, -0.5, -0.5, 0.9]), half) is None
    assert "grows" in confinement(quad, np.array([0, 0, -0.5, -0.5, 1.1]), half)
    exp = [Moment(0)]
    assert confinement(exp, np.array([-1.0]), np.array([[0, INF]])) is None
    assert "decay" in confinement(exp, np.array([1.0]), np.array([[0, INF]]))
    assert confinement(exp, np.array([1.0]), np.array([[-INF, 0]])) is None
    quartic = [Moment(0, 2), Moment(0, 4)]
    assert "decay" in confinement(quartic, np.array([-1.0, 0.1]), line[:1])
    assert confinement(quartic, np.array([1.0, -0.1]), line[:1]) is None


def test_bounds_may_be_open_but_not_nan_or_inverted():
    assert np.all(np.isinf(check_bounds([[-INF, INF], [0, INF]])[0]))
    for bad in ([[np.nan, 1.0]], [[INF, INF]], [[0.0, -INF]], [[1.0, 1.0]]):
        with pytest.raises(ValueError, match=r"bounds\[0\]"):
            check_bounds(bad)


def test_bounds_none_is_unbounded_for_quadratic_features_only():
    X = np.random.default_rng(0).normal(size=(300, 2))
    quad = MaxEntDual(random_state=0, max_iter=300).fit(X)
    assert np.all(np.isinf(quad.bounds_))
    # A row far beyond the data still has a finite log-density.
    assert np.all(np.isfinite(quad.score_samples([[8.0, -8.0], [30.0, 0.0]])))
    leg = MaxEntDual([Legendre(0, 1), Legendre(1, 2)], random_state=0, max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        leg.fit(X)
    assert np.all(np.isfinite(leg.bounds_))
    with pytest.warns(UserWarning, match="outside"):
        assert np.isneginf(leg.score_samples([[30.0, 0.0]])[0])


def test_cross_validation_on_real_data_gives_finite_scores():
    """The issue's box trap: standardised wine columns, default bounds, 5 folds."""
    X = load_wine().data[:, :3]
    pipe = make_pipeline(StandardScaler(), MaxEntDual(random_state=0))
    scores = cross_val_score(pipe, X, cv=KFold(5, shuffle=True, random_state=0))
    assert np.all(np.isfinite(scores)), scores


def test_half_line_products_and_mixed_walls_sample_inside():
    bounds = [[0.0, INF], [-INF, INF], [-1.0, 1.0]]
    features = [Moment(0), Moment(0, 2), Moment(1), Moment(1, 2), Moment(2)]
    features += [Product(0, 1)]
    mu = [1.0, 1.6, 0.0, 1.0, 0.1, 0.3]
    model = MaxEntDual(features, bounds=bounds, random_state=0).fit(moments=mu)
    X = model.sample(4000, random_state=0)
    assert np.all(X[:, 0] >= 0) and np.all(np.abs(X[:, 2]) <= 1)
    s = model.transform(X).std(axis=0)
    err, se = chain_moment_error(model, mu, s, 16, 2)
    assert np.all(err < 4 * se + 0.01)


def test_moment_matching_needs_a_box():
    with pytest.raises(ValueError, match=r"bounds\[0\].*finite"):
        MomentMatchingEBM("quadratic", bounds=[[0, INF]]).fit(moments=[1.0, 2.0])


@pytest.mark.parametrize("walls", [0, 1, 2, 3])
def test_reflect_keeps_the_support_and_is_an_involution(walls):
    """The fold lands in the support, and reflecting the momentum-reversed
    flight retraces it (the drift is reversible)."""
    rng = np.random.default_rng(0)
    u = rng.uniform(0, 1, size=1000)
    p = rng.normal(scale=3.0, size=1000)
    w = np.full(1000, walls, np.int32)
    y, q = (np.asarray(a) for a in hmc.reflect(u + p, p, w))
    if walls & 1:
        assert np.all(y >= 0)
    if walls & 2:
        assert np.all(y <= 1)
    back, _ = (np.asarray(a) for a in hmc.reflect(y - q, -q, w))
    np.testing.assert_allclose(back, u, atol=1e-5)


def test_legendre_preset_is_the_quadratic_preset_plus_marginal_shapes():
    quadratic = resolve_features("quadratic", 2)
    shapes = (Legendre(0, 3), Legendre(0, 4), Legendre(1, 3), Legendre(1, 4))
    assert resolve_features("legendre4", 2) == quadratic + shapes
    with pytest.raises(ValueError, match="legendre3"):
        resolve_features("legendre9", 2)


def test_legendre_on_the_line_is_constant_beyond_its_interval_and_normalised():
    """Bimodal 1-D data on the line, "legendre6": Legendre shapes inside the
    reference interval, Gaussian tails beyond. Beyond it, only x and x² change
    the energy; log_partition_ against a quadrature of exp(-energy) on a wide
    grid (the tails beyond ±40 carry < exp(-100))."""
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(-2, 0.6, 400), rng.normal(1.5, 0.8, 400)][:, None]
    model = MaxEntDual("legendre6", random_state=0).fit(X)
    assert np.isinf(model.bounds_).all()
    c = model.coef_
    far = np.array([[20.0], [21.0], [-20.0], [-21.0]])
    dE = np.diff(model.energy(far))[[0, 2]]
    np.testing.assert_allclose(dE, [-(c[0] + 41 * c[1]), -(-c[0] + 41 * c[1])])
    grid = np.linspace(-40, 40, 400_001)
    log_density = -model.energy(grid[:, None])
    shift = log_density.max()
    log_z = np.log(integrate.trapezoid(np.exp(log_density - shift), grid)) + shift
    assert abs(model.log_partition_ - log_z) < 3 * model.log_partition_std_ + 0.01
    # Bimodal data: the shapes must beat the Gaussian (quadratic) held out.
    test = np.r_[rng.normal(-2, 0.6, 400), rng.normal(1.5, 0.8, 400)][:, None]
    gauss = MaxEntDual("quadratic", random_state=0).fit(X)
    assert model.score(test) > gauss.score(test) + 0.1
