"""Shell-side checks: bounds, inferred bounds, targets and their feasibility."""

import re

import numpy as np
import pytest
from numpy.polynomial import legendre

from skmaxent._inputs.validation import (
    check_bounds,
    check_feasible,
    check_moments,
    infer_bounds,
)
from skmaxent.features import Custom, Indicator, Legendre, Moment, Product

# ---------------------------------------------------------------- bounds


def test_check_bounds_returns_float64_copy():
    given = [[0, 1], [-2.5, 3]]
    B = check_bounds(given, 2)
    assert B.dtype == np.float64 and B.shape == (2, 2)
    np.testing.assert_array_equal(B, given)
    src = np.array(given, dtype=np.float64)
    assert not np.shares_memory(check_bounds(src, None), src)


@pytest.mark.parametrize(
    "bounds, n, match",
    [
        ([0, 1], 1, r"bounds must have shape \(1, 2\).*got shape \(2,\)"),
        ([[0, 1, 2]], 1, r"bounds must have shape \(1, 2\).*\(1, 3\)"),
        (np.zeros((0, 2)), None, r"bounds must have shape"),
        ([[0, 1], [0, 1]], 3, r"bounds has 2 rows but X has 3 columns"),
        ([[0, 1], [2, 2]], 2, r"bounds\[1\] = \[2, 2\] does not have lo < hi"),
        ([[0, 1], [3, 2]], None, r"bounds\[1\] = \[3, 2\] does not have lo < hi"),
        ([[np.inf, np.inf]], 1, r"bounds\[0\] = \[inf, inf\] is not a \[lo, hi\]"),
        ([[np.nan, 1]], 1, r"bounds\[0\] = \[nan, 1\] is not a \[lo, hi\]"),
        ([[1e8, 1e8 + 1]], 1, r"bounds\[0\] = .* not a box in float32"),
        ([[0, 1e39]], 1, r"bounds\[0\] = .* not a box in float32"),
        ([["a", "b"]], 1, r"bounds must be a numeric array-like"),
    ],
)
def test_check_bounds_errors(bounds, n, match):
    with pytest.raises(ValueError, match=match):
        check_bounds(bounds, n)


def test_infer_bounds_widens_by_five_percent():
    X = np.array([[0.0, -3.0], [2.0, 1.0], [1.0, 5.0]])
    # ranges 2 and 8: margins 0.1 and 0.4 on each side.
    np.testing.assert_allclose(infer_bounds(X), [[-0.1, 2.1], [-3.4, 5.4]])


def test_infer_bounds_constant_column():
    X = np.array([[3.0, 0.0, -40.0], [3.0, 0.0, -40.0]])
    # half-width 0.05 * max(|v|, 1): 0.15, 0.05 and 2.
    np.testing.assert_allclose(
        infer_bounds(X), [[2.85, 3.15], [-0.05, 0.05], [-42.0, -38.0]]
    )
    assert np.all(infer_bounds(X[:1]) == infer_bounds(X))  # one row works too


def test_infer_bounds_errors():
    with pytest.raises(ValueError, match="n_samples >= 1"):
        infer_bounds(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="Column 0 of X .* float32"):
        infer_bounds([[1e8], [1e8 + 1e-3]])


# ---------------------------------------------------------------- moments

NAMES = ["x0", "x1", "x0^2", "x0*x1"]


def test_check_moments_array_and_dict():
    mu = check_moments([0.1, 0.2, 0.3, 0.4], NAMES)
    assert mu.dtype == np.float64 and mu.shape == (4,)
    from_dict = check_moments({"x0*x1": 0.4, "x0^2": 0.3, "x1": 0.2, "x0": 0.1}, NAMES)
    np.testing.assert_array_equal(from_dict, mu)


def test_check_moments_unknown_names():
    with pytest.raises(ValueError) as info:
        check_moments({"x0": 0, "x1": 0, "x0^2": 0, "x0*x1": 0, "x9": 1}, NAMES)
    msg = str(info.value)
    assert "unknown feature name(s) ['x9']" in msg
    assert "'x0', 'x1'" in msg  # a few valid names


def test_check_moments_missing_names():
    with pytest.raises(ValueError, match=re.escape("missing 2 feature name(s)")) as e:
        check_moments({"x0": 0.0, "x1": 0.0}, NAMES)
    assert "'x0^2', 'x0*x1'" in str(e.value)


@pytest.mark.parametrize(
    "moments, match",
    [
        ([0.1, 0.2, 0.3], r"moments must have length 4 .*got length 3"),
        ([[0.1, 0.2, 0.3, 0.4]], r"moments must have length 4 .*shape \(1, 4\)"),
        (0.5, r"moments must have length 4 .*shape \(\)"),
        ([0.1, np.nan, 0.3, 0.4], r"moments\[1\] \('x1'\) = nan is not finite"),
        ({"x0": 0, "x1": 0, "x0^2": np.inf, "x0*x1": 0}, r"moments\[2\] \('x0\^2'\)"),
        (["a", 0, 0, 0], r"moments must be numeric"),
    ],
)
def test_check_moments_errors(moments, match):
    with pytest.raises(ValueError, match=match):
        check_moments(moments, NAMES)


