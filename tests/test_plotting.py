"""skmaxent.plotting: what each helper draws carries the data it was given."""

import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skmaxent import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _history(n=120):
    rng = np.random.RandomState(0)
    phase = np.array(["verify"] * 20 + ["learn"] * 70 + ["average"] * (n - 90))
    return {
        "moment_error": np.geomspace(0.5, 1e-3, n) * (1 + 0.1 * rng.rand(n)),
        "acceptance": 0.8 + 0.05 * rng.randn(n),
        "step_size": np.linspace(0.2, 0.15, n),
        "phase": phase,
    }


def test_import_skmaxent_does_not_import_matplotlib():
    code = (
        "import sys, skmaxent, skmaxent.plotting; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'skmaxent\[examples\]'"):
        plotting.plot_marginals(np.zeros((10, 2)))


def test_convergence_traces_carry_the_history():
    history = _history()
    axes = plotting.plot_convergence(history, tol=1e-3)
    assert [ax.get_title() for ax in axes] == [
        "moment_error",
        "acceptance",
        "step_size",
    ]
    for ax in axes:
        (line,) = [ln for ln in ax.get_lines() if ln.get_label() == ax.get_title()]
        np.testing.assert_allclose(line.get_ydata(), history[ax.get_title()], rtol=1e-6)
        np.testing.assert_array_equal(line.get_xdata(), np.arange(120))
    assert axes[0].get_yscale() == "log"
    (tol_line,) = [ln for ln in axes[0].get_lines() if ln.get_label() == "tol=0.001"]
    assert tol_line.get_ydata()[0] == pytest.approx(1e-3)
    # one shaded span per run of phases, spanning exactly its iterations
    spans = sorted(
        (p.get_x(), p.get_x() + p.get_width(), p.get_label()) for p in axes[0].patches
    )
    assert [(a, b) for a, b, _ in spans] == [(0, 20), (20, 90), (90, 120)]
    assert [label for *_, label in spans] == ["verify", "learn", "average"]


def test_convergence_reads_an_estimator_and_its_tol():
    class Fitted:
        tol = 0.01
        history_ = {"moment_error": np.array([1.0, 0.1, 0.01])}

    (ax,) = plotting.plot_convergence(Fitted())
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels == ["moment_error", "tol=0.01"]


def test_convergence_rejects_unknown_keys_and_objects():
    with pytest.raises(ValueError, match="smm_loss"):
        plotting.plot_convergence(_history(), keys=["smm_loss"])
    with pytest.raises(TypeError, match="history_"):
        plotting.plot_convergence(np.zeros(3))


def test_marginals_histograms_and_means():
    rng = np.random.RandomState(1)
    samples = rng.beta(2, 5, size=(4000, 3)) * [1, 10, 2]
    bounds = [[0, 1], [0, 10], [0, np.inf]]
    targets = [0.3, np.nan, 0.5]
    axes = plotting.plot_marginals(
        samples, bounds=bounds, targets=targets, names=["a", "b", "c"], bins=25
    )
    assert [ax.get_xlabel() for ax in axes] == ["a", "b", "c"]
    for i, ax in enumerate(axes):
        hi = samples[:, i].max() if i == 2 else bounds[i][1]
        want, edges = np.histogram(samples[:, i], bins=25, range=(0, hi), density=True)
        heights = [p.get_height() for p in ax.patches]
        lefts = [p.get_x() for p in ax.patches]
        np.testing.assert_allclose(heights, want, rtol=1e-10)
        np.testing.assert_allclose(lefts, edges[:-1], rtol=1e-10, atol=1e-12)
        lines = {ln.get_label(): ln.get_xdata()[0] for ln in ax.get_lines()}
        assert lines["sample mean"] == pytest.approx(samples[:, i].mean())
        if np.isnan(targets[i]):
            assert "target mean" not in lines
        else:
            assert lines["target mean"] == pytest.approx(targets[i])


def test_marginals_into_given_axes_and_bad_shapes():
    _, given = plt.subplots(1, 2)
    axes = plotting.plot_marginals(np.ones((5, 2)) * [[0.2, 0.7]], axes=given)
    assert list(axes) == list(given)
    with pytest.raises(ValueError, match="axes must hold 2"):
        plotting.plot_marginals(np.zeros((5, 2)), axes=given[:1])
    with pytest.raises(ValueError, match="targets"):
        plotting.plot_marginals(np.zeros((5, 2)), targets=[0.0])
    with pytest.raises(ValueError, match="bounds"):
        plotting.plot_marginals(np.zeros((5, 2)), bounds=[[0, 1]])
    with pytest.raises(ValueError, match="2-D"):
        plotting.plot_marginals(np.zeros(5))


def test_pairs_scatter_the_right_columns():
    rng = np.random.RandomState(2)
    samples = rng.normal(size=(500, 3)) + [0, 10, 20]
    grid = plotting.plot_pairs(samples, names=["p", "q", "r"], max_points=200)
    assert grid.shape == (3, 3)
    for i in range(3):
        for j in range(3):
            ax = grid[i, j]
            assert ax.get_visible() == (j <= i)
            if j < i:
                (points,) = ax.collections
                xy = points.get_offsets()
                assert len(xy) == 200
                # each scattered row is a row of samples, x = column j, y = column i
                rows = {tuple(r) for r in np.round(samples[:, [j, i]], 10)}
                assert all(tuple(p) in rows for p in np.round(np.asarray(xy), 10))
    diag = [sum(p.get_height() for p in grid[i, i].patches) for i in range(3)]
    assert diag == [500, 500, 500]
    assert grid[2, 0].get_xlabel() == "p" and grid[2, 0].get_ylabel() == "r"
