"""The one host loop over jitted chunks: progress, convergence, divergence, history.

It drives any chain fit given a ``run_chunk(state, phase)`` function: it
reads each chunk's :class:`~skmaxent.core.training.loop.ChunkInfo`, decides the next
:class:`~skmaxent.core.training.problem.Phase` (verify, learn, average) and when to
stop, keeps the Polyak–Ruppert average on the host, and never writes the
core's state, and never sees the estimator (its settings come as
arguments).
"""

from typing import Any, NamedTuple

import numpy as np
import scipy.stats

from skmaxent._fit.interrupts import checkpoint
from skmaxent._fit.settings import Settings
from skmaxent.core.training.problem import Phase

__all__ = [
    "Rule",
    "FitResult",
    "run",
    "unconverged",
    "quick_programs",
    "error_quantile",
    "gradient_statistic",
]


class Rule(NamedTuple):
    """The convergence rule: ``max_k (|e_k| - z SE_k) < tol``.

    on : ``"residual"`` (the chunk's reported residual) or ``"gradient"``.
    se : ``"chains"`` (SE from the per-chain / per-group chunk means; ``z``
        the Bonferroni-corrected normal quantile, or Student's with
        ``groups - 1`` degrees of freedom) or ``"batch"`` (batch means over
        the last ``Settings.n_windows`` chunks, Student's quantile).
    groups : the number of groups of chains behind the SE, or ``None``.
    """

    on: str = "residual"
    se: str = "chains"
    groups: int | None = None


class FitResult(NamedTuple):
    """What a fit hands back to the estimator (NumPy, except ``state``)."""

    state: Any
    theta: np.ndarray
    history: dict
    converged: bool
    error: float
    stopped: bool = False


def error_quantile(p: int, groups: int | None = None) -> float:
    """Standard errors allowed per feature: the two-sided 5% normal quantile
    Bonferroni-corrected over ``p`` (1.96 for one feature, 3.5 for 230), or
    Student's with ``groups - 1`` degrees of freedom."""
    if groups is not None:
        return float(scipy.stats.t.isf(0.025 / p, groups - 1))
    return float(scipy.stats.norm.isf(0.025 / p))


def gradient_statistic(windows: list, value, n_windows: int) -> float:
    """``max_k (|mean_k| - t SE_k)`` over the last ``n_windows`` window means.

    The SE is the spread of the windows' means (batch means): it includes
    every source of noise, which per-chain spreads would miss. ``inf`` until
    ``n_windows`` windows are in.
    """
    windows.append(value)
    del windows[:-n_windows]
    M = len(windows)
    if M < n_windows:
        return np.inf
    g = np.asarray(windows)
    se = g.std(axis=0, ddof=1) / np.sqrt(M)
    t = float(scipy.stats.t.isf(0.025 / g.shape[1], M - 1))
    return float(np.max(np.abs(g.mean(axis=0)) - t * se))


class _Rule:
    """The statistic of a :class:`Rule`, chunk after chunk."""

    def __init__(self, rule: Rule, n_windows: int):
        self.rule, self.n_windows, self.windows = rule, n_windows, []

    def __call__(self, info) -> float:
        value = np.asarray(getattr(info, self.rule.on))
        if self.rule.se == "batch":
            return gradient_statistic(self.windows, value, self.n_windows)
        z = error_quantile(value.size, self.rule.groups)
        return float(np.max(np.abs(value) - z * np.asarray(info.residual_se)))


