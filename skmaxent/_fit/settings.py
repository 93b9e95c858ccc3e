"""The numerical settings that are not hyper-parameters, and the thread-local
context that selects them (as scikit-learn's ``config_context``), in one
module so that every fit reads its settings from one documented place."""

import threading
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from numbers import Integral, Real

__all__ = ["Settings", "set_config", "get_config", "config_context"]


@dataclass(frozen=True)
class Settings:
    """Numerical settings of the chain estimators (not hyper-parameters).

    Read with :func:`get_config`, changed with :func:`set_config` or, scoped,
    :func:`config_context`; every name below is a keyword of both. A fit,
    ``sample``, ``score_samples`` and ``transform`` read the settings once,
    when they start. Values are checked on construction (``ValueError``).

    Parameters
    ----------
    chunk_size : int, default=50
        Iterations per compiled chunk: ``n_iter_`` is a multiple of it.
    n_average : int, default=200
        Fewest Polyak–Ruppert iterations after the convergence rule holds.
    average_precision : float, default=0.05
        The residual rule's average goes on until its Monte Carlo error is
        at most this many model sd per feature, or ``max_average``.
    max_average : int, default=2000
        Most iterations of that average.
    n_windows : int or None, default=None
        Windows of the batch-means rule; ``None``: the estimator's own
        (16 for :class:`MaxLikelihoodEBM`, 4 for the others).
    verify_chunks : int, default=1
        Chunks run at a score-matching or Gaussian start before deciding
        whether it is the fit.
    initial_step_size : float, default=0.2
        HMC step size on the unit box with ``step_size="auto"``.
    target_accept : float, default=0.8
        HMC acceptance the step size is tracked towards.
    adapt_gain : float, default=0.05
        Gain of that tracking.
    min_acceptance : float, default=0.05
        A chunk with a lower mean acceptance never satisfies the rule.
    dense_max_features : int, default=1024
        Above it :class:`MaxEntDual`'s step is matrix-free (conjugate
        gradients), and data means are computed in blocks.
    cg_iter : int, default=10
        Conjugate-gradient iterations per step.
    cg_damping : float, default=0.3
        Damping of the matrix-free step, relative to the mean diagonal.
    gaussian_metric : bool, default=True
        Whether the matrix-free step uses the Gaussian metric on a complete
        quadratic block.
    damping : float, default=1e-3
        Damping of the dense step, relative to the mean diagonal.
    max_norm : float, default=0.5
        Clip of the dual step in Fisher norm per square root of the number
        of variables.
    ema : float, default=0.1
        Weight of the Fisher moving average.
    max_grad_norm : float, default=1.0
        Gradient clip before Adam (moment matching, likelihood).
    ais_particles : int or None, default=None
        AIS particles per run; ``None``: ``n_chains``.
    ais_min_temperatures : int, default=8
        Shortest AIS schedule (it doubles while the target error is far).
    ais_temperatures : int, default=100
        Longest AIS schedule.
    ais_reference : {"gaussian", "uniform"}, default="gaussian"
        AIS reference: a defensive Gaussian fitted to the chains, or the
        uniform distribution on the box.
    ais_eps : float, default=0.1
        Uniform share of the Gaussian reference.
    ais_inflate : float, default=1.2
        Widening of the chains' standard deviations in that reference.
    ais_full_max : int, default=200
        Up to this many variables the reference has a full covariance.
    ais_target_std : float, default=0.05
        AIS runs are pooled until ``log_partition_std_`` is at most this, or
        ``ais_max_runs`` are in at the longest schedule.
    ais_max_runs : int, default=8
        Most AIS runs pooled at the longest schedule.
    sample_burn_in : int, default=20
        HMC transitions discarded before ``sample`` keeps draws.
    sample_thin : int, default=2
        HMC transitions per kept draw.
    settle_steps : int, default=100
        Transitions the chains run at the returned parameters before
        ``log Z`` where those are not the iterate the chains followed.
    row_block : int, default=1024
        Rows per compiled block in ``transform`` and ``score_samples``.
    sm_max_features : int, default=8192
        Largest model whose score-matching start is solved.
    quick_compile_max : int, default=131072
        Problems up to this size (``n_chains`` times variables plus
        parameters) use quickly compiled programs where they can.
    max_programs : int, default=128
        Compiled programs the package keeps; a fit that starts with more
        clears them (:func:`skmaxent.clear_caches`).

    Notes
    -----
    The settings of a call are the calling thread's (see
    :func:`config_context`), except for a clone: ``sklearn.base.clone`` of a
    chain estimator, made while the thread's settings differ from the
    defaults, carries a copy of them, and the clone's calls use that copy
    wherever the thread's settings are the defaults (a worker process or
    thread of ``GridSearchCV(n_jobs=2)``). Non-default thread settings always
    win. A clone of a clone keeps its copy.

    Examples
    --------
    >>> from skmaxent import Settings
    >>> Settings().chunk_size
    50
    """

    chunk_size: int = 50
    n_average: int = 200
    average_precision: float = 0.05
    max_average: int = 2000
    n_windows: int | None = None
    verify_chunks: int = 1
    initial_step_size: float = 0.2
    target_accept: float = 0.8
    adapt_gain: float = 0.05
    min_acceptance: float = 0.05
    dense_max_features: int = 1024
    cg_iter: int = 10
    cg_damping: float = 0.3
    gaussian_metric: bool = True
    damping: float = 1e-3
    max_norm: float = 0.5
    ema: float = 0.1
    max_grad_norm: float = 1.0
    ais_particles: int | None = None
    ais_min_temperatures: int = 8
    ais_temperatures: int = 100
    ais_reference: str = "gaussian"
    ais_eps: float = 0.1
    ais_inflate: float = 1.2
    ais_full_max: int = 200
    ais_target_std: float = 0.05
    ais_max_runs: int = 8
    sample_burn_in: int = 20
    sample_thin: int = 2
    settle_steps: int = 100
    row_block: int = 1024
    sm_max_features: int = 8192
    quick_compile_max: int = 2**17
    max_programs: int = 128

    def __post_init__(self):
        for name, value in vars(self).items():
            _check(name, value)
        if self.ais_min_temperatures > self.ais_temperatures:
            raise ValueError(
                "ais_min_temperatures must be at most ais_temperatures; got "
                f"ais_min_temperatures={self.ais_min_temperatures} > "
                f"ais_temperatures={self.ais_temperatures}."
            )


