"""MaxEntDual against exact answers computed independently (closed forms, quadrature).

Tolerances. A fitted ``coef`` differs from the exact one by the Monte Carlo
error of the chains' moment estimates mapped through the inverse Fisher
matrix, ``d coef = F^-1 d mu``. The final ``coef_`` averages 200 iterates of
512 chains; with an integrated autocorrelation of at most ~10 iterations the
effective sample size is at least ``ESS = 512 * 200 / 10 ≈ 10,000``, so the
standard error of ``coef_k`` is about ``sqrt((F^-1)_kk / ESS)``. Tests compare
at 4 such standard errors (or the contract's absolute bound when that is
tighter and still several standard errors wide).
"""

import pickle
import warnings

import numpy as np
import pytest
from scipy import optimize
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skmaxent import MaxEntDual
from skmaxent.features import Indicator, Moment, Product

ESS = 512 * 200 / 10


def exp_mean(theta):
    """Mean of p(x) ∝ exp(theta x) on [0, 1], in closed form."""
    return 1.0 / (-np.expm1(-theta)) - 1.0 / theta


def gauss_legendre_grid(lo, hi, n=200):
    t, w = np.polynomial.legendre.leggauss(n)
    x = 0.5 * (hi - lo) * t + 0.5 * (hi + lo)
    return x, 0.5 * (hi - lo) * w


@pytest.fixture(scope="module")
def one_d():
    theta = optimize.brentq(lambda t: exp_mean(t) - 0.3, -50, -1e-6)
    model = MaxEntDual("linear", bounds=[[0, 1]], random_state=0).fit(moments=[0.3])
    return theta, model


def test_1d_mean_recovers_exact_theta(one_d):
    theta, model = one_d
    # Var_theta[x] from the closed form: d mean / d theta.
    var = (exp_mean(theta + 1e-4) - exp_mean(theta - 1e-4)) / 2e-4
    se = np.sqrt(1 / var / ESS)
    assert model.converged_
    assert abs(model.coef_[0] - theta) < min(0.05, 4 * se + 0.01)


def test_1d_score_samples_equal_exact_log_density(one_d):
    theta, model = one_d
    grid = np.linspace(0, 1, 51)[:, None]
    log_z = np.log(np.expm1(theta) / theta)
    exact = theta * grid[:, 0] - log_z
    assert np.max(np.abs(model.score_samples(grid) - exact)) < 0.03


def test_1d_two_features_against_quadrature():
    theta = np.array([2.0, -4.0])
    x, w = gauss_legendre_grid(0.0, 1.0)
    F = np.c_[x, x**2]
    p = np.exp(F @ theta)
    p /= p @ w
    mu = (F * (p * w)[:, None]).sum(0)
    fisher = (F - mu).T @ ((F - mu) * (p * w)[:, None])
    se = np.sqrt(np.diag(np.linalg.inv(fisher)) / ESS)
    model = MaxEntDual([Moment(0), Moment(0, 2)], bounds=[[0, 1]], random_state=1)
    model.fit(moments=mu)
    np.testing.assert_array_less(np.abs(model.coef_ - theta), 4 * se)


def test_non_unit_box_normalised_and_log_partition():
    lo, hi = -2.0, 5.0
    theta = np.array([0.3, -0.1])
    x, w = gauss_legendre_grid(lo, hi)
    F = np.c_[x, x**2]
    dens = np.exp(F @ theta)
    log_z_unit = np.log((dens @ w) / (hi - lo))  # log ∫_[0,1] exp(-E(x(u))) du
    mu = (F * (dens * w)[:, None]).sum(0) / (dens @ w)
    model = MaxEntDual([Moment(0), Moment(0, 2)], bounds=[[lo, hi]], random_state=2)
    model.fit(moments=mu)
    # The model's density integrates to exp(log Z(coef_) - log_partition_): the
    # AIS error. Exact log Z(coef_) by quadrature:
    exact_model_log_z = np.log((np.exp(F @ model.coef_) @ w) / (hi - lo))
    err = abs(model.log_partition_ - exact_model_log_z)
    # 3 standard errors plus 0.01 nats for the small negative bias of AIS
    # (Jensen: E[log Zhat] <= log Z) with 200 temperatures.
    assert err < 3 * model.log_partition_std_ + 0.01
    total = np.exp(model.score_samples(x[:, None])) @ w
    assert abs(np.log(total)) < 3 * model.log_partition_std_ + 0.01
    assert abs(exact_model_log_z - log_z_unit) < 0.1
    assert model.score_samples([[hi + 0.1]])[0] == -np.inf


