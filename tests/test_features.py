"""Tests of skmaxent.features: specs, presets, names, the compiled FeatureMap.

Reference answers are computed independently: feature values by plain NumPy
(numpy.polynomial.legendre for Legendre), exact uniform moments by rational
arithmetic, and Monte-Carlo checks with tolerances from the standard error.
"""

import inspect
import math
import os
import pickle
import subprocess
import sys
import textwrap
from fractions import Fraction
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import uniform_raw_moment
from numpy.polynomial import legendre as npleg

from skmaxent.features import (
    Custom,
    FeatureMap,
    Indicator,
    Indicator2,
    Legendre,
    Moment,
    Pairwise,
    Product,
    compile_features,
    pairwise,
    resolve_features,
)

# Monte-Carlo points behind the uniform moments of Custom features (the default).
CUSTOM_MC_POINTS = (
    inspect.signature(FeatureMap.uniform_moments).parameters["n_points"].default
)

# Φ⁻¹(0.99997) ≈ 4: each statistical comparison fails with probability < 1e-4
# under the null, and the keys and seeds are fixed, so the tests are deterministic.
N_SE = 4.0

LOW = np.array([-1.0, 0.5, 2.0, -3.0])
HIGH = np.array([2.0, 1.5, 5.0, 0.0])
NAMES = ("cost", "duration", "size", "temp")


def sin0(x):
    return jnp.sin(x[0])


def cross(x):
    return x[1] * jnp.exp(x[2] / 4)


# NumPy versions of the Custom functions above, by name.
CUSTOM_REF = {
    "sin_cost": lambda X: np.sin(X[:, 0]),
    "cross": lambda X: X[:, 1] * np.exp(X[:, 2] / 4),
}

# Interleaved kinds, so the gather back into spec order is exercised; four
# products on four variables take the matrix (dense) product path.
MIXED = (
    Legendre(2, 3),
    Moment(0),
    Product(0, 2),
    Indicator(0, -0.5, 0.5),
    Custom(sin0, "sin_cost"),
    Moment(1, 3),
    Legendre(0, 0),
    Product(1, 3),
    Indicator(3, -2.0, -1.0),
    Moment(2, 2),
    Legendre(0, 1),
    Legendre(0, 4),
    Custom(cross, "cross"),
    Product(3, 2),
    Moment(3),
    Product(0, 1),
    Legendre(1, 2),
    Pairwise(0, 2, 1, 3),
    Indicator2(1, 3, (0.7, 1.1), (-2.5, -1.0)),
    Pairwise(3, 1, 2, 2),
)
# One product on four variables: the gather (sparse) product path; a
# tensor product without any unary Legendre feature.
SPARSE = (Moment(0), Product(0, 3), Legendre(1, 2), Moment(3, 2), Pairwise(2, 1, 2, 1))
SPEC_SETS = {"mixed": MIXED, "sparse": SPARSE, "quadratic": "quadratic"}


def reference_values(specs, X, low, high):
    """Features of the rows of ``X`` in float64 NumPy, one spec at a time."""
    X = np.asarray(X, np.float64)

    def leg(i, d):
        u = (X[:, i] - low[i]) / (high[i] - low[i])
        return npleg.legval(2 * u - 1, [0] * d + [1])

    def legendre(s):
        return leg(s.i, s.degree)

    def bin2(s):
        (a, b), (c, d) = s.box_i, s.box_j
        xi, xj = X[:, s.i], X[:, s.j]
        return ((xi >= a) & (xi < b) & (xj >= c) & (xj < d)) * 1.0

    rules = {
        Moment: lambda s: X[:, s.i] ** s.power,
        Product: lambda s: X[:, s.i] * X[:, s.j],
        Indicator: lambda s: ((X[:, s.i] >= s.low) & (X[:, s.i] < s.high)) * 1.0,
        Legendre: legendre,
        Pairwise: lambda s: leg(s.i, s.a) * leg(s.j, s.b),
        Indicator2: bin2,
        Custom: lambda s: CUSTOM_REF[s.name](X),
    }
    return np.stack([rules[type(s)](s) for s in specs], axis=1)


