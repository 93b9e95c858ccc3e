"""log Z against closed forms on hard cases: strong correlations, many variables.

A max-ent model with the quadratic preset whose precision ``P`` (from
``coef_``) is positive definite is a Gaussian restricted to the box; when the
box holds all but a negligible mass of it (checked: below 1e-8 here),
``log Z = n/2 log 2π - log|L| + b·P⁻¹b / 2`` in closed form, ``L`` the
Cholesky factor of ``P`` and ``b`` the linear coefficients. The reported
``log_partition_`` must lie within 3 of its reported standard errors
(plus 0.01 nats for AIS's downward Jensen bias) of it.
"""

import warnings

import numpy as np
import pytest
from scipy import stats

from skmaxent import MaxEntDual, Settings
from skmaxent._fit import logz
from skmaxent._fit.logz import _next
from skmaxent.core.logz import ais


def gaussian_log_z(coef, n):
    """``log ∫_R^n exp(coef·f(x)) dx``, its mean and covariance (quadratic preset)."""
    iu, ju = np.triu_indices(n, k=1)
    b = coef[:n]
    P = np.diag(-2 * coef[n : 2 * n])
    P[iu, ju] = P[ju, iu] = -coef[2 * n :]
    L = np.linalg.cholesky(P)
    mean = np.linalg.solve(P, b)
    log_z = 0.5 * n * np.log(2 * np.pi) - np.sum(np.log(np.diag(L))) + b @ mean / 2
    return log_z, mean, np.linalg.inv(P)


def quadratic_targets(m, S):
    iu, ju = np.triu_indices(len(m), k=1)
    return np.r_[m, np.diag(S) + m**2, S[iu, ju] + m[iu] * m[ju]]


def correlated_5d():
    corr = np.eye(5)
    for (i, j), r in {(0, 1): 0.995, (0, 2): 0.99, (1, 2): 0.992, (3, 4): -0.6}.items():
        corr[i, j] = corr[j, i] = r
    sd = np.array([0.1, 0.15, 0.12, 0.2, 0.1])
    m = np.array([0.1, -0.2, 0.0, 0.3, -0.1])
    return m, corr * np.outer(sd, sd), 1.5


def chain_100d():
    # Gaussian MRF on a chain: precision 100 on the diagonal, -40 between
    # neighbours (every marginal sd about 0.13).
    n = 100
    P = 100 * np.eye(n) - 40 * (np.eye(n, k=1) + np.eye(n, k=-1))
    return np.zeros(n), np.linalg.inv(P), 1.0


def _recording(monkeypatch):
    """Record the schedule length of every AIS run (and run it)."""
    lengths, real = [], ais.model_log_partition

    def run(*args, **kwargs):
        if not kwargs.get("reverse"):  # the forward schedule's runs
            lengths.append(int(args[7]))  # n_temperatures
        return real(*args, **kwargs)

    run.quick = run  # the quickly compiled variant (a verified small fit)
    monkeypatch.setattr(ais, "model_log_partition", run)
    return lengths


# Schedules the fits below use: the 5-variable case is near-Gaussian (the
# reference from the chains fits it), so short runs reach the target (the old
# fixed schedule ran 100 temperatures, at least once); the 100-variable one
# needs the longest schedule, at most 8 runs of it after the short ones.
LENGTHS = {"correlated_5d": (8, 32), "chain_100d": (100, 8 * 100 + 8 + 16 + 32 + 64)}