def quadratic_2d_exact(theta):
    x, w = gauss_legendre_grid(0.0, 1.0, 80)
    X1, X2 = np.meshgrid(x, x, indexing="ij")
    W = np.outer(w, w).ravel()
    P = np.c_[X1.ravel(), X2.ravel()]
    F = np.c_[P[:, 0], P[:, 1], P[:, 0] ** 2, P[:, 1] ** 2, P[:, 0] * P[:, 1]]
    dens = np.exp(F @ theta) * W
    Z = dens.sum()
    mu = F.T @ dens / Z
    fisher = (F - mu).T @ ((F - mu) * (dens / Z)[:, None])
    return mu, np.log(Z), fisher


@pytest.fixture(scope="module")
def two_d():
    theta = np.array([1.0, -0.5, -2.0, -1.0, 2.5])
    mu, log_z, fisher = quadratic_2d_exact(theta)
    model = MaxEntDual(bounds=[[0, 1], [0, 1]], random_state=3).fit(moments=mu)
    return theta, log_z, fisher, model


def test_2d_quadratic_recovers_theta(two_d):
    theta, _, fisher, model = two_d
    assert model.converged_
    rel = np.linalg.norm(model.coef_ - theta) / np.linalg.norm(theta)
    assert rel < 0.1


def test_2d_held_out_log_likelihood(two_d):
    theta, log_z, _, model = two_d
    # Exact samples by rejection from the uniform proposal (density bounded by
    # exp(max energy) on a fine grid, times a safety factor).
    rng = np.random.default_rng(0)
    U = rng.uniform(size=(200_000, 2))
    F = np.c_[U, U**2, U[:, 0] * U[:, 1]]
    logp = F @ theta
    keep = np.log(rng.uniform(size=len(U))) < logp - (logp.max() + 0.1)
    X = U[keep][:5000]
    exact = np.mean(F[keep][:5000] @ theta) - log_z
    assert abs(model.score(X) - exact) < 0.02


def test_infeasible_targets_raise_before_any_jax_call(monkeypatch):
    # The jitted entry points are module-level objects: replace them by
    # recorders, so that any call (hence any tracing) is seen.
    from skmaxent import _data
    from skmaxent.core import chains, loop

    calls = []
    monkeypatch.setattr(loop, "run_chunk", lambda *a, **k: calls.append("run"))
    monkeypatch.setattr(loop, "start", lambda *a, **k: calls.append("start"))
    monkeypatch.setattr(_data, "_values_batch", lambda *a, **k: calls.append("f"))
    monkeypatch.setattr(chains, "log_partition", lambda *a, **k: calls.append("z"))
    bad = [
        ([Moment(0)], [[0, 1]], [1.5]),
        ([Indicator(0, 0.2, 0.4)], [[0, 1]], [1.2]),
        ([Moment(0), Moment(0, 2)], [[0, 1]], [0.5, 0.1]),
        ([Moment(0), Moment(1), Product(0, 1)], [[0, 1], [0, 1]], [0.5, 0.5, 1.5]),
    ]
    for features, bounds, moments in bad:
        with pytest.raises(ValueError, match="moments|x0"):
            MaxEntDual(features, bounds=bounds).fit(moments=moments)
    with pytest.raises(ValueError, match="bounds"):
        MaxEntDual("linear").fit(moments=[0.5])
    with pytest.raises(ValueError, match="moments"):
        MaxEntDual("linear", bounds=[[0, 1]]).fit(moments=[0.5, 0.2])
    with pytest.raises(ValueError, match="outside bounds"):
        MaxEntDual("linear", bounds=[[0, 1]]).fit([[0.5], [1.5]])
    assert calls == []


