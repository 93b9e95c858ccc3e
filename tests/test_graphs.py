"""Features of pairs (Legendre tensor products, 2-D bins) in fitted models.

Reference answers by quadrature, independent of the package: a tensor
Gauss–Legendre rule for smooth potentials, a midpoint rule whose cells
align with the bin edges for the discontinuous 2-D bin. Tolerances as in
``test_supports.py``: a fitted ``coef`` is within 4 standard errors
``sqrt((F^-1)_kk / ESS)`` of the truth (``ESS`` from ``conftest``);
``log_partition_`` within 3 of its reported standard errors plus 0.01.
"""

import numpy as np
import pytest
from conftest import ESS, exact_moments, uniform_grid
from mrf_exact import gaussian_exact, graph, legendre_exact
from numpy.polynomial import legendre as npleg

import skmaxent
from skmaxent import MaxEntDual
from skmaxent.features import Indicator2, Moment, Pairwise, Product, pairwise

# Coupled graphs mix more slowly than the conftest's ESS assumes: with an
# integrated autocorrelation time of up to ~40 iterations, the 200 averaged
# iterations of 512 chains are worth 512 * 200 / 40 = 2,560 draws, and a
# moment of the averaged fit is off by about 1 / sqrt(2560) ≈ 0.02 sd; 5 of
# them (0.099) is exceeded by noise alone for one of ~100 features with
# probability below 1e-4.
ESS_GRAPH = 512 * 200 / 40
# Pairwise Legendre potentials of the chain (degrees a, b = 1..3).
PAIR = np.array([[1.0, 0.3, -0.2], [0.3, -0.4, 0.1], [-0.2, 0.1, 0.2]])


def _leg(u, d):
    return npleg.legval(2 * u - 1, [0] * d + [1])


def _pairwise_values(specs, X, low, high):
    """Features of :func:`pairwise` specs at rows ``X``, written out in NumPy."""
    U = (X - low) / (high - low)
    cols = []
    for s in specs:
        if isinstance(s, Pairwise):
            cols.append(_leg(U[:, s.i], s.a) * _leg(U[:, s.j], s.b))
        else:
            cols.append(_leg(U[:, s.i], s.degree))
    return np.stack(cols, axis=1)


def test_legendre_pairwise_potential_against_quadrature():
    """exp(theta·f) for degree-2 unary and pairwise Legendre potentials on a
    non-unit box: coef, log Z (user units) and the Fisher matrix by an
    80 x 80 Gauss–Legendre rule (exact for these polynomial moments up to
    the exponential's smoothness)."""
    low, high = np.array([-1.0, 0.0]), np.array([2.0, 0.5])
    specs = pairwise([(0, 1)], degree=2)
    theta = np.array([0.4, -0.6, -0.3, 0.5, 1.2, -0.5, 0.4, -0.8])
    X, W = uniform_grid(low, high, 80)
    F = _pairwise_values(specs, X, low, high)
    mu, fisher, log_mean = exact_moments(F, W, theta)
    log_z = log_mean + np.log(np.prod(high - low))  # W averages; Z integrates
    model = MaxEntDual(specs, bounds=np.c_[low, high], random_state=0).fit(moments=mu)
    se = np.sqrt(np.diag(np.linalg.inv(fisher)) / ESS)
    np.testing.assert_array_less(np.abs(model.coef_ - theta), 4 * se)
    _, _, fitted = exact_moments(F, W, model.coef_)
    fitted += np.log(np.prod(high - low))
    assert abs(model.log_partition_ - fitted) < 3 * model.log_partition_std_ + 0.01
    assert abs(fitted - log_z) < 0.05  # the fit's own coef error, loosely


def test_two_dimensional_bin_against_a_midpoint_rule():
    """A Gaussian-like density with a 2-D bin's jump: the Metropolis step sees
    the discontinuity. Midpoint rule on 600 x 600 cells whose edges include
    the bin's (error O(h²) ≈ 3e-6 away from the jump, none at it)."""
    specs = [
        Moment(0),
        Moment(1),
        Moment(0, 2),
        Moment(1, 2),
        Product(0, 1),
        Indicator2(0, 1, (0.2, 0.6), (0.3, 0.8)),
    ]
    theta = np.array([0.5, -0.5, -1.5, -1.0, 1.0, 0.8])
    h = 1 / 600
    u = (np.arange(600) + 0.5) * h
    X = np.stack(np.meshgrid(u, u, indexing="ij"), -1).reshape(-1, 2)
    x0, x1 = X[:, 0], X[:, 1]
    inside = (x0 >= 0.2) & (x0 < 0.6) & (x1 >= 0.3) & (x1 < 0.8)
    F = np.c_[x0, x1, x0**2, x1**2, x0 * x1, inside * 1.0]
    W = np.full(X.shape[0], h * h)
    mu, fisher, log_z = exact_moments(F, W, theta)
    model = MaxEntDual(specs, bounds=[[0, 1], [0, 1]], random_state=0)
    model.fit(moments=mu)
    se = np.sqrt(np.diag(np.linalg.inv(fisher)) / ESS)
    np.testing.assert_array_less(np.abs(model.coef_ - theta), 4 * se)
    _, _, fitted = exact_moments(F, W, model.coef_)
    assert abs(model.log_partition_ - fitted) < 3 * model.log_partition_std_ + 0.01