# ---------------------------------------------------------------- feasibility

BOX = np.array([[-2.0, 5.0], [0.0, 1.0], [1.0, 3.0]])
SPECS = [
    Moment(0),
    Moment(1),
    Moment(2),
    Moment(0, 2),
    Moment(1, 2),
    Moment(2, 2),
    Moment(0, 3),
    Moment(2, 4),
    Product(0, 1),
    Product(0, 2),
    Product(1, 2),
    Indicator(0, -1.0, 0.5),
    Indicator(1, -1.0, 2.0),  # covers [0, 1]
    Indicator(2, 4.0, 6.0),  # misses [1, 3]
    Legendre(1, 0),
    Legendre(1, 1),
    Legendre(1, 2),
    Legendre(2, 5),
    Custom(lambda x: x[0] ** 2, "c"),
]


def _features(X):
    """Feature values written out independently of the package, (N, p)."""
    u1 = (X[:, 1] - BOX[1, 0]) / (BOX[1, 1] - BOX[1, 0])
    u2 = (X[:, 2] - BOX[2, 0]) / (BOX[2, 1] - BOX[2, 0])

    def shifted(d, u):
        return legendre.legval(2 * u - 1, np.eye(d + 1)[d])

    cols = [
        X[:, 0],
        X[:, 1],
        X[:, 2],
        X[:, 0] ** 2,
        X[:, 1] ** 2,
        X[:, 2] ** 2,
        X[:, 0] ** 3,
        X[:, 2] ** 4,
        X[:, 0] * X[:, 1],
        X[:, 0] * X[:, 2],
        X[:, 1] * X[:, 2],
        (X[:, 0] >= -1) & (X[:, 0] < 0.5),
        (X[:, 1] >= -1) & (X[:, 1] < 2),
        (X[:, 2] >= 4) & (X[:, 2] < 6),
        shifted(0, u1),
        shifted(1, u1),
        shifted(2, u1),
        shifted(5, u2),
        X[:, 0] ** 2,
    ]
    return np.stack(cols, axis=1).astype(np.float64)


def _uniform(rng, n):
    return BOX[:, 0] + rng.uniform(size=(n, 3)) * (BOX[:, 1] - BOX[:, 0])


def _samples(kind):
    rng = np.random.default_rng(0)
    if kind == "uniform":
        return _uniform(rng, 2000)
    if kind == "correlated":  # x1 and x2 move with x0, with a density
        t = rng.beta(0.5, 0.5, size=2000)
        s, r = (0.9 * t + 0.1 * rng.uniform(size=2000) for _ in range(2))
        return BOX[:, 0] + np.stack([t, s, 1 - r], 1) * (BOX[:, 1] - BOX[:, 0])
    if kind == "line":  # x1 and x2 functions of x0: mass on a line
        t = rng.beta(0.5, 0.5, size=2000)
        return BOX[:, 0] + np.stack([t, t, 1 - t], 1) * (BOX[:, 1] - BOX[:, 0])
    if kind == "corners":  # mass on the box's corners only: limits of bounds
        c = rng.integers(0, 2, size=(500, 3))
        return np.where(c == 1, BOX[:, 1], BOX[:, 0])
    if kind == "atom":  # one point: zero variances, an edge of every bound
        return np.array([[0.0, 0.0, 1.0]])
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["uniform", "correlated"])
def test_moments_of_a_density_on_the_box_are_feasible(kind):
    mu = _features(_samples(kind)).mean(axis=0)
    check_feasible(SPECS, mu, BOX)  # does not raise


@pytest.mark.parametrize("kind", ["line", "corners", "atom"])
def test_moments_only_a_degenerate_distribution_has_raise(kind):
    # Limits are open: these targets are those of a distribution on the box,
    # but of none with a density positive on the whole box.
    mu = _features(_samples(kind)).mean(axis=0)
    with pytest.raises(ValueError, match="Only a degenerate distribution"):
        check_feasible(SPECS, mu, BOX)


@pytest.mark.parametrize(
    "spec, value, match",
    [
        (Moment(0), 0.0, r"is at the limit 0 of \[0, 1\], the range of x0"),
        (Moment(0), 1.0, r"is at the limit 1 of \[0, 1\]"),
        (Moment(0, 2), 0.0, r"is at the limit 0 of \[0, 1\]"),
        (Indicator(0, 0.5, 2.0), 0.0, r"is at the limit 0 of \[0, 1\]"),
        (Legendre(0, 1), 1.0, r"is at the limit 1 of \[-1, 1\]"),
    ],
)
def test_target_on_a_face_raises(spec, value, match):
    # A mean on a face of the box is that of a point mass there only.
    with pytest.raises(ValueError, match=match):
        check_feasible([spec], [value], [[0.0, 1.0]])
    check_feasible([spec], [0.5 * value + 0.25], [[0.0, 1.0]])  # inside: passes