def test_elicitation_with_indicator_matches_targets():
    # A discontinuous energy (indicator) and features of very different scales:
    # the regression case where the step size once collapsed to zero.
    bounds = [[0.0, 500.0], [1.0, 36.0], [0.0, 1.0]]
    features = [Moment(0), Moment(1), Moment(2), Moment(0, 2), Moment(1, 2)]
    features += [Product(0, 1), Indicator(2, 0.5, 1.0)]
    mu = np.array([150, 12, 0.35, 80**2 + 150**2, 36 + 144, 150 * 12 + 240, 0.2])
    model = MaxEntDual(features, bounds=bounds, random_state=0).fit(moments=mu)
    assert model.converged_
    assert model.step_size_ > 0.01
    n_chains = model.n_chains
    X = model.sample(16 * n_chains, random_state=1)
    F = model.transform(X).reshape(16, n_chains, -1)
    # Rows come round by round over the chains; chains are independent given
    # coef_, so the spread of per-chain means gives an honest standard error
    # of the overall mean despite autocorrelation along each chain.
    chain_means = F.mean(axis=0)
    se = chain_means.std(axis=0, ddof=1) / np.sqrt(n_chains)
    # Allowed: 4 standard errors of this check (7 features: a false alarm has
    # probability < 5e-4) plus the fit's own Monte Carlo error: coef_ averages
    # 200 iterations of 512 chains, so the moments it implies carry a
    # standardised error ~ 1 / sqrt(200 * 512 / tau) <= 0.01 for an
    # autocorrelation time tau <= 10 iterations; we allow 0.01 * uniform std.
    lo, hi = np.array(bounds).T
    u = np.random.default_rng(0).uniform(lo, hi, size=(200_000, 3))
    s_uniform = model.transform(u).std(axis=0)
    assert np.all(np.abs(F.mean(axis=(0, 1)) - mu) < 4 * se + 0.01 * s_uniform)


def test_exactly_one_of_X_and_moments():
    with pytest.raises(ValueError, match="exactly one"):
        MaxEntDual("linear", bounds=[[0, 1]]).fit([[0.5]], moments=[0.5])
    with pytest.raises(ValueError, match="exactly one"):
        MaxEntDual("linear", bounds=[[0, 1]]).fit()


def test_X_outside_bounds_raises():
    with pytest.raises(ValueError, match="outside bounds"):
        MaxEntDual("linear", bounds=[[0, 1]]).fit([[0.5], [1.5]])


def test_moments_by_name_same_as_array():
    kw = dict(bounds=[[0, 1], [0, 2]], n_chains=64, max_iter=50, random_state=0)
    a = MaxEntDual("linear", **kw).fit(moments=[0.4, 1.2])
    b = MaxEntDual("linear", **kw).fit(moments={"x1": 1.2, "x0": 0.4})
    np.testing.assert_array_equal(a.coef_, b.coef_)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2)) @ np.array([[1.0, 0.5], [0.0, 1.0]])
    return np.clip(X, -3.5, 3.5)


FAST = dict(n_chains=64, max_iter=100, bounds=[[-4, 4], [-4, 4]])


def test_same_random_state_same_model_and_pickle(data):
    a = MaxEntDual(random_state=0, **FAST).fit(data)
    b = MaxEntDual(random_state=0, **FAST).fit(data)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.score_samples(data), c.score_samples(data))
    np.testing.assert_array_equal(
        a.sample(10, random_state=0), c.sample(10, random_state=0)
    )
    d = clone(a)
    assert d.get_params() == a.get_params() and not hasattr(d, "coef_")


def test_sample_does_not_change_estimator(data):
    model = MaxEntDual(random_state=0, **FAST).fit(data)
    chains = model.chains_.copy()
    s1 = model.sample(100, random_state=5)
    s2 = model.sample(100, random_state=5)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(chains, model.chains_)
    assert s1.shape == (100, 2)
    assert np.all((s1 >= -4) & (s1 <= 4))


def test_pipeline_and_grid_search(data):
    pipe = make_pipeline(
        MinMaxScaler(), MaxEntDual(bounds=[[-0.1, 1.1]] * 2, n_chains=64, max_iter=100)
    )
    pipe.fit(data)
    assert np.isfinite(pipe.score(data))
    search = GridSearchCV(
        MaxEntDual(random_state=0, **FAST), {"alpha": [0.0, 10.0]}, cv=2
    )
    search.fit(data)
    assert search.best_params_["alpha"] in (0.0, 10.0)


def test_dataframe_feature_names(data):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(data, columns=["cost", "time"])
    model = MaxEntDual(random_state=0, **FAST).fit(df)
    assert list(model.feature_names_in_) == ["cost", "time"]
    assert list(model.get_feature_names_out()) == [
        "cost",
        "time",
        "cost^2",
        "time^2",
        "cost*time",
    ]
    assert model.transform(df).shape == (300, 5)