class _Average:
    """The Polyak–Ruppert average after the rule holds, and its precision.

    It runs at least ``settings.n_average`` iterations and, on the residual
    rule, on until the averaged residual's Monte Carlo error is at most
    ``settings.average_precision`` model sd per feature (Bonferroni over
    the features; SE from the per-chain or per-group means over the whole
    average, so it absorbs the chains' autocorrelation), or
    ``settings.max_average`` iterations are in. First-order, the averaged
    iterate's moments are off by that averaged noise: many features need
    a longer average than few.
    """

    def __init__(self, rule: Rule, settings: Settings):
        self.rule, self.settings = rule, settings
        self.n, self.theta, self.means, self.var = 0, 0.0, 0.0, 0.0

    def add(self, info, k: int) -> None:
        self.n += k
        self.theta = self.theta + k * np.asarray(info.theta, np.float64)
        self.means = self.means + k * np.asarray(info.group_means, np.float64)
        self.var = self.var + k * np.asarray(info.spread, np.float64) ** 2

    def precision(self) -> float:
        """``max_k z SE_k / sd_k`` of the average so far."""
        means = self.means / self.n
        R, p = means.shape
        se = means.std(axis=0, ddof=1) / np.sqrt(R)
        sd = np.sqrt(self.var / self.n)
        ratio = np.where(sd > 0, se / np.where(sd > 0, sd, 1.0), 0.0)
        # The normal quantile: the maximum of R-group SE estimates is biased
        # up already (~1.4x over 3,600 features from 32 groups).
        return error_quantile(p) * float(np.max(ratio))

    def done(self) -> bool:
        s = self.settings
        if self.n < s.n_average:
            return False
        if (self.rule.on, self.rule.se) != ("residual", "chains"):
            return True
        return self.n >= s.max_average or self.precision() <= s.average_precision


def unconverged(name, limits, result, settings) -> str:
    """The ConvergenceWarning's text for the estimator ``name``'s unconverged
    ``result``; ``limits`` its ``(tol, max_iter)``."""
    tol, max_iter = limits
    acc = float(np.mean(result.history["acceptance"][-settings.chunk_size :]))
    why = (
        f"its chains barely moved (HMC acceptance {acc:.2g} < "
        f"{settings.min_acceptance}), so their moments are no estimate: try "
        "step_size='auto' or a smaller step_size"
        if acc < settings.min_acceptance
        else f"last window's standardised moment error {result.error:.3g}, "
        "not within tol of zero up to its Monte Carlo error. Increase "
        "max_iter or n_chains, or raise tol"
    )
    return f"{name} did not meet tol={tol} in max_iter={max_iter} iterations ({why})."


def quick_programs(n_chains: int, n_dim: int, n_params: int, settings) -> bool:
    """Whether a fit is small enough for the quickly compiled programs
    (``Settings.quick_compile_max``) where their work is short: verifying a
    start, and the ``log Z`` of a fit that ended there."""
    return n_chains * (n_dim + n_params) <= settings.quick_compile_max


def _diverged(done, info, names):
    res = np.nan_to_num(np.asarray(info.residual), nan=np.inf)
    worst = int(np.argmax(np.abs(res)))
    return RuntimeError(
        f"The fit diverged at iteration {done}: non-finite parameters or chains "
        f"(largest residual on feature {worst} '{names[worst]}'). Try a smaller "
        "learning_rate or alpha > 0."
    )


class _Progress:
    """The progress bar (``verbose > 0``) over a fit's iterations."""

    def __init__(self, verbose: int, total: int, desc: str, start: int):
        self.bar, self.start = None, start
        if verbose > 0:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc)

    def update(self, k: int, error: float, phase: str) -> None:
        if self.bar is not None:
            self.bar.update(k)
            self.bar.set_postfix(moment_error=f"{error:.2g}", phase=phase)

    def expect(self, until: int, grow_only: bool = False) -> None:
        """The work left ends at iteration ``until``."""
        if self.bar is None or (grow_only and self.bar.total >= until - self.start):
            return
        self.bar.total = until - self.start
        self.bar.refresh()

    def close(self, done: int) -> None:
        if self.bar is not None:
            self.bar.total = done - self.start  # a fit that stops early: 100%
            self.bar.close()


