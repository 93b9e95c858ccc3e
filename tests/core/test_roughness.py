"""Roughness matrix against brute-force quadrature of explicit Hessians."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import uniform_grid

from skmaxent.core.features.roughness import roughness_entries, roughness_matrix
from skmaxent.features import Custom, Indicator, Legendre, Moment, Product

LOW = np.array([-1.0, 0.0, 0.5])
HIGH = np.array([2.0, 3.0, 1.5])


def _u(x, i):
    return (x[i] - LOW[i]) / (HIGH[i] - LOW[i])


# (spec, the same feature written out by hand as a JAX function of one point)
POLYNOMIAL = [
    (Moment(0), lambda x: x[0]),
    (Moment(0, 2), lambda x: x[0] ** 2),
    (Moment(1, 3), lambda x: x[1] ** 3),
    (Moment(2, 4), lambda x: x[2] ** 4),
    (Legendre(0, 1), lambda x: 2 * _u(x, 0) - 1),
    (Legendre(0, 2), lambda x: 6 * _u(x, 0) ** 2 - 6 * _u(x, 0) + 1),
    (
        Legendre(1, 3),
        lambda x: 20 * _u(x, 1) ** 3 - 30 * _u(x, 1) ** 2 + 12 * _u(x, 1) - 1,
    ),
    (
        Legendre(2, 4),
        lambda x: (
            70 * _u(x, 2) ** 4
            - 140 * _u(x, 2) ** 3
            + 90 * _u(x, 2) ** 2
            - 20 * _u(x, 2)
            + 1
        ),
    ),
    (Product(0, 1), lambda x: x[0] * x[1]),
    (Product(2, 0), lambda x: x[2] * x[0]),
    (Product(1, 2), lambda x: x[1] * x[2]),
    (Indicator(1, 0.5, 1.5), lambda x: 0.0 * x[1]),  # zero Hessian a.e.
]


def _reference(hessians, X, W):
    """``sum_q W_q <H_k(x_q), H_l(x_q)>_F`` from Hessians H of shape (Q, p, n, n)."""
    H = np.asarray(hessians, dtype=np.float64)
    return np.einsum("q,qkij,qlij->kl", W, H, H)


def test_polynomial_features_match_quadrature_of_autodiff_hessians():
    specs, fns = zip(*POLYNOMIAL)
    X, W = uniform_grid(LOW, HIGH, 6)  # exact for the degree <= 4 polynomials here
    H = jax.jit(jax.vmap(lambda x: jnp.stack([jax.hessian(f)(x) for f in fns])))(
        jnp.asarray(X, jnp.float32)
    )
    expected = _reference(H, X, W)
    R = roughness_matrix(specs, LOW, HIGH)
    # float32 autodiff: relative error ~1e-6 of the largest entry.
    np.testing.assert_allclose(R, expected, rtol=1e-5, atol=1e-5 * expected.max())
    assert R.dtype == np.float64


def test_closed_forms_and_volume_normalisation():
    for lo, hi in [(0.0, 1.0), (-3.0, 7.0)]:
        R = roughness_matrix([Moment(0, 3), Product(0, 1), Moment(0)], [lo, 0], [hi, 9])
        # mean of (6 x)^2 over [lo, hi] is 12 (lo^2 + lo hi + hi^2); the
        # product's Hessian is constant, so its mean does not grow with the box.
        np.testing.assert_allclose(R[0, 0], 12 * (lo**2 + lo * hi + hi**2))
        assert R[1, 1] == 2.0 and R[2, 2] == 0.0


def test_quadratic_preset_is_diagonal():
    n = 200
    specs = (
        [Moment(i) for i in range(n)]
        + [Moment(i, 2) for i in range(n)]
        + [Product(i, j) for i in range(n) for j in range(i + 1, n)]
    )
    rows, cols, vals = roughness_entries(specs, -np.ones(n), 2 * np.ones(n))
    np.testing.assert_array_equal(rows, cols)
    np.testing.assert_array_equal(rows, np.arange(n, len(specs)))
    np.testing.assert_array_equal(
        vals, np.r_[np.full(n, 4.0), np.full(len(specs) - 2 * n, 2.0)]
    )
    R = roughness_matrix(specs[:3] + specs[n : n + 3], -np.ones(n), np.ones(n))
    np.testing.assert_array_equal(R, np.diag([0, 0, 0, 4, 4, 4]))


def _c1(x):
    return jnp.sin(x[0]) * x[1]


def _c2(x):
    return jnp.exp(0.5 * x[0] - x[2])


def _hessians_by_hand(X):
    """Hessians (Q, 5, 3, 3) of c1, c2, Moment(0, 3), Legendre(2, 2), Product(1, 2)."""
    x0, x1, x2 = X.T
    Q = len(X)
    H = np.zeros((Q, 5, 3, 3))
    H[:, 0, 0, 0] = -np.sin(x0) * x1
    H[:, 0, 0, 1] = H[:, 0, 1, 0] = np.cos(x0)
    e = np.exp(0.5 * x0 - x2)
    H[:, 1] = e[:, None, None] * np.array([[0.25, 0, -0.5], [0, 0, 0], [-0.5, 0, 1]])
    H[:, 2, 0, 0] = 6 * x0
    H[:, 3, 2, 2] = 12 / (HIGH[2] - LOW[2]) ** 2
    H[:, 4, 1, 2] = H[:, 4, 2, 1] = 1.0
    return H


def test_custom_features_match_quadrature_of_hand_written_hessians():
    specs = [
        Custom(_c1, "c1"),
        Custom(_c2, "c2"),
        Moment(0, 3),
        Legendre(2, 2),
        Product(1, 2),
    ]
    X, W = uniform_grid(LOW, HIGH, 24)  # smooth integrands: converged to ~1e-12
    expected = _reference(_hessians_by_hand(X), X, W)
    R = roughness_matrix(specs, LOW, HIGH)
    # Quasi-Monte Carlo with 4096 points in 3-D: measured error 3.4e-4 of the
    # largest entry (1e-3 at 512 points); 2e-3 leaves a factor six.
    np.testing.assert_allclose(R, expected, rtol=0, atol=2e-3 * expected.max())
    assert R[4, 4] == 2.0  # product entries stay exact


def test_symmetric_positive_semidefinite_with_custom_features():
    specs = [s for s, _ in POLYNOMIAL] + [Custom(_c1, "c1"), Custom(_c2, "c2")]
    R = roughness_matrix(specs, LOW, HIGH, n_points=512)
    np.testing.assert_array_equal(R, R.T)
    assert np.linalg.eigvalsh(R).min() >= -1e-10 * np.abs(R).max()
    R = roughness_matrix([s for s, _ in POLYNOMIAL], LOW, HIGH)
    np.testing.assert_array_equal(R, R.T)
    assert np.linalg.eigvalsh(R).min() >= -1e-10 * np.abs(R).max()


def test_entries_rebuild_the_matrix_without_repeats():
    specs = [s for s, _ in POLYNOMIAL] + [Custom(_c1, "c1")]
    rows, cols, vals = roughness_entries(specs, LOW, HIGH, n_points=256)
    assert len(set(zip(rows.tolist(), cols.tolist()))) == len(rows)
    R = np.zeros((len(specs), len(specs)))
    R[rows, cols] = vals
    np.testing.assert_array_equal(R, roughness_matrix(specs, LOW, HIGH, n_points=256))


def test_rejects_non_specs():
    with pytest.raises(TypeError, match=r"specs\[1\] = 'x0\^2' is not a feature spec"):
        roughness_matrix([Moment(0), "x0^2"], [0.0], [1.0])


def test_module_imports_neither_sklearn_nor_the_shell():
    code = (
        "import sys, skmaxent.core.features.roughness;"
        "bad = [m for m in sys.modules if m.startswith('sklearn')"
        " or m in ('skmaxent.features', 'skmaxent._inputs.validation')];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