def uniform_points(n_points, seed=0, low=LOW, high=HIGH):
    rng = np.random.default_rng(seed)
    return low + rng.random((n_points, low.size)) * (high - low)


def fmap(name, names=None):
    specs = resolve_features(SPEC_SETS[name], LOW.size)
    return compile_features(specs, LOW.size, names)


def box32():
    return jnp.asarray(LOW, jnp.float32), jnp.asarray(HIGH, jnp.float32)


# ---------------------------------------------------------------- values
@pytest.mark.parametrize("name", SPEC_SETS)
@pytest.mark.parametrize("jit", [False, True])
def test_values_match_numpy(name, jit):
    fm = fmap(name)
    X = uniform_points(64, seed=1)
    ref = reference_values(fm.specs, X, LOW, HIGH)
    lo, hi = box32()
    values, values_batch = fm.values, fm.values_batch
    if jit:
        values, values_batch = jax.jit(values), jax.jit(values_batch)
    F = values_batch(jnp.asarray(X, jnp.float32), lo, hi)
    assert F.shape == (64, fm.n_features_out) and F.dtype == jnp.float32
    np.testing.assert_allclose(F, ref, rtol=2e-5, atol=2e-5)
    f = values(jnp.asarray(X[3], jnp.float32), lo, hi)
    np.testing.assert_allclose(f, ref[3], rtol=2e-5, atol=2e-5)


def test_indicator_is_half_open():
    fm = compile_features([Indicator(0, 0.25, 0.5)], 1)
    X = jnp.array([[0.2499], [0.25], [0.4999], [0.5]])
    F = fm.values_batch(X, jnp.zeros(1), jnp.ones(1))
    np.testing.assert_array_equal(F[:, 0], [0.0, 1.0, 1.0, 0.0])
    assert not fm.differentiable
    assert fmap("sparse").differentiable