def test_warm_start_continues(data):
    model = MaxEntDual(random_state=0, warm_start=True, init="zero", **FAST).fit(data)
    cold_first = model.history_["moment_error"][0]
    model.fit(data)
    # The second fit starts at the fitted coef_ and chains: its first moment
    # error is far below the first one of a fit started from the uniform.
    assert model.history_["moment_error"][0] < 0.5 * cold_first


def test_history_and_attributes(data):
    model = MaxEntDual(random_state=0, **FAST).fit(data)
    for name in ("moment_error", "acceptance", "step_size"):
        assert model.history_[name].shape == (model.n_iter_,)
    assert model.chains_.shape == (64, 2)
    assert model.energy(data).shape == (300,)


def _chain_error(model, target, s_uniform, rounds=16):
    """Standardised max moment error of model samples against ``target``, and
    the largest standard error (spread of per-chain means, see above)."""
    C = model.n_chains
    F = model.transform(model.sample(rounds * C, random_state=5))
    F = F.reshape(rounds, C, -1)
    se = F.mean(axis=0).std(axis=0, ddof=1) / np.sqrt(C) / s_uniform
    err = np.abs(F.mean(axis=(0, 1)) - target) / s_uniform
    return float(err.max()), float(se.max())


def test_score_matching_start_is_verified_and_saves_iterations():
    # Exact-ish draws of a 3-D Gaussian (sd 0.25) deep inside [-1, 1]^3: the
    # faces are 4 sd away, so the truncated mass (~1e-4) is negligible and the
    # quadratic max-ent model is this Gaussian.
    rng = np.random.default_rng(0)
    corr = np.array([[1.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 1.0]])
    X = rng.multivariate_normal(np.zeros(3), 0.25**2 * corr, size=8000)
    X = X[np.all(np.abs(X) < 1, axis=1)][:5000]
    bounds = [[-1, 1]] * 3
    kw = dict(bounds=bounds, n_chains=256, random_state=0)
    auto = MaxEntDual(init="auto", **kw).fit(X)
    zero = MaxEntDual(init="zero", **kw).fit(X)
    assert auto.init_ == "score_matching" and zero.init_ == "zero"
    assert auto.converged_ and zero.converged_
    assert np.sum(auto.history_["phase"] == "verify") > 0
    assert auto.n_iter_ < zero.n_iter_
    U = rng.uniform(-1, 1, size=(200_000, 3))
    s_uniform = auto.transform(U).std(axis=0)
    target = auto.transform(X).mean(axis=0)
    err_auto, se_auto = _chain_error(auto, target, s_uniform)
    err_zero, se_zero = _chain_error(zero, target, s_uniform)
    # "Same or better": the difference of two independent estimates may be
    # off by ~ sqrt(se_a^2 + se_z^2) per feature; 4 of those bounds a false
    # alarm over 9 features at < 1e-3.
    assert err_auto <= err_zero + 4 * np.hypot(se_auto, se_zero)


