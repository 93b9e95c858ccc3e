"""The one training engine: the penalty operator, both natural-step paths with
roughness, compiled code reused by a second fit of the same shapes, and the
host loop's average that lasts as long as its Monte Carlo error needs."""

import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from conftest import THETA_2D, quadratic_2d_exact, quadratic_uniform_sd
from sklearn.exceptions import ConvergenceWarning

import skmaxent
from skmaxent import MaxEntDual, MomentMatchingEBM, Settings
from skmaxent._fit import train
from skmaxent.core.sampling.hmc import HMCParams
from skmaxent.core.training import loop, penalties


def test_penalty_operator_against_dense_numpy():
    # Q = S (alpha T Tᵀ + rho R) S from random sparse T and symmetric R,
    # against the same matrix built densely in NumPy: matvec, value,
    # gradient, diagonal and the dense form.
    rng = np.random.default_rng(0)
    p = 12
    T = np.eye(p) + np.where(rng.uniform(size=(p, p)) < 0.2, rng.normal(size=(p, p)), 0)
    A = np.where(rng.uniform(size=(p, p)) < 0.3, rng.normal(size=(p, p)), 0)
    R = A + A.T
    scale, alpha, rho = rng.uniform(0.5, 2.0, p), 0.7, 0.3
    pen = penalties.build(
        scale,
        alpha,
        rho,
        np.nonzero(R) + (R[np.nonzero(R)],),
        np.nonzero(T) + (T[np.nonzero(T)],),
    )
    S = np.diag(scale)
    Q = S @ (alpha * T @ T.T + rho * R) @ S
    v = rng.normal(size=p).astype(np.float32)
    np.testing.assert_allclose(
        penalties.matvec(pen, jnp.asarray(v)), Q @ v, rtol=1e-4, atol=1e-5
    )
    value, grad = penalties.value_and_grad(pen, jnp.asarray(v))
    np.testing.assert_allclose(float(value), 0.5 * v @ Q @ v, rtol=1e-4)
    np.testing.assert_allclose(grad, Q @ v, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(penalties.diag(pen, p), np.diag(Q), rtol=1e-5)
    np.testing.assert_allclose(penalties.dense(pen, p), Q, rtol=1e-4, atol=1e-5)


def _penalised_gradient(coef, mu, rho, R, std):
    """Exact gradient of the dual with roughness at ``coef`` (standardised),
    ``(mu - E_coef[f] - rho R coef) / s``, by quadrature on [0, 1]^2."""
    return (mu - quadratic_2d_exact(coef)[0] - rho * R @ coef) / std


@pytest.mark.parametrize("dense_max_features", [1024, 0])
def test_roughness_on_dense_and_matrix_free_paths(dense_max_features):
    # The same roughness-penalised problem solved by the dense natural step
    # and by the matrix-free one (forced with dense_max_features=0, as above
    # 1,024 features): both reach the penalised optimum. Its exact gradient
    # at coef_ (quadrature) is what the convergence rule bounds; the averaged
    # coef_ of 200 iterations of 512 chains carries SE <= sd / sqrt(512 * 200
    # / 10) = 0.012 per standardised feature (sd <= 1.2, autocorrelation
    # <= 10), so 4 SE = 0.05. The unpenalised optimum (the moments' own
    # coef) is far from it: its penalised gradient exceeds 0.3.
    # R of the quadratic preset on the unit box: 4 for squares, 2 for products.
    R = np.diag([0.0, 0.0, 4.0, 4.0, 2.0])
    std = quadratic_uniform_sd([0.0, 0.0], [1.0, 1.0])
    mu = quadratic_2d_exact(THETA_2D)[0]
    rho = 0.05
    assert np.max(np.abs(_penalised_gradient(THETA_2D, mu, rho, R, std))) > 0.3
    model = MaxEntDual(
        bounds=[[0, 1], [0, 1]], roughness=rho, init="zero", random_state=0
    )
    with skmaxent.config_context(dense_max_features=dense_max_features):
        model.fit(moments=mu)
    assert model.converged_
    assert np.max(np.abs(_penalised_gradient(model.coef_, mu, rho, R, std))) < 0.05


def _compiles(fn):
    """Number of XLA compilations while ``fn()`` runs."""
    events = []

    def listener(name, *args, **kwargs):
        if name == "/jax/core/compile/backend_compile_duration":
            events.append(kwargs.get("fun_name", name))

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        fn()
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    return events


@pytest.mark.parametrize("estimator", [MaxEntDual, MomentMatchingEBM])
def test_second_fit_of_the_same_shapes_compiles_nothing(estimator):
    # Two fits with other data, targets, box, learning rate and seed but the
    # same shapes: the second (fit, sample, score) compiles nothing.
    kw = dict(n_chains=64, max_iter=100)
    rng = np.random.default_rng(0)

    def fit(seed, scale, lr):
        X = rng.uniform(0, scale, size=(40, 2))
        model = estimator(
            bounds=[[0, scale], [0, scale]], random_state=seed, learning_rate=lr, **kw
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X)
        model.sample(10, random_state=seed)
        model.score(X)

    fit(0, 1.0, 0.05)
    assert _compiles(lambda: fit(1, 3.0, 0.02)) == []
    # The counter sees compilations: shapes no other test uses compile.
    X5 = rng.uniform(size=(40, 5))
    new = estimator(bounds=[[0, 1]] * 5, n_chains=44, max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert _compiles(lambda: new.fit(X5))


def test_legendre_degree_compiles_the_same_programs():
    # A degree-30 Legendre feature compiles as many programs as degree 4
    # (issue 31); that they are not larger, its table being a loop the
    # compiler keeps: test_features, and their time: benchmarks/compile.py.
    from skmaxent.core import programs
    from skmaxent.features import Legendre

    X = np.random.default_rng(0).uniform(size=(40, 2))

    def fit(degree):  # the programs of the package it compiles
        model = MaxEntDual(
            [Legendre(0, 1), Legendre(0, degree)],
            bounds=[[0, 1]] * 2,
            n_chains=64,
            max_iter=10,
            init="zero",
            random_state=0,
        )
        skmaxent.clear_caches()  # each fit compiles all of its programs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X)
        return programs.n_programs()

    four = fit(4)
    assert four >= 2 and fit(30) == four


def test_verified_start_runs_on_quickly_compiled_programs():
    # A small fit that ends at its verified Gaussian start compiles only the
    # quick variants of the training chunk and of AIS (the optimised ones
    # would cost twice the compile time for one chunk and a few AIS runs);
    # a fit of the same shapes from zero compiles the optimised ones.
    # Shapes no other test uses (3 variables, 40 chains), so every count
    # below starts from what this test compiles.
    from skmaxent.core.logz import ais
    from skmaxent.core.training import loop

    mean, sd, rho = np.array([0.5, 0.45, 0.55]), 0.08, 0.3
    cov = sd**2 * (rho + (1 - rho) * np.eye(3))  # 6 sd inside [0, 1]
    i, j = np.triu_indices(3, 1)
    second = cov + np.outer(mean, mean)
    moments = np.r_[mean, np.diag(second), second[i, j]]

    def counts():  # (optimised, quick) programs held; the first counts both
        return [
            (p._cache_size() - p.quick._cache_size(), p.quick._cache_size())
            for p in (loop.run_chunk, ais.model_log_partition)
        ]

    before = counts()
    model = MaxEntDual(bounds=[[0, 1]] * 3, n_chains=40, random_state=0)
    model.fit(moments=moments)
    assert model.init_ == "gaussian" and model.n_iter_ == 50
    after = counts()
    for (full0, quick0), (full1, quick1) in zip(before, after):
        assert (full1 - full0, quick1 - quick0) == (0, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MaxEntDual(
            bounds=[[0, 1]] * 3, n_chains=40, init="zero", max_iter=100, random_state=0
        ).fit(moments=moments)
    for (full1, quick1), (full2, quick2) in zip(after, counts()):
        assert (full2 - full1, quick2 - quick1) == (1, 0)


def _synthetic_chunks(noise, R=32, p=50, k=50, seed=0):
    """A stand-in ``run_chunk``: residual zero, so the rule holds on the
    first chunk; each chunk's R group means are independent N(0, noise^2)
    around it, with model sd 1, so the average of M chunks has a true SE of
    ``noise / sqrt(M R)`` per feature."""
    rng = np.random.default_rng(seed)

    class State(NamedTuple):
        iteration: int

    def run_chunk(state, phase):
        done = min(state.iteration + k, int(phase.max_iter))
        means = rng.normal(0.0, noise, (R, p))
        info = loop.ChunkInfo(
            residual=np.zeros(p),
            residual_se=means.std(axis=0, ddof=1) / np.sqrt(R),
            gradient=np.zeros(p),
            theta=np.zeros(3),
            group_means=means,
            spread=np.ones(p),
            moment_error=np.zeros(k),
            loss=np.zeros(k),
            acceptance=np.full(k, 0.8),  # chains that move (at the target)
            params=HMCParams(np.zeros(k)),
            finite=True,
        )
        return State(done), info

    return run_chunk, State(0)


@pytest.mark.parametrize("noise", [0.05, 0.2, 0.8])
def test_average_lasts_until_its_monte_carlo_error_is_small(noise):
    settings = Settings()
    run_chunk, state = _synthetic_chunks(noise)
    result = train.run(
        run_chunk,
        state,
        max_iter=10_000,
        tol=1e-3,
        rule=train.Rule(),
        adapt=False,
        verify=False,
        names=[f"f{k}" for k in range(50)],
        settings=settings,
    )
    averaged = int(np.sum(result.history["phase"] == "average"))
    assert result.converged
    # The true error of the average, computed from the known noise: the
    # normal Bonferroni quantile over the 50 features (3.29) times the true
    # SE, in units of the model sd (1).
    z = scipy.stats.norm.isf(0.025 / 50)

    def precision(m):
        return z * noise / np.sqrt(32 * m / 50)

    if precision(settings.n_average) <= settings.average_precision / 2:
        # noise 0.05: 0.015 after the minimum 200 iterations; no longer.
        assert averaged == settings.n_average
    elif precision(settings.max_average) > settings.average_precision:
        # noise 0.8: 0.074 even after 2,000: the cap ends it.
        assert averaged == settings.max_average
    else:
        # noise 0.2: the average ran beyond the minimum, and stopped only
        # once its true error was within the target (the estimate, a maximum
        # of 50 noisy SEs, errs high), before the cap.
        assert settings.n_average < averaged < settings.max_average
        assert precision(averaged) <= settings.average_precision


def test_matrix_free_step_converges_with_many_features_per_chain():
    # 60 equicorrelated variables (sd 0.1, correlation 0.3, ten sd inside
    # the box), the quadratic preset's 1,890 features on 256 chains, from
    # zero: the matrix-free path. Its step used to take the Fisher products
    # from the same chains as the direction, a bias that stalled this fit
    # (unconverged after 3,000 iterations, moments up to 0.30 model sd off);
    # cross-fitted over two halves it converges in about 450.
    n, sd, rho = 60, 0.1, 0.3
    S = sd**2 * ((1 - rho) * np.eye(n) + rho)
    iu, ju = np.triu_indices(n, 1)
    mu = np.r_[np.zeros(n), np.diag(S), S[iu, ju]]
    model = MaxEntDual(
        "quadratic",
        bounds=np.tile([-1.0, 1.0], (n, 1)),
        init="zero",
        n_chains=256,
        max_iter=1500,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # log Z's error target
        model.fit(moments=mu)
    assert model._matrix_free(mu.size, Settings()) and model.converged_
    # The fitted density's exact moments (a Gaussian: the walls are ten sd
    # away) in units of each feature's model sd.
    c = model.coef_
    P = np.diag(-2 * c[n : 2 * n])
    P[iu, ju] = P[ju, iu] = -c[2 * n :]
    Sf = np.linalg.inv(P)
    mf = Sf @ c[:n]
    E2 = Sf + np.outer(mf, mf)
    fitted = np.r_[mf, np.diag(E2), E2[iu, ju]]
    model_sd = np.r_[
        np.sqrt(np.diag(S)),
        np.sqrt(2) * np.diag(S),
        np.sqrt(S[iu, iu] * S[ju, ju] + S[iu, ju] ** 2),
    ]
    z = np.abs(fitted - mu) / model_sd
    # The averaged iterate's error is Monte Carlo noise of about 0.03 model
    # sd per feature (root mean square over seeds 0-2: 0.029-0.033), so its
    # largest of 1,890 is about 4 x 0.03 = 0.12 (measured 0.08-0.10); 0.2 is
    # beyond that noise and below the biased step's 0.30.
    assert np.sqrt(np.mean(z**2)) < 0.05
    assert z.max() < 0.2