@pytest.mark.parametrize(
    "spec, target, match",
    [
        (Pairwise(0, 1, 2, 2), 1.2, r"product of shifted Legendre polynomials"),
        (Indicator2(0, 1, (2.0, 3.0), (0.0, 1.0)), 0.3, r"misses .* must be 0"),
    ],
)
def test_impossible_targets_of_pair_features(spec, target, match):
    specs = [Moment(0), Moment(1), spec]
    model = MaxEntDual(specs, bounds=[[0, 1], [0, 1]])
    with pytest.raises(ValueError, match=match):
        model.fit(moments=[0.5, 0.5, target])


def test_roughness_refuses_pairwise_features():
    model = MaxEntDual(pairwise([(0, 1)], 2), bounds=[[0, 1], [0, 1]], roughness=1.0)
    with pytest.raises(ValueError, match="roughness penalty does not support Pairwise"):
        model.fit(moments=np.zeros(8))


def test_legendre_chain_from_zero_against_transfer_matrices():
    """A chain of 8 variables with degree-3 Legendre potentials (87 features),
    fitted from zero; the fitted density's moments computed exactly (transfer
    matrices) are within 0.05 standardised of the targets everywhere. The
    averaged fit's Monte Carlo error per moment is about 1 / sqrt(ESS) ≈
    0.0099 standardised; 0.05 is 5 of them, which noise alone exceeds for
    one of 87 features with probability below 1e-4."""
    n = 8
    coef = np.r_[np.tile([0.2, -0.5, 0.3], n), np.tile(PAIR.ravel(), n - 1)]
    mu, sd, _ = legendre_exact(n, coef)
    specs = pairwise(graph("chain", n), degree=3)
    model = MaxEntDual(specs, bounds=[[-1, 1]] * n, init="zero", random_state=0)
    model.fit(moments=mu)
    assert model.converged_
    fitted, _, log_z = legendre_exact(n, model.coef_)
    assert np.max(np.abs(fitted - mu) / sd) < 5 / np.sqrt(ESS_GRAPH)
    assert abs(model.log_partition_ - log_z) < 3 * model.log_partition_std_ + 0.01


def _gaussian_mrf(kind, n, coupling):
    """Edges, features (x_i, x_i², x_i x_j on the edges) and natural
    parameters of the Gaussian MRF with precision 100 on the diagonal and
    ``-coupling`` between neighbours."""
    edges = np.array(graph(kind, n))
    specs = [Moment(i) for i in range(n)] + [Moment(i, 2) for i in range(n)]
    specs += [Product(int(i), int(j)) for i, j in edges]
    coef = np.r_[np.zeros(n), np.full(n, -50.0), np.full(len(edges), coupling)]
    return edges, specs, coef


def test_gaussian_grid_from_zero_against_its_precision():
    """A 4 x 4 grid Gaussian MRF deep in [-1, 1]^16 (x_i, x_i², x_i x_j on the
    24 edges): the fitted density's exact moments (sparse LU) within 5 Monte
    Carlo errors, as above; log Z of the fitted coef in closed form."""
    n = 16
    edges, specs, coef = _gaussian_mrf("grid", n, 20.0)
    mu, sd, _ = gaussian_exact(n, edges, coef)
    model = MaxEntDual(specs, bounds=[[-1, 1]] * n, init="zero", random_state=0)
    model.fit(moments=mu)
    assert model.converged_
    fitted, _, log_z = gaussian_exact(n, edges, model.coef_)
    assert np.max(np.abs(fitted - mu) / sd) < 5 / np.sqrt(ESS_GRAPH)
    assert abs(model.log_partition_ - log_z) < 3 * model.log_partition_std_ + 0.01


def test_log_z_error_covers_what_forward_ais_misses():
    """A 300-variable chain Gaussian MRF (diagonal AIS reference above 200
    variables) with AIS made short on purpose (8 temperatures, one run): the
    forward weights miss tens of nats their own delta-method error (below
    about one nat) cannot see; a reverse run from the chains bounds log Z
    from above, and the reported error must cover the distance to the exact
    log Z of the fitted coef (closed form)."""
    n = 300
    edges, specs, coef = _gaussian_mrf("chain", n, 40.0)
    mu, _, _ = gaussian_exact(n, edges, coef)
    model = MaxEntDual(
        specs, bounds=[[-1, 1]] * n, init="zero", n_chains=128, random_state=0
    )
    short_ais = dict(ais_temperatures=8, ais_min_temperatures=8, ais_max_runs=1)
    with (
        skmaxent.config_context(**short_ais),
        pytest.warns(UserWarning, match="forward and reverse AIS disagree"),
    ):
        model.fit(moments=mu)
    _, _, log_z = gaussian_exact(n, edges, model.coef_)
    assert abs(model.log_partition_ - log_z) < model.log_partition_std_
