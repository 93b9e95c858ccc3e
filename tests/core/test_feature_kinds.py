"""The registry of feature kinds: every kind implements the protocol, and its
moments under the uniform law match an independent quadrature on a box."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import skmaxent.features as public
from skmaxent.core.features import KINDS, SPEC_TYPES, Growth, Kind, kind_of
from skmaxent.core.features.feature_map import FeatureMap
from skmaxent.features import (
    Custom,
    Indicator,
    Indicator2,
    Legendre,
    Moment,
    Pairwise,
    Product,
)

LOW, HIGH = np.array([0.0, -1.0]), np.array([2.0, 3.0])
#: One spec (or more) of every registered kind, on two variables; bin edges on
#: multiples of 1/4, so that the panels of the quadrature below never cut one.
EXAMPLES = {
    Moment: [Moment(0), Moment(1, 3)],
    Product: [Product(0, 1)],
    Indicator: [Indicator(0, 0.5, 1.25), Indicator(1, -3.0, 0.25)],
    Legendre: [Legendre(0, 0), Legendre(1, 2), Legendre(0, 5)],
    Pairwise: [Pairwise(0, 1, 1, 2), Pairwise(1, 0, 3, 1)],
    Indicator2: [Indicator2(0, 1, (0.25, 1.5), (-0.5, 2.0))],
    Custom: [Custom(lambda x: jnp.sin(x[0]) * x[1], "s")],
}


def test_the_registry_lists_every_public_spec_once_in_order():
    assert [k.spec for k in KINDS] == list(SPEC_TYPES) == list(public.SPEC_TYPES)
    assert len({k.key for k in KINDS}) == len(KINDS)
    assert set(EXAMPLES) == set(SPEC_TYPES)
    with pytest.raises(TypeError, match="not a feature spec"):
        kind_of(object())


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.key)
def test_every_kind_implements_the_protocol(kind):
    assert issubclass(kind, Kind) and kind.key
    assert dataclasses.is_dataclass(kind.spec)
    assert kind.spec.__dataclass_params__.frozen
    assert getattr(public, kind.spec.__name__) is kind.spec
    for method in ("name", "values", "uniform_moments"):
        assert getattr(kind, method) is not getattr(Kind, method), method
    box = [[float(a), float(b)] for a, b in zip(LOW, HIGH)]
    for spec in EXAMPLES[kind.spec]:
        assert kind_of(spec) is kind
        assert hash(spec) == hash(dataclasses.replace(spec))
        assert isinstance(kind.name(spec, ("a", "b")), str)
        assert all(0 <= i < 2 for i in kind.columns(spec))
        rng = kind.range(spec, box)
        assert rng is None or rng[0] <= rng[1]
        growth = kind.growth(spec)
        assert growth in (Growth.BOUNDED, Growth.UNKNOWN) or all(
            0 <= i < 2 and p >= 1 for i, p in growth
        )
    fm = FeatureMap(tuple(EXAMPLES[kind.spec]), 2)
    (group,) = fm.groups
    assert isinstance(group, kind) and fm.group(kind.spec) is group
    assert not kind.differentiable or fm.differentiable


def _quadrature(fm, n_panels=32, order=12):
    """Mean and sd of every feature under Uniform(LOW, HIGH): composite
    Gauss-Legendre in float64 NumPy weights on the map's float32 values."""
    t, w = np.polynomial.legendre.leggauss(order)
    nodes, weights = [], []
    for a, b in zip(LOW, HIGH):
        edges = np.linspace(a, b, n_panels + 1)
        mid, half = (edges[1:] + edges[:-1]) / 2, (edges[1:] - edges[:-1]) / 2
        nodes.append((mid[:, None] + half[:, None] * t).ravel())
        weights.append((half[:, None] * w).ravel() / (b - a))
    X = np.stack(np.meshgrid(*nodes, indexing="ij"), -1).reshape(-1, 2)
    W = np.outer(*weights).ravel()
    F = np.asarray(
        jax.jit(fm.values_batch)(jnp.asarray(X, jnp.float32), LOW, HIGH), np.float64
    )
    mean = W @ F
    return mean, np.sqrt(np.maximum(W @ (F - mean) ** 2, 0.0))


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.key)
def test_uniform_moments_of_every_kind_match_quadrature(kind):
    fm = FeatureMap(tuple(EXAMPLES[kind.spec]), 2)
    mean, std = fm.uniform_moments(LOW, HIGH)
    q_mean, q_std = _quadrature(fm)
    # Closed forms: float32 values only; Custom: a Monte-Carlo estimate.
    tol = 2e-2 if kind.spec is Custom else 2e-5
    np.testing.assert_allclose(mean, q_mean, rtol=tol, atol=tol)
    np.testing.assert_allclose(std, q_std, rtol=tol, atol=tol)


def test_legendre_table_is_one_loop_whatever_the_degree():
    # Past degree 8 the recurrence (and the sum over a long table) is traced
    # once, as a loop: the program has as many operations at degree 30 as
    # at degree 12.
    from skmaxent.core.features.shifted_legendre import legendre_table, sum_rows

    t = jnp.linspace(-1.0, 1.0, 7)

    def n_ops(fn, degree):
        return len(jax.make_jaxpr(lambda t: fn(t, degree))(t).eqns)

    table = functools.partial(legendre_table, derivative=True)
    assert n_ops(table, 12) == n_ops(table, 30)
    sums = lambda t, degree: [sum_rows(a) for a in table(t, degree)]  # noqa: E731
    assert n_ops(sums, 12) == n_ops(sums, 30)
    P, D = legendre_table(t, 30, True)
    c = np.eye(31)
    dc = [np.polynomial.legendre.legder(c[k]) for k in range(31)]
    np.testing.assert_allclose(
        P, [np.polynomial.legendre.legval(t, ck) for ck in c], atol=1e-5
    )
    np.testing.assert_allclose(
        D, [np.polynomial.legendre.legval(t, d) for d in dc], rtol=1e-5, atol=1e-3
    )