# name: (kind, smallest, largest, whether the ends are allowed); kind is
# "int", "float", "bool" or a tuple of the allowed strings. None is allowed
# for the int fields whose default is None.
_RANGES = {
    "chunk_size": ("int", 1, None, True),
    "n_average": ("int", 0, None, True),
    "average_precision": ("float", 0, None, False),
    "max_average": ("int", 1, None, True),
    "n_windows": ("int", 2, None, True),
    "verify_chunks": ("int", 0, None, True),
    "initial_step_size": ("float", 0, None, False),
    "target_accept": ("float", 0, 1, False),
    "adapt_gain": ("float", 0, None, False),
    "min_acceptance": ("float", 0, 1, True),
    "dense_max_features": ("int", 0, None, True),
    "cg_iter": ("int", 1, None, True),
    "cg_damping": ("float", 0, None, False),
    "gaussian_metric": ("bool", None, None, True),
    "damping": ("float", 0, None, False),
    "max_norm": ("float", 0, None, False),
    "ema": ("float", 0, 1, True),
    "max_grad_norm": ("float", 0, None, False),
    "ais_particles": ("int", 2, None, True),
    "ais_min_temperatures": ("int", 1, None, True),
    "ais_temperatures": ("int", 1, None, True),
    "ais_reference": (("gaussian", "uniform"), None, None, True),
    "ais_eps": ("float", 0, 1, True),
    "ais_inflate": ("float", 0, None, False),
    "ais_full_max": ("int", 0, None, True),
    "ais_target_std": ("float", 0, None, False),
    "ais_max_runs": ("int", 1, None, True),
    "sample_burn_in": ("int", 0, None, True),
    "sample_thin": ("int", 1, None, True),
    "settle_steps": ("int", 0, None, True),
    "row_block": ("int", 1, None, True),
    "sm_max_features": ("int", 0, None, True),
    "quick_compile_max": ("int", 0, None, True),
    "max_programs": ("int", 1, None, True),
}
_NONE_ALLOWED = {"n_windows", "ais_particles"}


def _expected(kind, low, high, closed) -> str:
    if kind == "bool":
        return "a bool"
    if isinstance(kind, tuple):
        return "one of " + ", ".join(map(repr, kind))
    what = "an int" if kind == "int" else "a real number"
    ops = (">=", "<=") if closed else (">", "<")
    if low is not None:
        what += f" {ops[0]} {low}"
    if high is not None:
        what += f" and {ops[1]} {high}" if low is not None else f" {ops[1]} {high}"
    return what


