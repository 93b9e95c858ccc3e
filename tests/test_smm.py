"""MomentMatchingEBM against exact answers computed independently (quadrature).

Tolerances. As in ``test_maxent.py``: a fitted ``coef`` differs from the
exact one by the Monte Carlo error of the chains' moments mapped through the
inverse Fisher matrix, ``sqrt((F^-1)_kk / ESS)`` (``conftest.ESS``). Two
independent fits differ by ``sqrt(2)`` times that. The checks common to all
estimators (pickle, clone, sampling, divergence, history) are in
``test_contract.py``.
"""

import warnings
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from conftest import (
    ESS,
    THETA_2D,
    chain_moment_error,
    gauss_legendre,
    gaussian_quadratic_coef,
    gaussian_sample_3d,
    quadratic_2d_exact,
    quadratic_uniform_sd,
)
from sklearn.exceptions import ConvergenceWarning

from skmaxent import MarginalPrior, MaxEntDual, MomentMatchingEBM
from skmaxent.core import programs
from skmaxent.core.training import loop
from skmaxent.energies import MLP


def test_linear_smm_reaches_maxent_dual_coef_2d():
    mu, _, fisher = quadratic_2d_exact(THETA_2D)
    se = np.sqrt(np.diag(np.linalg.inv(fisher)) / ESS)
    bounds = [[0, 1], [0, 1]]
    smm = MomentMatchingEBM(bounds=bounds, random_state=0).fit(moments=mu)
    dual = MaxEntDual(bounds=bounds, random_state=3).fit(moments=mu)
    assert smm.converged_ and dual.converged_
    # 4 standard errors per coefficient (5 of them: a false alarm < 3e-4).
    np.testing.assert_array_less(np.abs(smm.coef_ - THETA_2D), 4 * se)
    np.testing.assert_array_less(np.abs(smm.coef_ - dual.coef_), 4 * np.sqrt(2) * se)


def test_mlp_energy_matches_quadratic_moments_2d():
    mu, _, _ = quadratic_2d_exact(THETA_2D)
    model = MomentMatchingEBM(
        energy_model=MLP(hidden=(16, 16)), bounds=[[0, 1], [0, 1]], random_state=0
    ).fit(moments=mu)
    assert model.converged_
    assert isinstance(model.energy_model_, MLP) and not hasattr(model, "coef_")
    s_uniform = quadratic_uniform_sd([0, 0], [1, 1])
    err, se = chain_moment_error(model, mu, s_uniform, rounds=64, random_state=1)
    # The contract's bound, 0.05, is several times this check's own noise
    # (measured se ~ 0.006 with 64 x 512 draws, thinned by 2).
    assert np.all(se < 0.01)
    assert np.all(err < 0.05)


def prior_kl(coef, edges, probs):
    """KL(probs || model's bin probabilities) for p ∝ exp(c1 x + c2 x^2) on [0, 1],
    by Gauss–Legendre quadrature on each bin."""
    mass = []
    for a, b in zip(edges[:-1], edges[1:]):
        x, w = gauss_legendre(a, b, 100)
        mass.append(np.exp(coef[0] * x + coef[1] * x**2) @ w)
    return scipy.stats.entropy(probs, np.array(mass) / np.sum(mass))


def test_marginal_prior_kl_falls_as_strength_grows():
    # Targets: mean 0.3, sd 0.2; the prior wants mass rising to the right
    # (mean 0.625), so the two pull apart and the strength arbitrates.
    edges, probs = [0.0, 0.25, 0.5, 0.75, 1.0], [0.1, 0.2, 0.3, 0.4]
    kls = []
    for strength in (0, 1, 10, 100):
        prior = MarginalPrior(0, edges, probs, strength)
        model = MomentMatchingEBM(
            bounds=[[0, 1]], marginal_priors=[prior], random_state=0
        ).fit(moments=[0.3, 0.13])
        assert model.converged_
        kls.append(prior_kl(model.coef_, edges, probs))
    # Measured: 1.02, 0.17, 0.0055, 0.0002. Each fit's KL carries Monte Carlo
    # error through coef_ (~0.03 in coef_, see the module doc), which moves
    # the KL by far less than the gaps between strengths.
    assert all(a > b for a, b in zip(kls, kls[1:])), kls
    assert kls[-1] < 0.01 * kls[0]


def test_mlp_score_samples_is_a_normalised_density(mlp_1d):
    model = mlp_1d
    x, w = gauss_legendre(-2.0, 3.0, 400)
    log_p = model.score_samples(x[:, None])
    # ∫ p = exp(log Z_exact - log_partition_): the AIS error, within 3 of its
    # standard errors plus 0.01 nats for AIS's small negative bias.
    assert abs(np.log(np.exp(log_p) @ w)) < 3 * model.log_partition_std_ + 0.01
    with pytest.warns(UserWarning, match="outside"):
        assert model.score_samples([[3.5]])[0] == -np.inf
    # energy() is the fitted energy object at each point.
    E = model.energy(x[:5, None])
    direct = [float(model.energy_model_(model.params_, jnp.array([v]))) for v in x[:5]]
    np.testing.assert_allclose(E, direct, rtol=1e-5, atol=1e-5)


@dataclass(frozen=True)
class Spring:
    """A user energy: E(x) = k |x - x0|^2 with parameters (k, x0)."""

    def init(self, key, n_features_in):
        del key
        return {"k": jnp.ones(()), "x0": jnp.full((n_features_in,), 0.5)}

    def __call__(self, params, x):
        return params["k"] * jnp.sum((x - params["x0"]) ** 2)