@pytest.mark.parametrize("case", [correlated_5d, chain_100d])
def test_log_partition_within_its_standard_errors(case, monkeypatch):
    m, S, half = case()
    n = len(m)
    model = MaxEntDual(bounds=[[-half, half]] * n, random_state=0)
    programs = ais.model_log_partition._cache_size()
    lengths = _recording(monkeypatch)
    model.fit(moments=quadratic_targets(m, S))
    longest, most = LENGTHS[case.__name__]
    assert lengths[0] == 8 and max(lengths) == longest and sum(lengths) <= most
    # The length is traced: every schedule of this fit is one program.
    monkeypatch.undo()
    assert ais.model_log_partition._cache_size() - programs <= 1
    exact, mean, cov = gaussian_log_z(model.coef_, n)
    outside = np.sum(2 * stats.norm.sf((half - np.abs(mean)) / np.sqrt(np.diag(cov))))
    assert outside < 1e-8
    assert model.log_partition_std_ <= 0.05  # the default target is reached
    err = abs(model.log_partition_ - exact)
    assert err < 3 * model.log_partition_std_ + 0.01, (err, model.log_partition_std_)


def test_schedule_doubles_only_while_the_target_is_far():
    s = Settings(ais_target_std=0.05, ais_min_temperatures=8, ais_temperatures=100)
    assert _next(0.05, 1, 8, s) is None  # target met
    assert _next(0.06, 1, 8, s) == 8  # 1.44 runs' worth: one more run
    assert _next(0.10, 1, 8, s) == 16  # 4 runs' worth, 2 at twice the length
    assert _next(0.20, 1, 8, s) == 64  # 16 runs' worth: 2 at 8 times the length
    assert _next(0.40, 1, 8, s) == 100  # capped at the longest
    assert _next(0.10, 1, 100, s) == 100  # the longest: more runs
    assert _next(0.051, 8, 16, s) == 64  # runs spent on a short one: longer
    assert _next(0.10, 8, 100, s) is None  # runs spent on the longest: stop


def test_missed_mass_flags_model_mass_away_from_the_chains():
    # Chains of a 2-D model around (0.3, 0.3), sd 0.05. AIS particles are
    # drawn exactly from a stated model and weighted equally (an exact
    # importance sample): where the model is the chains' own mode, nothing is
    # flagged; where it has half its mass at (0.8, 0.3), the weighted mean of
    # x is 0.25 = 5 chain sd away (z about 10 with 2,048 particles).
    rng = np.random.default_rng(0)
    chains = rng.normal(0.3, 0.05, size=(512, 2))
    same = rng.normal(0.3, 0.05, size=(2048, 2))
    far = same.copy()
    far[1024:, 0] += 0.5
    equal = np.zeros(2048)
    assert logz.missed_mass(chains, same, equal)[0] is False
    flagged, shift = logz.missed_mass(chains, far, equal)
    assert flagged and abs(shift - 5.0) < 0.5
    # A particle weighted out (log-weight -inf, outside the box) counts nothing.
    dead = np.where(np.arange(2048) >= 1024, -np.inf, 0.0)
    assert logz.missed_mass(chains, far, dead)[0] is False
    # One dominant weight (ESS 1, a degenerate AIS) proves nothing: its
    # particle 2 chain sd away is within sd / sqrt(ESS) times the quantile.
    one = np.where(np.arange(2048) == 0, 0.0, -50.0)
    lone = same.copy()
    lone[0] = [0.4, 0.3]
    flagged, shift = logz.missed_mass(chains, lone, one)
    assert not flagged and shift > 1.5