def test_indicator_features_fall_back_to_zero_start():
    X = np.random.default_rng(1).uniform(size=(200, 1))
    features = [Moment(0), Indicator(0, 0.5, 1.0)]
    model = MaxEntDual(features, bounds=[[0, 1]], n_chains=64, max_iter=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    assert model.init_ == "zero"
    with pytest.raises(ValueError, match="init='score_matching'"):
        clone(model).set_params(init="score_matching").fit(X)
    with pytest.raises(ValueError, match="init='score_matching'"):
        MaxEntDual("linear", bounds=[[0, 1]], init="score_matching").fit(moments=[0.3])


def test_constant_feature_rejected():
    from skmaxent.features import Legendre

    with pytest.raises(ValueError, match="constant on the box"):
        MaxEntDual([Legendre(0, 0)], bounds=[[0, 1]]).fit(moments=[1.0])
    with pytest.raises(ValueError, match="constant on the box"):
        MaxEntDual([Indicator(0, -1.0, 2.0)], bounds=[[0, 1]]).fit(moments=[1.0])


def test_divergence_raises_and_leaves_estimator_as_it_was(data, monkeypatch):
    from sklearn.exceptions import NotFittedError

    from skmaxent.core import loop

    real = loop.run_chunk

    def diverging(*args, **kwargs):
        state, info = real(*args, **kwargs)
        return state, info._replace(finite=np.asarray(False))

    fitted = MaxEntDual(random_state=0, **FAST).fit(data)
    before = fitted.coef_.copy()
    monkeypatch.setattr(loop, "run_chunk", diverging)
    with pytest.raises(RuntimeError, match="diverged"):
        MaxEntDual(random_state=0, **FAST).fit(data)
    fresh = MaxEntDual(random_state=0, **FAST)
    with pytest.raises(RuntimeError, match="diverged"):
        fresh.fit(data)
    with pytest.raises(NotFittedError):
        fresh.score(data)
    # A fitted estimator whose refit diverges keeps its previous fit.
    with pytest.raises(RuntimeError, match="diverged"):
        fitted.set_params(max_iter=60).fit(data)
    np.testing.assert_array_equal(fitted.coef_, before)
    assert fitted.max_iter == 60


def test_gaussian_start_from_moments_is_verified():
    # Exact moments of a Gaussian (sd 0.1) deep inside [-1, 1]^3: faces are 10
    # sd away, so the quadratic max-ent model on the box is that Gaussian, and
    # its coef is known in closed form: (P m, -diag(P) / 2, -P_ij).
    m = np.array([0.1, -0.2, 0.05])
    corr = np.array([[1.0, 0.5, 0.0], [0.5, 1.0, -0.4], [0.0, -0.4, 1.0]])
    S = 0.1**2 * corr
    iu, ju = np.triu_indices(3, k=1)
    second = S + np.outer(m, m)
    mu = np.r_[m, np.diag(second), second[iu, ju]]
    model = MaxEntDual(bounds=[[-1, 1]] * 3, random_state=0).fit(moments=mu)
    assert model.init_ == "gaussian"
    assert set(model.history_["phase"]) == {"verify"}
    P = np.linalg.inv(S)
    exact = np.r_[P @ m, -0.5 * np.diag(P), -P[iu, ju]]
    np.testing.assert_allclose(model.coef_, exact, rtol=1e-6)
    # Its normalisation is the Gaussian's: log Z on the unit box (width 2 per
    # axis) is log[(2 pi)^(3/2) |S|^(1/2) exp(m·P m / 2)] - 3 log 2. AIS error:
    # 3 standard errors plus 0.01 nats of bias allowance.
    exact_log_z = (
        1.5 * np.log(2 * np.pi)
        + 0.5 * np.linalg.slogdet(S)[1]
        + 0.5 * m @ P @ m
        - 3 * np.log(2)
    )
    assert abs(model.log_partition_ - exact_log_z) < 3 * model.log_partition_std_ + 0.01


def test_marginal_prior_reaches_the_penalised_optimum_by_quadrature():
    # 1-D quadratic features on [0, 1], targets of the uniform (mean 1/2,
    # second moment 1/3), and a KL prior asking P(x < 0.5) = 0.7. The fit
    # maximises coef·mu - log Z - s KL(q || p_hat). Its exact gradient at the
    # fitted coef_, by quadrature and in standardised units (divided by the
    # features' uniform std), is the residual the convergence rule bounds:
    # with priors, |mean of 4 windows| < tol + t SE, t = 4.18 (Student, 3
    # dof, Bonferroni over 2 features), SE of 200 iterations of 512 chains
    # <= sd / sqrt(512 * 200 / 10) = 0.01 (standardised sd <= 1 here,
    # autocorrelation <= 10) → 0.043 + tol; the 200 averaged iterates only
    # shrink it. Reference optimum by Nelder–Mead on the quadrature objective.
    from skmaxent import MarginalPrior

    t, w = gauss_legendre_grid(0.0, 1.0, 400)
    F = np.stack([t, t**2])
    std = np.array([np.sqrt(1 / 12), np.sqrt(1 / 5 - 1 / 9)])
    mu, q, s = np.array([0.5, 1 / 3]), np.array([0.7, 0.3]), 1.0
    left = (t < 0.5).astype(float)

    def moments(c):
        dens = w * np.exp(c @ F)
        Z = dens.sum()
        dens = dens / Z
        Ef = F @ dens
        p0 = left @ dens
        cov0 = F @ (dens * left) - Ef * p0
        return np.log(Z), Ef, np.array([p0, 1 - p0]), np.stack([cov0, -cov0])

    def penalised_gradient(c):
        _, Ef, p_hat, dp = moments(c)
        return (mu - Ef + s * (q / p_hat) @ dp) / std

    def negative_objective(c):
        log_z, _, p_hat, _ = moments(c)
        return -(c @ mu - log_z - s * np.sum(q * np.log(q / p_hat)))

    ref = optimize.minimize(
        negative_objective,
        [0.0, 0.0],
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-14},
    ).x
    assert np.max(np.abs(penalised_gradient(ref))) < 1e-5

    prior = MarginalPrior(0, edges=[0.0, 0.5, 1.0], probs=q, strength=s)
    model = MaxEntDual("quadratic", bounds=[[0, 1]], random_state=0)
    model.set_params(marginal_priors=[prior]).fit(moments=mu)
    assert model.converged_
    assert np.max(np.abs(penalised_gradient(model.coef_))) < 0.044
    p_fit, p_ref = moments(model.coef_)[2][0], moments(ref)[2][0]
    # Without the prior the model is uniform (P(x < 0.5) = 0.5): the prior
    # moves it by 0.086, and the fit lands within a few thousandths of that.
    assert abs(p_ref - 0.5) > 0.08
    assert abs(p_fit - p_ref) < 0.01
    plain = MaxEntDual("quadratic", bounds=[[0, 1]], random_state=0).fit(moments=mu)
    assert np.max(np.abs(penalised_gradient(plain.coef_))) > 0.2