def _ok(kind, low, high, closed, value) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if isinstance(kind, tuple):
        return isinstance(value, str) and value in kind
    number = Integral if kind == "int" else Real
    if isinstance(value, bool) or not isinstance(value, number):
        return False
    if value != value:  # NaN
        return False
    above = low is None or (value >= low if closed else value > low)
    below = high is None or (value <= high if closed else value < high)
    return above and below


def _check(name, value) -> None:
    """Raise ValueError unless ``value`` is a valid setting ``name``."""
    if value is None and name in _NONE_ALLOWED:
        return
    rule = _RANGES[name]
    if not _ok(*rule, value):
        expected = _expected(*rule)
        if name in _NONE_ALLOWED:
            expected += " or None"
        raise ValueError(f"Setting {name} must be {expected}; got {value!r}.")


_NAMES = tuple(f.name for f in fields(Settings))
_DEFAULTS = Settings()
_local = threading.local()


def get_config() -> Settings:
    """The settings in effect in this thread.

    Returns
    -------
    settings : Settings
        The calling thread's settings (the defaults, ``Settings()``, unless
        :func:`set_config` or :func:`config_context` changed them).

    See Also
    --------
    set_config : Change the calling thread's settings.
    config_context : Change them within a ``with`` block.

    Examples
    --------
    >>> import skmaxent
    >>> skmaxent.get_config().gaussian_metric
    True
    """
    return getattr(_local, "settings", _DEFAULTS)


def _with(settings: dict) -> Settings:
    """The current settings with ``settings`` changed (names and values checked)."""
    unknown = sorted(set(settings) - set(_NAMES))
    if unknown:
        raise TypeError(
            f"Unknown setting(s) {', '.join(map(repr, unknown))}; valid names "
            f"are: {', '.join(_NAMES)}."
        )
    return replace(get_config(), **settings)


def set_config(**settings) -> None:
    """Change the settings of this thread (until changed again).

    Parameters
    ----------
    **settings
        Any field of :class:`Settings`, e.g. ``chunk_size=20``. Unknown
        names raise ``TypeError``, invalid values ``ValueError``; nothing is
        changed then.

    See Also
    --------
    get_config : The calling thread's settings.
    config_context : The same change, undone on exit.
    """
    _local.settings = _with(settings)


@contextmanager
def config_context(**settings):
    """Change the settings of this thread within a ``with`` block.

    Contexts nest; on exit (also by an exception) the settings in effect
    before are restored. The settings are per thread: another thread, a
    joblib worker process, starts from the defaults. A chain estimator
    cloned inside the context (``sklearn.base.clone``, as ``GridSearchCV``
    and ``cross_val_score`` do) carries a copy of the context's settings and
    uses it wherever the settings in effect are the defaults, so that a grid
    search inside the context, with ``n_jobs=2`` too, fits with them in
    every fit; non-default settings in effect always win.

    Parameters
    ----------
    **settings
        Any field of :class:`Settings`, e.g. ``gaussian_metric=False``.
        Unknown names raise ``TypeError``, invalid values ``ValueError``,
        before the block runs.

    Yields
    ------
    settings : Settings
        The settings in effect within the block.

    See Also
    --------
    set_config : Change the calling thread's settings until changed again.
    get_config : The calling thread's settings.

    Examples
    --------
    >>> import skmaxent
    >>> from skmaxent import MaxEntDual
    >>> with skmaxent.config_context(chunk_size=20):
    ...     model = MaxEntDual("linear", bounds=[[0, 1]], n_chains=64,
    ...                        random_state=0).fit(moments=[0.3])
    >>> model.n_iter_ % 20
    0
    >>> skmaxent.get_config().chunk_size
    50
    """
    new = _with(settings)
    old = get_config()
    _local.settings = new
    try:
        yield new
    finally:
        _local.settings = old


def clone_snapshot(carried: Settings | None) -> Settings | None:
    """What a clone carries: the thread's settings where they differ from the
    defaults, else ``carried`` (the original's copy, or None)."""
    active = get_config()
    return carried if active == _DEFAULTS else active


def resolve(carried: Settings | None, n_windows: int) -> Settings:
    """The settings of one call: the thread's, or ``carried`` where the
    thread's are the defaults; ``n_windows=None`` becomes ``n_windows``."""
    settings = get_config()
    if carried is not None and settings == _DEFAULTS:
        settings = carried
    if settings.n_windows is None:
        settings = replace(settings, n_windows=n_windows)
    return settings