@dataclass(frozen=True)
class Broken:
    mode: str

    def init(self, key, n_features_in):
        if self.mode == "int":
            return {"w": jnp.ones(3, jnp.int32)}
        if self.mode == "raises":
            raise RuntimeError("no")
        return {"w": jnp.ones(n_features_in)}

    def __call__(self, params, x):
        if self.mode == "vector":
            return params["w"] * x
        if self.mode == "nan":
            return jnp.sum(params["w"] * jnp.log(x - 10.0))
        return float(jnp.sum(x))  # not traceable


def test_user_energy_fits_and_bad_energies_raise_clearly():
    model = MomentMatchingEBM(
        "linear", energy_model=Spring(), bounds=[[0, 1]], n_chains=64, max_iter=100
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(moments=[0.3])
    assert set(model.params_) == {"k", "x0"}
    kw = dict(bounds=[[0, 1]], n_chains=64, max_iter=50)
    cases = [
        (Broken("int"), TypeError, "floating-point"),
        (Broken("raises"), TypeError, "init"),
        (Broken("vector"), TypeError, "scalar"),
        (Broken("nan"), ValueError, "not finite"),
        (Broken("float"), TypeError, "JAX cannot"),
    ]
    for energy, error, match in cases:
        with pytest.raises(error, match=match):
            MomentMatchingEBM("linear", energy_model=energy, **kw).fit(moments=[0.3])
    with pytest.raises(ValueError, match="roughness"):
        MomentMatchingEBM(energy_model=MLP(), roughness=1.0, **kw).fit(
            moments=[0.3, 0.2]
        )


def test_marginal_prior_validation():
    with pytest.raises(ValueError, match="increasing"):
        MarginalPrior(0, [0, 0.5, 0.4], [0.5, 0.5], 1.0)
    with pytest.raises(ValueError, match="sum to 1"):
        MarginalPrior(0, [0, 0.5, 1], [0.5, 0.6], 1.0)
    with pytest.raises(ValueError, match="one entry per bin"):
        MarginalPrior(0, [0, 0.5, 1], [1.0], 1.0)
    with pytest.raises(ValueError, match="strength"):
        MarginalPrior(0, [0, 1], [1.0], -1.0)
    with pytest.raises(ValueError, match="kind"):
        MarginalPrior(0, [0, 1], [1.0], 1.0, kind="tv")
    prior = MarginalPrior(0, [-1, 0.5, 1], [0.5, 0.5], 1.0)
    assert prior == MarginalPrior(0, (-1.0, 0.5, 1.0), (0.5, 0.5), 1)
    with pytest.raises(ValueError, match="inside"):
        MomentMatchingEBM("linear", bounds=[[0, 1]], marginal_priors=[prior]).fit(
            moments=[0.3]
        )


def test_equal_shapes_reuse_compiled_loop():
    # Cleared first, so that no fit below starts over Settings.max_programs
    # (which would clear the programs between the two counts).
    programs.clear()
    kw = dict(n_chains=64, max_iter=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MomentMatchingEBM(bounds=[[0, 1], [0, 2]], random_state=0, **kw)
        a.fit(moments=[0.4, 1.2, 0.2, 1.5, 0.5])
        # The optimised program (a verified start from X may add the quick one).
        before = loop.run_chunk._cache_size() - loop.run_chunk.quick._cache_size()
        b = MomentMatchingEBM(
            bounds=[[-1, 1], [0, 5]], random_state=1, learning_rate=0.05, **kw
        )
        b.fit(np.random.default_rng(0).uniform([-1, 0], [1, 5], size=(40, 2)))
    after = loop.run_chunk._cache_size() - loop.run_chunk.quick._cache_size()
    assert after == before


def test_score_matching_start_of_the_linear_energy_is_verified():
    # Draws of a 3-D Gaussian (sd 0.25) deep inside [-1, 1]^3 (faces 4 sd
    # away: truncated mass ~1e-4), so the quadratic max-ent model of the
    # sample is the Gaussian with its mean m and (biased) covariance S:
    # coef = (P m, -diag(P) / 2, -P_ij), P = S^-1. Asymptotically (Wishart)
    # SE(P_ij) = sqrt((P_ii P_jj + P_ij^2) / N), and SE(P m) ~ sqrt(P_ii / N)
    # (Var m = S / N; m ~ 0 so P's own error hardly enters). Score matching
    # has 1.02x the MLE's variance and the two estimates nearly coincide
    # (their difference has sd ~ sqrt(0.02) SE), so 2 SE per entry is wide;
    # a start that learning had moved, or zero (~25 SE off), fails it.
    X = gaussian_sample_3d()
    m, S = X.mean(axis=0), np.cov(X.T, bias=True)
    P = np.linalg.inv(S)
    iu, ju = np.triu_indices(3, k=1)
    reference = gaussian_quadratic_coef(m, S)
    d = np.diag(P)
    se_p = np.sqrt((np.outer(d, d) + P**2) / len(X))
    se = np.r_[np.sqrt(np.diag(np.linalg.inv(S)) / len(X)), se_p.diagonal() / 2]
    se = np.r_[se, se_p[iu, ju]]
    kw = dict(bounds=[[-1, 1]] * 3, n_chains=256, random_state=0)
    auto = MomentMatchingEBM(**kw).fit(X)
    assert auto.init_ == "score_matching"
    assert np.all(auto.history_["phase"] == "verify") and auto.converged_
    np.testing.assert_array_less(np.abs(auto.coef_ - reference), 2 * se)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # zero may need more
        zero = MomentMatchingEBM(init="zero", **kw).fit(X)
    assert zero.init_ == "zero" and zero.n_iter_ > auto.n_iter_
    with pytest.raises(ValueError, match="linear"):
        MomentMatchingEBM(energy_model=MLP(hidden=(4,)), init="score_matching").fit(X)