def test_marginal_priors_validated_before_fitting():
    from skmaxent import MarginalPrior

    prior = MarginalPrior(3, edges=[0.0, 1.0], probs=[1.0], strength=1.0)
    model = MaxEntDual("linear", bounds=[[0, 1]], marginal_priors=[prior])
    with pytest.raises(ValueError, match="column 3"):
        model.fit(moments=[0.5])
    prior = MarginalPrior(0, edges=[0.0, 1.0], probs=[1.0], strength=1.0)
    with pytest.raises(TypeError, match="marginal_priors"):
        MaxEntDual("linear", bounds=[[0, 1]], marginal_priors=prior).fit(moments=[0.5])
    with pytest.raises(ValueError, match="n_chains >= 4"):
        MaxEntDual("linear", bounds=[[0, 1]], n_chains=2, marginal_priors=[prior]).fit(
            moments=[0.5]
        )


def test_matrix_free_natural_step_matches_moments():
    # Above Settings.dense_max_features the natural step is conjugate gradients on
    # Fisher-vector products from one batch of chains (no p x p matrix);
    # forced here on the 2-D quadratic problem. Its contract is the moment
    # equations: the exact moments of coef_ (quadrature) against the targets,
    # standardised by the uniform sds. The averaged coef_ carries the mean
    # residual of 200 iterations of 512 chains: SE <= sd / sqrt(512 * 200 /
    # 10) = 0.012 for standardised sd <= 1.2 here; 4 SE = 0.05.
    from skmaxent._settings import Settings

    theta = np.array([1.0, -0.5, -2.0, -1.0, 2.5])
    mu, _, _ = quadratic_2d_exact(theta)
    s = np.sqrt([1 / 12, 1 / 12, 4 / 45, 4 / 45, 7 / 144])
    model = MaxEntDual(bounds=[[0, 1], [0, 1]], random_state=0, init="zero")
    model._settings = Settings(dense_max_features=0)
    model.fit(moments=mu)
    assert model.converged_
    achieved, _, _ = quadratic_2d_exact(model.coef_)
    assert np.max(np.abs(achieved - mu) / s) < 0.05


def test_large_model_paths_from_data():
    # Above Settings.dense_max_features the targets from X are weighted means in the
    # feature map's matrix form (no (N, p) matrix): against NumPy features.
    # Above Settings.sm_max_features the score-matching start (a dense p x p system)
    # is skipped by "auto" and refused when asked for.
    from skmaxent._settings import Settings

    small = Settings(dense_max_features=0, sm_max_features=0)
    rng = np.random.default_rng(0)
    X = rng.uniform(0.1, 0.9, size=(2500, 2))
    w = rng.uniform(0.5, 2.0, size=2500)
    F = np.c_[X, X**2, X[:, 0] * X[:, 1]]
    kw = dict(bounds=[[0, 1], [0, 1]], n_chains=64, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MaxEntDual(**kw)
        model._settings = small
        model.fit(X, sample_weight=w)
    np.testing.assert_allclose(model.moments_, np.average(F, axis=0, weights=w), 1e-5)
    assert model.init_ == "zero"
    refused = MaxEntDual(init="score_matching", **kw)
    refused._settings = small
    with pytest.raises(ValueError, match="dense system"):
        refused.fit(X)
