"""Plotting helpers: a fit's convergence, marginals and pairs are seen faster than read.

matplotlib is optional: it is imported when a helper is called, never when
:mod:`skmaxent` is, and a missing matplotlib raises :class:`ImportError`
naming the extra that installs it.
"""

import numpy as np

__all__ = ["plot_convergence", "plot_marginals", "plot_pairs"]

_EXTRA = "pip install 'skmaxent[examples]'"
_TRACES = ("moment_error", "smm_loss", "acceptance", "step_size")


def _pyplot():
    """Return ``matplotlib.pyplot``, or raise an ImportError naming the extra."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(
            f"skmaxent.plotting needs matplotlib, which is not installed: {_EXTRA}"
        ) from err
    return plt


def _axes(axes, n, ncols, size):
    """Given axes as a flat array of ``n``, or a new figure's when ``axes`` is None."""
    if axes is None:
        plt = _pyplot()
        nrows = -(-n // ncols)
        _, grid = plt.subplots(
            nrows, ncols, figsize=(size * ncols, 0.8 * size * nrows), squeeze=False
        )
        flat = grid.ravel()
        for ax in flat[n:]:
            ax.set_visible(False)
        return flat[:n]
    flat = np.asarray(axes, dtype=object).ravel()
    if flat.size != n:
        raise ValueError(f"axes must hold {n} Axes, one per panel; got {flat.size}")
    return flat


def _names(names, n):
    if names is None:
        return [f"x{i}" for i in range(n)]
    names = [str(s) for s in names]
    if len(names) != n:
        raise ValueError(
            f"names must have {n} entries, one per column; got {len(names)}"
        )
    return names


def _samples(samples):
    samples = np.asarray(samples, dtype=float)
    if samples.ndim != 2:
        raise ValueError(
            f"samples must be 2-D, (n_samples, n_features); got shape {samples.shape}"
        )
    return samples


def _ranges(bounds, samples):
    """Histogram range per column: the finite bounds, else the samples' range."""
    lo, hi = samples.min(axis=0), samples.max(axis=0)
    if bounds is not None:
        bounds = np.asarray(bounds, dtype=float)
        if bounds.shape != (samples.shape[1], 2):
            raise ValueError(
                f"bounds must have shape ({samples.shape[1]}, 2); got {bounds.shape}"
            )
        lo = np.where(np.isfinite(bounds[:, 0]), bounds[:, 0], lo)
        hi = np.where(np.isfinite(bounds[:, 1]), bounds[:, 1], hi)
    return list(zip(lo, hi, strict=True))


def plot_convergence(estimator_or_history, *, keys=None, tol=None, axes=None):
    """Plot the per-iteration traces of a fit's ``history_``.

    One panel per trace: the standardised moment error (log scale, with
    ``tol``), the moment-matching loss when present, the median acceptance
    and the HMC step size. When the history has a ``"phase"`` entry, the
    iterations of each phase (``"verify"``, ``"learn"``, ``"average"``) are
    shaded, so that a verified start or the averaging window is visible.

    Parameters
    ----------
    estimator_or_history : estimator or dict of array-like
        A fitted chain estimator (its ``history_`` and ``tol`` are read) or a
        ``history_`` dictionary.
    keys : sequence of str or None, default=None
        The traces to draw. ``None`` draws those of ``"moment_error"``,
        ``"smm_loss"``, ``"acceptance"`` and ``"step_size"`` that are present.
    tol : float or None, default=None
        A horizontal line on the moment-error panel; ``None`` uses the
        estimator's ``tol`` when an estimator is given.
    axes : array-like of matplotlib Axes or None, default=None
        One Axes per trace; ``None`` makes a new figure.

    Returns
    -------
    axes : ndarray of matplotlib Axes
        The panels, in the order of ``keys``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmaxent.plotting import plot_convergence
    >>> history = {"moment_error": np.geomspace(1.0, 1e-3, 50),
    ...            "acceptance": np.full(50, 0.8)}
    >>> axes = plot_convergence(history, tol=1e-3)
    >>> [ax.get_title() for ax in axes]
    ['moment_error', 'acceptance']
    """
    history = getattr(estimator_or_history, "history_", estimator_or_history)
    if not isinstance(history, dict):
        raise TypeError(
            "estimator_or_history must be a fitted estimator with history_ or a "
            f"dict of traces; got {type(estimator_or_history).__name__}"
        )
    if tol is None:
        tol = getattr(estimator_or_history, "tol", None)
    if keys is None:
        keys = [k for k in _TRACES if k in history]
    missing = [k for k in keys if k not in history]
    if missing or not keys:
        raise ValueError(
            f"keys {missing or keys} are not traces of the history, which has "
            f"{sorted(history)}"
        )
    axes = _axes(axes, len(keys), min(len(keys), 2), 4.5)
    phase = history.get("phase")
    for ax, key in zip(axes, keys, strict=True):
        trace = np.asarray(history[key], dtype=float)
        ax.plot(np.arange(trace.size), trace, color="C0", lw=1, label=key)
        if phase is not None:
            _shade_phases(ax, np.asarray(phase))
        if key in ("moment_error", "smm_loss") and np.all(
            trace[np.isfinite(trace)] > 0
        ):
            ax.set_yscale("log")
        if key == "moment_error" and tol is not None:
            ax.axhline(tol, color="k", ls="--", lw=1, label=f"tol={tol:g}")
        ax.set_title(key)
        ax.set_xlabel("iteration")
    axes[0].legend(fontsize="small")
    return axes


def _shade_phases(ax, phase):
    """Shade each run of equal phases, labelled once per phase name."""
    colours = {"verify": "C2", "learn": "C1", "average": "C4"}
    change = np.flatnonzero(phase[1:] != phase[:-1]) + 1
    starts = np.r_[0, change]
    stops = np.r_[change, phase.size]
    seen = set()
    for a, b in zip(starts, stops, strict=True):
        name = str(phase[a])
        label = None if name in seen else name
        seen.add(name)
        ax.axvspan(a, b, color=colours.get(name, "0.8"), alpha=0.12, lw=0, label=label)


def plot_marginals(
    samples, *, bounds=None, targets=None, names=None, bins=40, axes=None
):
    """Histogram each column of ``samples``, with its mean against a target mean.

    Parameters
    ----------
    samples : array-like of shape (n_samples, n_features)
        Draws, e.g. from an estimator's ``sample``.
    bounds : array-like of shape (n_features, 2) or None, default=None
        The histogram range of each column (infinite limits fall back to the
        samples' range); ``None`` uses the samples' range.
    targets : array-like of shape (n_features,) or None, default=None
        Target mean of each column (NaN for none), drawn as a dashed line
        beside the samples' mean.
    names : sequence of str or None, default=None
        Column names for the x labels; ``None`` uses ``x0, x1, ...``.
    bins : int, default=40
        Bins per histogram.
    axes : array-like of matplotlib Axes or None, default=None
        One Axes per column; ``None`` makes a new figure.

    Returns
    -------
    axes : ndarray of matplotlib Axes
        One panel per column.

    Examples
    --------
    >>> import numpy as np
    >>> from skmaxent.plotting import plot_marginals
    >>> samples = np.random.RandomState(0).uniform(size=(500, 2))
    >>> axes = plot_marginals(samples, bounds=[[0, 1], [0, 1]], targets=[0.5, 0.5])
    >>> len(axes)
    2
    """
    samples = _samples(samples)
    n = samples.shape[1]
    names = _names(names, n)
    ranges = _ranges(bounds, samples)
    if targets is not None:
        targets = np.asarray(targets, dtype=float)
        if targets.shape != (n,):
            raise ValueError(f"targets must have shape ({n},); got {targets.shape}")
    axes = _axes(axes, n, min(n, 4), 3.2)
    for i, ax in enumerate(axes):
        ax.hist(samples[:, i], bins=bins, range=ranges[i], density=True, alpha=0.6)
        ax.axvline(samples[:, i].mean(), color="C3", lw=1.5, label="sample mean")
        if targets is not None and np.isfinite(targets[i]):
            ax.axvline(targets[i], color="k", ls="--", lw=1.5, label="target mean")
        ax.set_xlabel(names[i])
    axes[0].legend(fontsize="small")
    return axes


def plot_pairs(
    samples, *, bounds=None, names=None, max_points=2000, random_state=0, axes=None
):
    """Pairwise scatter of the columns of ``samples``, histograms on the diagonal.

    Parameters
    ----------
    samples : array-like of shape (n_samples, n_features)
        Draws, e.g. from an estimator's ``sample``.
    bounds : array-like of shape (n_features, 2) or None, default=None
        Axis limits of each column (infinite limits fall back to the samples'
        range); ``None`` uses the samples' range.
    names : sequence of str or None, default=None
        Column names for the labels; ``None`` uses ``x0, x1, ...``.
    max_points : int, default=2000
        At most this many rows (chosen at random) are scattered; the
        histograms use all rows.
    random_state : int, RandomState instance or None, default=0
        Chooses the scattered rows.
    axes : array-like of matplotlib Axes of shape (n_features, n_features) or None, \
default=None
        The grid; ``None`` makes a new figure. Panels above the diagonal are
        hidden.

    Returns
    -------
    axes : ndarray of matplotlib Axes of shape (n_features, n_features)
        The grid: ``axes[i, j]`` scatters column ``j`` (x) against ``i`` (y).

    Examples
    --------
    >>> import numpy as np
    >>> from skmaxent.plotting import plot_pairs
    >>> samples = np.random.RandomState(0).normal(size=(300, 3))
    >>> plot_pairs(samples).shape
    (3, 3)
    """
    from sklearn.utils import check_random_state

    samples = _samples(samples)
    n = samples.shape[1]
    names = _names(names, n)
    ranges = _ranges(bounds, samples)
    rng = check_random_state(random_state)
    rows = samples
    if len(samples) > max_points:
        rows = samples[np.sort(rng.choice(len(samples), max_points, replace=False))]
    grid = _axes(axes, n * n, n, 2.4).reshape(n, n)
    for i in range(n):
        for j in range(n):
            ax = grid[i, j]
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                ax.hist(samples[:, i], bins=30, range=ranges[i], color="C0", alpha=0.7)
            else:
                ax.scatter(rows[:, j], rows[:, i], s=3, alpha=0.4, color="C0", lw=0)
                ax.set_ylim(ranges[i])
            ax.set_xlim(ranges[j])
            if i == n - 1:
                ax.set_xlabel(names[j])
            if j == 0 and i > 0:
                ax.set_ylabel(names[i])
    return grid