def test_a_fit_with_mass_its_chains_never_reached_is_refit_or_not_called_converged():
    # The standardised iris columns with "legendre2x2" on the open support
    # inferred from X. The family holds every Gaussian (Legendre and tensor
    # terms at 0), so a correct fit's mean training log-likelihood is at
    # least the Gaussian MLE's, computed in closed form: -d/2 (1 + log 2 pi)
    # - log|S| / 2 = -3.27. From zero with random_state=0 the fit gives an
    # unvisited region mass (AIS log Z 222 nats, score -264) while its
    # chains, which measured every moment, matched them: it must not be
    # reported as converged. With init="auto" the score-matching start is
    # such a fit (its mass far from the data): it is dropped and the fit
    # refit from zero, so a flagged fit is never one that kept that start.
    from sklearn.datasets import load_iris
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import StandardScaler

    X = StandardScaler().fit_transform(load_iris().data)
    d = X.shape[1]
    gaussian = -0.5 * d * (1 + np.log(2 * np.pi))
    gaussian -= 0.5 * np.linalg.slogdet(np.cov(X.T, bias=True))[1]
    for init, seed in [("zero", 0), ("zero", 1), ("auto", 1)]:
        model = MaxEntDual(features="legendre2x2", init=init, random_state=seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(X)
        flagged = [w for w in caught if "did not go" in str(w.message)]
        # 0.3 nats: the averaged iterate's and log Z's Monte Carlo errors
        # (log_partition_std_ below 0.05 where the fit is right) with room.
        right = model.score(X) >= gaussian - 0.3
        assert right or (not model.converged_ and flagged)
        # ... a right fit is not flagged (no false alarm) ...
        assert not (right and flagged)
        # ... and "auto" keeps no start that AIS found wrong.
        assert not (init == "auto" and flagged and model.init_ != "zero")
        if flagged:
            assert flagged[0].category is ConvergenceWarning


def test_a_data_start_that_ends_without_a_density_is_refit_from_zero():
    # One cross-validation fold of the standardised iris columns (the density
    # guide's grid), "legendre2x2", alpha = 1e-3, on the open support: from
    # the score-matching start the fit ended with an indefinite quadratic
    # form (no density; a RuntimeError that GridSearchCV scored as NaN),
    # while from zero it converges in 400 iterations. init="auto" must refit
    # from zero. Its mean training log-likelihood must then be at least the
    # Gaussian MLE's (closed form; the family holds every Gaussian) less
    # 0.3 nats (the averaged iterate's and log Z's Monte Carlo errors and
    # the small penalty, with room).
    from sklearn.datasets import load_iris
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import KFold, train_test_split
    from sklearn.preprocessing import StandardScaler

    X_train, _ = train_test_split(load_iris().data, test_size=0.3, random_state=0)
    fold = list(KFold(5, shuffle=True, random_state=0).split(X_train))[3][0]
    X = StandardScaler().fit_transform(X_train[fold])
    d = X.shape[1]
    gaussian = -0.5 * d * (1 + np.log(2 * np.pi))
    gaussian -= 0.5 * np.linalg.slogdet(np.cov(X.T, bias=True))[1]
    model = MaxEntDual(features="legendre2x2", alpha=1e-3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model.fit(X)
    assert model.init_ == "zero" and model.converged_
    assert model.score(X) >= gaussian - 0.3, (model.score(X), gaussian)


def test_chains_keep_moving_while_the_iterates_are_averaged():
    # Breast cancer's first five columns, one cross-validation fold of the
    # density guide's grid, standardised: radius, perimeter and area lie on
    # a thin ridge (data covariance eigenvalues 0.0011 ... 3.2). "legendre4",
    # alpha = 1e-4, from zero. With the step size frozen once the rule held,
    # the averaged iterates sharpened the energy along the ridge, the
    # acceptance fell to zero by iteration ~190, the chains stopped, and the
    # iterates followed their frozen moments out of the family (an
    # indefinite quadratic form: RuntimeError after 2,000 iterations). Now
    # the step size adapts while averaging: the fit must end with a density,
    # its chains still moving (acceptance above 0.3 in every iteration of
    # the last window; the target is 0.8 and it stayed at 0.55-0.7 before
    # the collapse) and where AIS finds the model (converged_ includes that
    # check). (Its likelihood is not checked here: on this ridge the fit
    # from zero stops short of the optimum, a limit of the convergence rule
    # reported in the closing note of this change.)
    from sklearn.datasets import load_breast_cancer
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import KFold, train_test_split
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer().data[:, :5]
    X_train, _ = train_test_split(data, test_size=0.3, random_state=0)
    fold = list(KFold(5, shuffle=True, random_state=0).split(X_train))[3][0]
    X = StandardScaler().fit_transform(X_train[fold])
    model = MaxEntDual(features="legendre4", alpha=1e-4, init="zero", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model.fit(X)
    assert model.converged_
    assert np.min(model.history_["acceptance"][-50:]) > 0.3