@pytest.mark.parametrize("scale", [1e-12, 1.0, 1e12])
def test_feasibility_is_scale_free(scale):
    # The same targets in other units: the same verdicts. An absolute floor in
    # the tolerance (the former max(|a|, 1)) let a mean 500 box-widths
    # outside [0, 1e-12] through.
    specs, box = [Moment(0), Moment(0, 2)], np.array([[0.0, 1.0]]) * scale
    check_feasible(specs, [0.3 * scale, 0.1 * scale**2], box)
    for mu, match in [
        ([-500 * scale, 0.1 * scale**2], "is outside"),
        ([0.3 * scale, 0.05 * scale**2], "is below moments"),
        ([0.3 * scale, 0.09 * scale**2], "is at moments"),
        ([0.0, 0.0], "is at the limit 0"),
    ]:
        with pytest.raises(ValueError, match=match):
            check_feasible(specs, mu, box)


def _perturbed(k, value):
    mu = _features(_samples("uniform")).mean(axis=0)
    mu[k] = value
    return mu


@pytest.mark.parametrize(
    "k, value, match",
    [
        # ranges of single features
        (0, 5.1, r"is outside \[-2, 5\], the range of x0 on bounds\[0\]"),
        (3, -0.01, r"is outside \[0, 25\], the range of x0\^2 on bounds\[0\]"),
        (3, 25.5, r"is outside \[0, 25\]"),
        (5, 0.99, r"is outside \[1, 9\], the range of x2\^2 on bounds\[2\]"),
        (6, -8.5, r"is outside \[-8, 125\], the range of x0\^3"),
        (7, 81.5, r"is outside \[1, 81\]"),
        (8, -2.5, r"is outside \[-2, 5\], the range of x0\*x1"),
        (9, -6.5, r"is outside \[-6, 15\]"),
        (11, 1.01, r"is outside \[0, 1\], the range of a probability"),
        (11, -0.01, r"is outside \[0, 1\]"),
        (12, 0.9, r"is not 1, as \[-1, 2\) covers bounds\[1\] = \[0, 1\]"),
        (13, 0.1, r"is not 0, as \[4, 6\) misses bounds\[2\] = \[1, 3\]"),
        (14, 0.5, r"is not 1, .*degree 0"),
        (15, 1.2, r"is outside \[-1, 1\], .*Legendre polynomial of degree 1"),
        (16, -0.51, r"is outside \[-0.5, 1\], .*degree 2"),
        # joint conditions
        (3, 0.0, r"is below moments\[0\]\*\*2 = .*squared mean"),
        (3, 20.0, r"is above \(lo \+ hi\) \* moments\[0\] - lo \* hi = .*Bhatia"),
        (8, 2.7, r"is above .* one sign on the box"),  # limit 2.5 +- 0.05
        (9, -0.8, r"is below .* one sign on the box"),  # limit -0.5 +- 0.1
        (8, 1.9, r"covariance .* \(Cauchy–Schwarz\)"),  # |cov| 1.15 > 0.59
        (9, 4.7, r"covariance .* \(Cauchy–Schwarz\)"),  # |cov| 1.7 > 1.17
    ],
)
def test_infeasible_targets_raise_naming_the_feature(k, value, match):
    names = [f"f{j}" for j in range(len(SPECS))]
    with pytest.raises(ValueError, match=match) as info:
        check_feasible(SPECS, _perturbed(k, value), BOX, names)
    assert str(info.value).startswith(f"moments[{k}] ('f{k}') = ")


def test_jensen_message_matches_design():
    specs = [Moment(0), Moment(1), Moment(0, 2)]
    with pytest.raises(ValueError) as info:
        check_feasible(specs, [0.3, 0.5, 0.01], [[0, 1], [0, 1]], ["x0", "x1", "x0^2"])
    assert str(info.value).startswith(
        "moments[2] ('x0^2') = 0.01 is below moments[0]**2 = 0.09: no distribution "
        "has a second moment below its squared mean"
    )


def test_cauchy_schwarz_inside_corner_bounds():
    # x0, x1 on [0, 1] with means 0.5 and variances 0.01: |cov| <= 0.01, while
    # the corner bounds only ask E[x0 x1] in [0, 0.5].
    specs = [Moment(0), Moment(1), Moment(0, 2), Moment(1, 2), Product(0, 1)]
    box = [[0, 1], [0, 1]]
    check_feasible(specs, [0.5, 0.5, 0.26, 0.26, 0.255], box)  # cov = 0.005
    with pytest.raises(ValueError, match=r"covariance 0.01 .* at sqrt.*Cauchy"):
        check_feasible(specs, [0.5, 0.5, 0.26, 0.26, 0.26], box)  # the limit
    with pytest.raises(ValueError, match=r"moments\[4\].*covariance 0.02.*Cauchy"):
        check_feasible(specs, [0.5, 0.5, 0.26, 0.26, 0.27], box)


def test_names_default_to_spec_repr():
    with pytest.raises(
        ValueError, match=re.escape("moments[0] ('Moment(i=0, power=1)')")
    ):
        check_feasible([Moment(0)], [2.0], [[0, 1]])


def test_custom_features_are_not_checked():
    check_feasible([Custom(lambda x: x[0], "c")], [1e6], [[0, 1]])