def test_values_under_vmap_and_static_jit():
    fm = fmap("mixed")
    X = jnp.asarray(uniform_points(16, seed=2), jnp.float32)
    lo, hi = box32()
    via_vmap = jax.vmap(fm.values, in_axes=(0, None, None))(X, lo, hi)

    @jax.jit
    def run(X, lo, hi):
        return fm.values_batch(X, lo, hi)

    np.testing.assert_allclose(via_vmap, fm.values_batch(X, lo, hi), rtol=1e-6)
    np.testing.assert_allclose(run(X, lo, hi), via_vmap, rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------ mean
@pytest.mark.parametrize("name", SPEC_SETS)
def test_mean_equals_mean_of_values(name):
    fm = fmap(name)
    X = jnp.asarray(uniform_points(500, seed=3), jnp.float32)
    lo, hi = box32()
    expected = reference_values(fm.specs, np.asarray(X), LOW, HIGH).mean(axis=0)
    mean = jax.jit(fm.mean)(X, lo, hi)
    np.testing.assert_allclose(mean, expected, rtol=1e-5, atol=1e-5)
    F = jax.jit(fm.values_batch)(X, lo, hi)
    np.testing.assert_allclose(mean, F.mean(0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", SPEC_SETS)
def test_weighted_mean_and_mean_of_squares_against_numpy(name):
    # The matrix-free natural step needs sum_r w_r f(x_r) for signed weights
    # and the features' second moments: both against the NumPy features.
    fm = fmap(name)
    X = jnp.asarray(uniform_points(300, seed=4), jnp.float32)
    lo, hi = box32()
    F = reference_values(fm.specs, np.asarray(X), LOW, HIGH)
    w = np.random.default_rng(5).normal(size=300) / 300
    weighted = jax.jit(fm.mean)(X, lo, hi, jnp.asarray(w, jnp.float32))
    np.testing.assert_allclose(weighted, w @ F, rtol=1e-4, atol=1e-5)
    squares = jax.jit(partial(fm.mean, square=True))(X, lo, hi)
    np.testing.assert_allclose(squares, (F**2).mean(axis=0), rtol=1e-4, atol=1e-5)


# -------------------------------------------------------- energy and grad
@pytest.mark.parametrize("name", SPEC_SETS)
def test_energy_and_gradient(name):
    fm = fmap(name)
    coef = np.random.default_rng(4).normal(size=fm.n_features_out)
    # Away from the indicator edges, so finite differences see a smooth energy.
    x = np.array([0.1, 1.2, 3.3, -1.5])
    lo, hi = box32()
    c32, x32 = jnp.asarray(coef, jnp.float32), jnp.asarray(x, jnp.float32)

    def ref_energy(z):
        return -coef @ reference_values(fm.specs, z[None], LOW, HIGH)[0]

    energy, energy_grad = jax.jit(fm.energy), jax.jit(fm.energy_grad)
    e = energy(c32, x32, lo, hi)
    assert e.shape == () and e.dtype == jnp.float32
    np.testing.assert_allclose(e, ref_energy(x), rtol=1e-5)
    np.testing.assert_allclose(e, -c32 @ jax.jit(fm.values)(x32, lo, hi), rtol=1e-5)

    g = energy_grad(c32, x32, lo, hi)
    assert g.shape == (4,) and g.dtype == jnp.float32
    h = 1e-6
    fd = np.array(
        [
            (ref_energy(x + h * e_k) - ref_energy(x - h * e_k)) / (2 * h)
            for e_k in np.eye(4)
        ]
    )
    scale = np.abs(fd).max()
    np.testing.assert_allclose(g, fd, rtol=1e-4, atol=1e-5 * scale)
    autodiff = jax.jit(jax.grad(fm.energy, argnums=1))(c32, x32, lo, hi)
    np.testing.assert_allclose(g, autodiff, rtol=1e-5, atol=1e-6 * scale)

    X = jnp.asarray(uniform_points(32, seed=5), jnp.float32)
    G = jax.jit(jax.vmap(lambda z: fm.energy_grad(c32, z, lo, hi)))(X)
    G_ad = jax.jit(jax.vmap(jax.grad(lambda z: -c32 @ fm.values(z, lo, hi))))(X)
    np.testing.assert_allclose(G, G_ad, rtol=1e-4, atol=1e-5 * scale)


def test_vmapped_product_gradient_is_a_matmul():
    """Over chains, the product part of the gradient is one (C, n) @ (n, n) matmul."""
    n, C = 30, 64
    fm = compile_features("quadratic", n)
    coef = jnp.ones(fm.n_features_out)
    lo, hi = jnp.zeros(n), jnp.ones(n)
    jaxpr = jax.make_jaxpr(jax.vmap(lambda z: fm.energy_grad(coef, z, lo, hi)))(
        jnp.zeros((C, n))
    )
    shapes = [
        [tuple(v.aval.shape) for v in eqn.invars]
        for eqn in jaxpr.eqns
        if eqn.primitive.name == "dot_general"
    ]
    assert any((C, n) in s and (n, n) in s for s in shapes), shapes


# ------------------------------------------------------- uniform moments
def exact_power_moments(a, b, k):
    """E[x^k] and Var[x^k] for x ~ U(a, b), in exact rational arithmetic."""
    a, b = Fraction(a), Fraction(b)
    mean = uniform_raw_moment(a, b, k)
    return mean, uniform_raw_moment(a, b, 2 * k) - mean**2


@pytest.mark.parametrize(
    "a, b", [(0.0, 1.0), (-2.0, 3.0), (-5.0, -1.0), (1000.0, 1000.001), (-1e-3, 2e-3)]
)
def test_uniform_moments_exact_for_powers_and_products(a, b):
    """Closed forms against rational arithmetic, including a narrow box far from 0."""
    specs = [Moment(0), Moment(0, 2), Moment(0, 3), Moment(1, 5), Product(0, 1)]
    fm = compile_features(specs, 2)
    mean, std = fm.uniform_moments(np.array([a, -1.0]), np.array([b, 2.0]))
    assert mean.dtype == std.dtype == np.float64
    expected = [exact_power_moments(a, b, k) for k in (1, 2, 3)]
    expected.append(exact_power_moments(-1.0, 2.0, 5))
    m0, v0 = exact_power_moments(a, b, 1)
    m1, v1 = exact_power_moments(-1.0, 2.0, 1)
    expected.append((m0 * m1, (v0 + m0**2) * (v1 + m1**2) - (m0 * m1) ** 2))
    np.testing.assert_allclose(mean, [float(m) for m, _ in expected], rtol=1e-12)
    np.testing.assert_allclose(
        std, [math.sqrt(float(v)) for _, v in expected], rtol=1e-9
    )


def test_uniform_moments_of_indicators_and_legendre():
    specs = [
        Indicator(0, 0.2, 0.4),
        Indicator(0, -5.0, 0.5),
        Indicator(0, 3.0, 4.0),
        Legendre(1, 0),
        Legendre(1, 3),
    ]
    fm = compile_features(specs, 2)
    mean, std = fm.uniform_moments(np.array([0.0, -7.0]), np.array([2.0, 9.0]))
    q = np.array([0.1, 0.25, 0.0])
    np.testing.assert_allclose(mean, [*q, 1.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(
        std, [*np.sqrt(q * (1 - q)), 0.0, 1 / math.sqrt(7)], atol=1e-15
    )


def test_uniform_moments_against_monte_carlo():
    """Mean and std of every feature within N_SE Monte-Carlo standard errors.

    For N iid draws of f with variance σ² and fourth central moment μ₄:
    SE(sample mean) = σ / √N and SE(sample std) ≈ √((μ₄ − σ⁴) / (4 σ² N)) (delta
    method). Custom features are themselves Monte Carlo (CUSTOM_MC_POINTS
    points), so for them the two estimates' variances add.
    """
    fm = fmap("mixed")
    mean, std = fm.uniform_moments(LOW, HIGH)
    N = 200_000
    F = reference_values(fm.specs, uniform_points(N, seed=6), LOW, HIGH)
    mc_mean, mc_std = F.mean(0), F.std(0, ddof=1)
    mu4 = ((F - mc_mean) ** 4).mean(0)
    live = mc_std > 0
    se_mean = mc_std / math.sqrt(N)
    se_std = np.sqrt((mu4 - mc_std**4)[live] / (4 * mc_std[live] ** 2 * N))
    custom = np.array([isinstance(s, Custom) for s in fm.specs])
    inflate = np.where(custom, math.sqrt(1 + N / CUSTOM_MC_POINTS), 1.0)
    assert np.all(np.abs(mean - mc_mean) <= N_SE * se_mean * inflate + 1e-12)
    assert np.all(np.abs(std[live] - mc_std[live]) <= N_SE * se_std * inflate[live])
    np.testing.assert_array_equal(std[~live], 0.0)


def test_custom_uniform_moments_against_closed_form():
    """sin(x0) on [0, π]: mean 2/π, variance 1/2 − 4/π²; within N_SE SEs."""
    fm = compile_features([Custom(sin0, "s")], 1)
    mean, std = fm.uniform_moments(np.array([0.0]), np.array([np.pi]))
    sd = math.sqrt(0.5 - 4 / np.pi**2)
    assert abs(mean[0] - 2 / np.pi) <= N_SE * sd / math.sqrt(CUSTOM_MC_POINTS)
    # μ₄ of sin(U) about its mean, by quadrature on a fine grid.
    u = (np.arange(1_000_000) + 0.5) / 1_000_000 * np.pi
    mu4 = np.mean((np.sin(u) - 2 / np.pi) ** 4)
    se_std = math.sqrt((mu4 - sd**4) / (4 * sd**2 * CUSTOM_MC_POINTS))
    assert abs(std[0] - sd) <= N_SE * se_std
    again = fm.uniform_moments(np.array([0.0]), np.array([np.pi]))
    np.testing.assert_array_equal(again[0], mean)  # fixed key


# ------------------------------------------------------- presets and names
def test_presets_order():
    assert resolve_features("linear", 3) == (Moment(0), Moment(1), Moment(2))
    assert resolve_features("quadratic", 3) == (
        Moment(0),
        Moment(1),
        Moment(2),
        Moment(0, 2),
        Moment(1, 2),
        Moment(2, 2),
        Product(0, 1),
        Product(0, 2),
        Product(1, 2),
    )
    assert len(resolve_features("quadratic", 200)) == 20_300


def test_names():
    fm = compile_features("quadratic", 3)
    assert fm.names == ("x0", "x1", "x2", "x0^2", "x1^2", "x2^2")[:6] + (
        "x0*x1",
        "x0*x2",
        "x1*x2",
    )
    fm = compile_features("quadratic", 2, ("cost", "duration"))
    assert fm.names == ("cost", "duration", "cost^2", "duration^2", "cost*duration")
    specs = [
        Indicator(3, 0.2, 0.4),
        Legendre(0, 2),
        Custom(sin0, "wave"),
        Moment(1, 3),
        Indicator(0, -1, 2.5e-7),
    ]
    assert compile_features(specs, 4).names == (
        "1[0.2<=x3<0.4]",
        "P2(x0)",
        "wave",
        "x1^3",
        "1[-1<=x0<2.5e-07]",
    )
    assert fmap("mixed", NAMES).names[:4] == (
        "P3(size)",
        "cost",
        "cost*size",
        "1[-0.5<=cost<0.5]",
    )
    fm = fmap("mixed", NAMES)
    assert fm.n_features_out == len(fm.names) == len(fm.specs) == len(MIXED)


# -------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "features, error, match",
    [
        ("cubic", ValueError, r"features='cubic' is not a preset"),
        ([], ValueError, r"features is empty"),
        (Moment(0), TypeError, r"features=Moment\(i=0, power=1\) is a single spec"),
        (5, TypeError, r"features must be .* got int 5"),
        ([Moment(0), "x1"], TypeError, r"features\[1\] = 'x1' is not a feature spec"),
        ([Moment(0), Moment(3)], ValueError, r"features\[1\] = Moment\(i=3.*column 3"),
        ([Product(0, 5)], ValueError, r"features\[0\] = Product\(i=0, j=5\)"),
        (
            [Moment(0), Moment(1), Moment(0)],
            ValueError,
            r"features\[2\] = Moment\(i=0, power=1\) duplicates features\[0\]",
        ),
        (
            [Product(0, 1), Product(1, 0)],
            ValueError,
            r"features\[1\] = Product\(i=1, j=0\) duplicates features\[0\]",
        ),
    ],
)
def test_resolve_features_errors(features, error, match):
    with pytest.raises(error, match=match):
        resolve_features(features, 3)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Moment(0, 0), r"Moment.power must be an integer >= 1; got 0"),
        (lambda: Moment(0, 1.5), r"Moment.power must be an integer"),
        (lambda: Moment(-1), r"Moment.i must be an integer >= 0; got -1"),
        (lambda: Moment(True), r"Moment.i must be an integer"),
        (lambda: Product(2, 2), r"needs i != j"),
        (lambda: Indicator(0, 0.5, 0.5), r"needs low < high"),
        (lambda: Indicator(0, 0.0, np.inf), r"Indicator.high must be a finite real"),
        (lambda: Legendre(0, -1), r"Legendre.degree must be an integer >= 0"),
        (lambda: Custom(sin0, ""), r"Custom.name must be a non-empty str"),
    ],
)
def test_spec_validation(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_spec_normalisation_and_custom_type_error():
    assert Moment(np.int64(2), np.int32(3)) == Moment(2, 3)
    assert type(Moment(np.int64(2)).i) is int
    assert Indicator(0, 0, 1) == Indicator(0, 0.0, 1.0)
    with pytest.raises(TypeError, match="Custom.fn must be callable"):
        Custom("sin", "s")


def test_compile_errors():
    with pytest.raises(ValueError, match="input_names must be 2 strings"):
        compile_features("linear", 2, ("a",))
    with pytest.raises(ValueError, match=r"feature names must be unique.*'x0'"):
        compile_features([Moment(0), Custom(sin0, "x0")], 1)


def test_custom_must_return_a_scalar():
    fm = compile_features([Custom(lambda x: x, "vector")], 2)
    with pytest.raises(ValueError, match="'vector' returned shape \\(2,\\)"):
        fm.values(jnp.zeros(2), jnp.zeros(2), jnp.ones(2))


def test_wrong_point_shape():
    fm = compile_features("linear", 3)
    lo, hi = jnp.zeros(3), jnp.ones(3)
    with pytest.raises(ValueError, match=r"shape \(n,\) with n = 3; got shape \(4,\)"):
        fm.values(jnp.zeros(4), lo, hi)
    with pytest.raises(ValueError, match=r"shape \(N, n\) with n = 3"):
        fm.mean(jnp.zeros(3), lo, hi)


# ------------------------------------------------ identity, jit, pickling
def test_equality_hash_and_immutability():
    a = compile_features(resolve_features("quadratic", 4), 4, NAMES)
    b = FeatureMap(list(resolve_features("quadratic", 4)), 4, NAMES)
    assert a == b and hash(a) == hash(b) and a is not b
    assert a is compile_features("quadratic", 4, NAMES)  # cached
    assert a != compile_features("quadratic", 4)  # other names
    assert a != compile_features("linear", 4, NAMES)
    with pytest.raises(AttributeError, match="immutable"):
        a.n_features_out = 3


def test_equal_maps_share_one_jit_compilation():
    traces = []

    def f(X, lo, hi, fm):
        traces.append(fm)
        return fm.values_batch(X, lo, hi)

    f = jax.jit(f, static_argnames="fm")
    X = jnp.asarray(uniform_points(8, seed=7), jnp.float32)
    lo, hi = box32()
    first = f(X, lo, hi, fm=FeatureMap(SPARSE, 4))
    second = f(X, lo, hi, fm=FeatureMap(SPARSE, 4))
    assert len(traces) == 1
    np.testing.assert_array_equal(first, second)


def test_pickle_round_trip():
    fm = fmap("mixed", NAMES)
    clone = pickle.loads(pickle.dumps(fm))
    assert clone == fm and hash(clone) == hash(fm)
    assert clone.names == fm.names
    X = jnp.asarray(uniform_points(8, seed=8), jnp.float32)
    lo, hi = box32()
    np.testing.assert_array_equal(
        clone.values_batch(X, lo, hi), fm.values_batch(X, lo, hi)
    )


# ------------------------------------------------------- compile growth
def _equation_counts(fm, n_rows=7):
    n, p = fm.n_features_in, fm.n_features_out
    x, X, lo, hi = jnp.zeros(n), jnp.zeros((n_rows, n)), jnp.zeros(n), jnp.ones(n)
    coef = jnp.zeros(p)
    calls = [
        (fm.values, (x, lo, hi)),
        (fm.values_batch, (X, lo, hi)),
        (fm.mean, (X, lo, hi)),
        (fm.energy, (coef, x, lo, hi)),
        (fm.energy_grad, (coef, x, lo, hi)),
    ]
    return [len(jax.make_jaxpr(f)(*args).eqns) for f, args in calls]


def test_traced_program_size_is_independent_of_the_number_of_features():
    """quadratic on 200 variables (20,300 features) traces to as many equations
    as on 20 (230 features): no Python loop over features."""
    small = compile_features("quadratic", 20)
    large = compile_features("quadratic", 200)
    assert large.n_features_out == 20_300
    assert _equation_counts(small) == _equation_counts(large)

    def mixed(n):
        specs = [Moment(i, 1 + i % 3) for i in range(n)]
        specs += [Indicator(i, -0.5, 0.5) for i in range(n)]
        specs += [Legendre(i, 1 + i % 4) for i in range(n)]
        specs += [Product(i, (i + 1) % n) for i in range(n)]
        return compile_features(specs[::-1], n)  # not in kind order

    assert _equation_counts(mixed(20)) == _equation_counts(mixed(200))


# -------------------------------------------------------------- float64
def test_float64_under_enable_x64(tmp_path):
    """With JAX_ENABLE_X64=1 (set in a subprocess), outputs follow float64 input."""
    script = textwrap.dedent(
        """
        import jax, jax.numpy as jnp, numpy as np
        from skmaxent.features import Legendre, Moment, compile_features
        specs = list(compile_features("quadratic", 2).specs) + [Legendre(1, 5)]
        fm = compile_features(specs, 2)
        lo, hi = jnp.array([-1.0, 0.0]), jnp.array([2.0, 3.0])
        x = jnp.array([0.123456789, 2.5])
        f = fm.values(x, lo, hi)
        g = fm.energy_grad(jnp.ones(fm.n_features_out), x, lo, hi)
        assert f.dtype == g.dtype == jnp.float64, (f.dtype, g.dtype)
        u = 2 * (2.5 - 0.0) / 3.0 - 1
        p5 = np.polynomial.legendre.legval(u, [0] * 5 + [1])
        ref = [0.123456789, 2.5, 0.123456789**2, 6.25, 0.123456789 * 2.5, p5]
        np.testing.assert_allclose(np.asarray(f), ref, rtol=1e-13)
        assert fm.values(x.astype(jnp.float32), lo, hi).dtype == jnp.float32
        print("ok")
        """
    )
    env = dict(os.environ, JAX_ENABLE_X64="1", JAX_PLATFORMS="cpu")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# ------------------------------------------------------ features of pairs
def test_uniform_moments_of_pairwise_and_bins():
    """Closed forms: P_a(u_i) P_b(u_j) has mean 0 and variance 1/((2a+1)(2b+1))
    (independent factors, ∫₀¹ P_d(2u-1)² du = 1/(2d+1)); a 2-D bin has
    probability the product of its two overlaps."""
    specs = [
        Pairwise(0, 1, 1, 3),
        Pairwise(1, 0, 2, 2),
        Indicator2(0, 1, (0.5, 1.5), (-8.0, 1.0)),
        Indicator2(1, 0, (-7.0, 9.0), (0.0, 2.0)),
    ]
    fm = compile_features(specs, 2)
    mean, std = fm.uniform_moments(np.array([0.0, -7.0]), np.array([2.0, 9.0]))
    q = np.array([0.5 * 0.5, 1.0])
    np.testing.assert_allclose(mean, [0.0, 0.0, *q], atol=1e-15)
    np.testing.assert_allclose(
        std, [1 / math.sqrt(21), 1 / 5, *np.sqrt(q * (1 - q))], atol=1e-15
    )


def test_sparse_graph_takes_no_n_by_n_matrix():
    """A chain on 300 variables (299 products, 299 * 9 tensor products) is
    evaluated by gathers: no (n, n) array anywhere in the traced gradient,
    energy or mean; the quadratic preset keeps its matmul (test above)."""
    n = 300
    edges = [(i, i + 1) for i in range(n - 1)]
    specs = [Moment(i, k) for i in range(n) for k in (1, 2)]
    specs += [Product(i, j) for i, j in edges] + list(pairwise(edges, 3))
    fm = compile_features(specs, n)
    assert not fm.group(Product).dense
    coef = jnp.ones(fm.n_features_out)
    lo, hi = -jnp.ones(n), jnp.ones(n)
    X = jnp.zeros((8, n))
    for fn in (
        jax.vmap(lambda z: fm.energy_grad(coef, z, lo, hi)),
        jax.vmap(lambda z: fm.energy(coef, z, lo, hi)),
        lambda Z: fm.mean(Z, lo, hi),
    ):
        jaxpr = jax.make_jaxpr(fn)(X)
        shapes = {
            tuple(v.aval.shape)
            for eqn in jaxpr.eqns
            for v in (*eqn.invars, *eqn.outvars)
            if hasattr(v, "aval")
        }
        assert not any(s[-2:] == (n, n) for s in shapes), shapes


def test_pairwise_builder():
    specs = pairwise([(0, 1), (2, 1)], degree=2)
    unary = [Legendre(i, d) for i in (0, 1, 2) for d in (1, 2)]
    terms = [Pairwise(0, 1, a, b) for a in (1, 2) for b in (1, 2)]
    terms += [Pairwise(2, 1, a, b) for a in (1, 2) for b in (1, 2)]
    assert specs == tuple(unary + terms)
    assert pairwise([(0, 1)], degree=1, unary=False) == (Pairwise(0, 1, 1, 1),)
    with pytest.raises(ValueError, match=r"edges\[1\] = \(1, 0\) repeats edges\[0\]"):
        pairwise([(0, 1), (1, 0)])
    with pytest.raises(ValueError, match="degree must be an integer >= 1"):
        pairwise([(0, 1)], degree=0)
    with pytest.raises(ValueError, match=r"edges must be \(i, j\) pairs"):
        pairwise([(0, 1, 2)])
    with pytest.raises(TypeError, match="edges must be a sequence"):
        pairwise(5)


def test_interaction_presets():
    n = 3
    quadratic = resolve_features("quadratic", n)
    got = resolve_features("legendre2x2", n)
    ab = [(1, 2), (2, 1), (2, 2)]  # (1, 1) is spanned by x_i x_j
    pairs = [Pairwise(i, j, a, b) for i, j in ((0, 1), (0, 2), (1, 2)) for a, b in ab]
    assert got == quadratic + tuple(pairs)
    assert resolve_features("legendre4x3", n)[: len(quadratic) + 6] == (
        resolve_features("legendre4", n)
    )
    assert len(resolve_features("legendre4x3", n)) == len(quadratic) + 6 + 3 * 8
    with pytest.raises(ValueError, match="legendre<d>x<k>"):
        resolve_features("legendre4x5", n)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Pairwise(1, 1, 1, 1), r"Pairwise\(i=1, j=1\) needs i != j"),
        (lambda: Pairwise(0, 1, 0, 1), r"Pairwise.a must be an integer >= 1"),
        (lambda: Pairwise(0, 1, 1, 2.5), r"Pairwise.b must be an integer >= 1"),
        (lambda: Indicator2(0, 0, (0, 1), (0, 1)), r"needs i != j"),
        (lambda: Indicator2(0, 1, (1, 0), (0, 1)), r"Indicator2.box_i must be a pair"),
        (lambda: Indicator2(0, 1, (0, 1), (0, np.inf)), r"Indicator2.box_j"),
        (lambda: Indicator2(0, 1, (0, 1), "ab"), r"Indicator2.box_j"),
    ],
)
def test_pair_spec_validation(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_pair_specs_identity_names_and_normalisation():
    assert Indicator2(0, 1, [0, 1], (2, 3)).box_i == (0.0, 1.0)
    with pytest.raises(ValueError, match=r"features\[1\] .* duplicates features\[0\]"):
        resolve_features([Pairwise(0, 1, 1, 2), Pairwise(1, 0, 2, 1)], 2)
    with pytest.raises(ValueError, match=r"duplicates"):
        resolve_features(
            [Indicator2(0, 1, (0, 1), (2, 3)), Indicator2(1, 0, (2, 3), (0, 1))], 2
        )
    fm = compile_features(
        [Pairwise(0, 1, 1, 2), Indicator2(1, 0, (0, 0.5), (-1, 1))], 2, ("a", "b")
    )
    assert fm.names == ("P1(a)*P2(b)", "1[0<=b<0.5,-1<=a<1]")
    assert not fm.differentiable
    assert compile_features([Pairwise(0, 1, 1, 2)], 2).differentiable