class _History:
    """``history_``: per-iteration entries of the chunks' infos, and phases."""

    def __init__(self, loss: bool | str):
        loss_key = loss if isinstance(loss, str) else "smm_loss"
        names = ["moment_error", "acceptance"]
        self.fields = {k: k for k in names} | ({loss_key: "loss"} if loss else {})
        self.pieces = {}

    def add(self, info, k: int, phase: str) -> None:
        """A chunk's first ``k`` iterations: the fields, the sampling kernel's
        parameters (``step_size``) and the phase."""
        entries = {key: getattr(info, field) for key, field in self.fields.items()}
        entries |= info.params._asdict() | {"phase": np.full(k, phase)}
        for key, value in entries.items():
            self.pieces.setdefault(key, []).append(np.asarray(value)[:k])

    def arrays(self) -> dict:
        return {k: np.concatenate(v) for k, v in self.pieces.items()}


def run(
    run_chunk,
    state,
    *,
    max_iter: int,
    tol: float,
    rule: Rule,
    adapt: bool,
    verify: bool,
    names,
    settings: Settings,
    verbose: int = 0,
    desc: str = "fit",
    loss: bool | str = False,
    stop=None,
) -> FitResult:
    """Learn until the rule holds, then average (at least
    ``settings.n_average`` iterations, see :class:`_Average`).

    With ``verify`` the chains first run ``settings.verify_chunks`` chunk(s)
    at the fixed start; if the rule holds on the last, the start is the fit.
    An unconverged fit returns the mean of its last chunk's iterates (one
    whose chains froze while the iterates were averaged, the mean of the
    chunk where the rule held; see ``Settings.min_acceptance``).
    ``loss`` names the history entry of the objective's loss (``True``:
    ``"smm_loss"``). ``stop`` (early stopping), when given, is called with
    each learning chunk's mean iterate before the rule holds; when it returns
    True the fit ends with ``stop.best`` (``FitResult.stopped``).
    """
    history = _History(loss)
    statistic = _Rule(rule, settings.n_windows)
    done = start = int(state.iteration)
    limit = done + max_iter
    bar = _Progress(verbose, max_iter, desc, start)
    verifying = settings.verify_chunks if verify else 0
    converged, theta, error = False, None, np.inf
    average = _Average(rule, settings)
    stopped = False
    while done < limit:
        phase = "verify" if verifying else ("average" if converged else "learn")
        flags = Phase(
            learn=np.asarray(not verifying),
            adapt=np.asarray(adapt),
            max_iter=np.int32(limit),
        )
        state, info = run_chunk(state, flags)
        new_done = int(state.iteration)
        checkpoint()  # a Ctrl-C surfaces here, between chunks
        k, done = new_done - done, new_done
        history.add(info, k, phase)
        if not bool(info.finite):
            raise _diverged(done, info, names)
        # Chains that (nearly) never move hold their means still, and those
        # means' spread is no Monte Carlo error of the model's: such a chunk
        # proves nothing.
        frozen = float(np.mean(info.acceptance)) < settings.min_acceptance
        stat = np.inf if frozen else statistic(info)
        error = float(np.max(np.abs(np.asarray(info.residual))))
        bar.update(k, error, phase)
        chunk_theta = np.asarray(info.theta, np.float64)
        if converged:
            average.add(info, k)
            if frozen:  # the chains stopped while the iterates were averaged
                converged = False
                break
            if average.done():
                break
            bar.expect(min(limit, done + k), grow_only=True)  # a longer average
            continue
        theta = chunk_theta
        if verifying:
            verifying -= 1
            if not verifying and stat < tol:
                converged = True
                break
        elif stat < tol:
            converged = True
            bar.expect(min(limit, done + settings.n_average))  # the averaging
        elif stop is not None and stop(chunk_theta):
            theta, stopped = np.asarray(stop.best, np.float64), True
            break
    bar.close(done)
    if average.n and converged:
        theta = average.theta / average.n
    return FitResult(state, theta, history.arrays(), converged, error, stopped)
