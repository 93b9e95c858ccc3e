"""log Z of a fitted chain model: AIS whose cost follows its difficulty.

Each run of :func:`skmaxent.core.logz.ais.model_log_partition` (one compiled
program for every schedule length) gives ``n_chains`` independent, unbiased
weights of ``Z``. The schedule starts short, ``Settings.ais_min_temperatures``
temperatures, and the runs at one length are pooled until the delta-method
standard error of ``log Z`` reaches ``Settings.ais_target_std``. When more
than two further runs at the current length would be needed to reach it
(predicted from the pooled error, which falls as one over the square root of
the runs), the length doubles (:func:`_next`), up to
``Settings.ais_temperatures``, and the pool restarts: the estimate and its
error always come from runs of one schedule, as with a fixed one, so they
never mix the heavier-tailed weights of a schedule found too short. At the
longest schedule up to ``Settings.ais_max_runs`` runs are pooled. With the
diagonal Gaussian reference (above ``Settings.ais_full_max`` variables), a
reverse run from the chains then bounds the estimate from above
(:func:`_bidirectional`); a gap the forward error does not cover becomes the
reported error. (With the full reference the forward error matches the
spread of repeated runs; there, the reverse run's start, the chains moved at
the averaged parameters, is not close enough to the model on strongly
correlated problems and would raise false alarms.) Easy
(near-Gaussian) models stop after one or two short runs; a model whose
``log Z`` stays less certain than the target gets a warning that says by how
much. The forward runs' particles also check the fit's chains
(:func:`_check_chains`), which :func:`settle` first moves to the returned
parameters where training left them at other ones.
"""

import math
import warnings
from functools import partial
from typing import Any, NamedTuple

import jax
import numpy as np
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning

from skmaxent._fit.devices import to_host
from skmaxent._fit.interrupts import checkpoint
from skmaxent._fit.random import key_stream
from skmaxent._fit.train import error_quantile, quick_programs
from skmaxent.core.energy import Linear
from skmaxent.core.logz import ais
from skmaxent.core.logz.references import block_reference
from skmaxent.core.sampling import chains

__all__ = ["AISConfig", "pool", "log_partition", "settle", "missed_mass"]


class AISConfig(NamedTuple):
    """What ``log Z`` needs of the estimator.

    name : its class name, for messages.
    kernel : the sampling kernel of AIS and of the chains' moves.
    n_chains : its chains (the particles of a run, unless
        ``Settings.ais_particles``).
    verbose : a progress bar over runs where above zero.
    """

    name: str
    kernel: Any
    n_chains: int
    verbose: int


def _move(program, key, config: AISConfig, model, state, n_steps: int):
    """``program`` (:func:`skmaxent.core.sampling.chains.sample` or ``settle``) run
    from the fit's chains for ``n_steps`` transitions of the model ``(energy,
    theta, geo)``, with the step size they ended with."""
    energy, theta, geo = model
    theta = np.asarray(theta, np.float32)
    positions = state.chains.position
    return program(
        key, energy, theta, geo, positions, config.kernel, state.params, n_steps
    )


def pool(log_weights) -> tuple[float, float]:
    """``(log Z, its standard error)`` of pooled log-weights, in float64 on
    the host (:func:`skmaxent.core.logz.ais.summarize` with NumPy)."""
    lw = np.asarray(log_weights, np.float64)
    info = ais.summarize(lw, xp=np, logsumexp=logsumexp)
    return float(info.log_z), float(info.log_z_std)


def missed_mass(chains, particles, log_weights, min_shift=0.5):
    """``(flagged, shift)``: whether the weighted AIS particles put the model's
    mass where the chains are not.

    The particles, weighted, are an importance sample of the model reached
    from the reference, whose uniform share covers the whole box; the chains
    sample it only where they went. Per coordinate, the particles' weighted
    mean (delta-method error of a self-normalised estimate) is compared with
    the chains' mean: ``flagged`` when some coordinate differs both
    significantly (Bonferroni-corrected 5% normal quantile; the particles'
    error at least the chains' sd over the square root of the weights' ESS,
    so that a few dominant weights prove nothing) and by more than
    ``min_shift`` of the chains' standard deviation (``shift``, the largest
    such difference). A start that passed verification on chains around the
    data while the model has its mass elsewhere (near the box's faces, where
    score matching hardly constrains the energy) is flagged.
    """
    chains = np.asarray(chains, np.float64)
    particles = np.asarray(particles, np.float64)
    lw = np.asarray(log_weights, np.float64)
    w = np.exp(lw - np.max(lw))
    w /= w.sum()
    mean = w @ particles
    sd = np.maximum(chains.std(axis=0, ddof=1), 1e-12)
    # The larger of the delta-method error and sd / sqrt(ESS) (Kish): with a
    # few dominant weights the former collapses (one particle: zero).
    se2 = np.maximum((w**2) @ (particles - mean) ** 2, sd**2 * np.sum(w**2))
    gap = np.abs(mean - chains.mean(axis=0))
    z = gap / np.sqrt(se2 + sd**2 / chains.shape[0])
    shift = gap / sd
    worst = (z > error_quantile(chains.shape[1])) & (shift > min_shift)
    return bool(np.any(worst)), float(np.max(shift))


def _next(std, n_runs, n_temperatures, settings):
    """The next run's schedule length, or None to stop.

    ``std`` is the pooled error of the ``n_runs`` runs of length
    ``n_temperatures``, ``needed`` the runs of that length the target takes
    (the error falls as one over the square root of the runs). One more run
    while at most two more are needed; else a longer schedule (while runs
    remain at the longest), doubled until it is predicted to need at most
    three runs if the variance fell as one over the length (the annealing
    limit; an error that falls slower doubles again after its first run).
    Stops at the target, or after ``ais_max_runs`` runs of the longest.
    """
    target, longest = settings.ais_target_std, settings.ais_temperatures
    if std <= target:
        return None
    needed = n_runs * (std / target) ** 2
    stay = math.ceil(needed) - n_runs <= 2 and n_runs < settings.ais_max_runs
    if stay or n_temperatures >= longest:
        return n_temperatures if n_runs < settings.ais_max_runs else None
    length = 2 * n_temperatures
    while length < longest and needed * n_temperatures / length > 3:
        length *= 2
    return min(length, longest)


def _bidirectional(config, reverse, key, fitted, log_z, std, *, settings):
    """``std``, raised to the gap between forward and reverse AIS if they differ.

    One reverse run at the longest schedule (``Settings.ais_temperatures``,
    so that its own bias is small) starts from the chains, moved
    ``2 * sample_burn_in`` steps at ``theta`` (draws of the model), and gives
    a stochastic upper
    bound of ``log Z`` where the forward estimate is a lower one (Grosse,
    Ghahramani & Adams 2015). The delta-method error of the forward weights
    cannot see the mass they missed (it stays below about one nat whatever
    the bias); a gap beyond three combined standard errors can, and becomes
    the reported error, with a warning. ``reverse(start)`` runs the reverse
    schedule; ``fitted`` is ``(model, state)``; ``settings`` the fit's.
    """
    model, state = fitted
    # The chains sample the last iterate; theta is the iterates' average.
    n_steps = 2 * settings.sample_burn_in
    burned = _move(chains.sample, key, config, model, state, n_steps)[-1]
    inverse, inverse_std = pool(np.asarray(reverse(start=burned).log_weights))
    upper = -inverse
    gap = upper - log_z
    if np.isfinite(gap) and gap > 3 * math.hypot(std, inverse_std) + 0.01:
        warnings.warn(
            f"{config.name}: forward and reverse AIS disagree: log Z "
            f"is between about {log_z:.4g} and {upper:.4g} (in unit "
            f"coordinates), so log_partition_std_ is set to their gap, "
            f"{gap:.3g}, not the forward runs' {std:.3g}.",
            UserWarning,
            stacklevel=5,
        )
        return float(gap)
    return std


def _reference(settings, positions, gaussian, fitted):
    """The Gaussian reference's keyword arguments (none: the uniform one).

    Above ``ais_full_max`` variables the chains' covariance is shrunk to its
    diagonal; a linear energy with a complete quadratic block has a full one
    in closed form instead (:func:`~skmaxent.core.training.gaussian_metric.
    block_reference`), where it is a density.
    """
    if not gaussian:
        return {}
    s, (energy, theta, geo) = settings, fitted
    full = positions.shape[1] <= s.ais_full_max
    fixed = None
    if not full and isinstance(energy, Linear):
        fixed = block_reference(energy.fm, theta, geo, s.ais_eps)
    return dict(
        positions=positions,
        eps=np.float32(s.ais_eps),
        inflate=np.float32(s.ais_inflate),
        full=full or fixed is not None,
        fixed=fixed,
    )


def settle(key, config: AISConfig, model, result, *, settings):
    """``result`` with its chains moved ``Settings.settle_steps`` transitions
    of the model ``(energy, theta, geo)`` (their cache evaluated there): the
    chains of the returned model, for ``chains_``, ``sample``, the AIS
    reference and the chain check, where ``theta`` is not the iterate the
    chains followed (why: ``docs/decisions.md``).
    """
    state, n_steps = result.state, int(settings.settle_steps)
    key = jax.random.fold_in(key, 1)
    moved = _move(chains.settle, key, config, model, state, n_steps)
    return result._replace(state=state._replace(chains=moved))


def log_partition(key, config: AISConfig, model, result, box, *, retry, settings):
    """``(log Z in user units, its standard error, trusted)`` of a fit.

    ``model`` is ``(energy, theta, geo)`` as in :mod:`skmaxent.core.energy`;
    ``result`` the fit's :class:`~skmaxent._fit.train.FitResult` (its chains give
    the reference and its step size the HMC step); ``box`` the reference box
    of the unit coordinates. A support open on some side always uses the
    Gaussian reference (the uniform one needs a box). A fit that ended at its
    verified start runs the quickly compiled program when small
    (:attr:`skmaxent.core.programs.Program.quick`): AIS is most of what is
    left. The fit's chains are checked against the AIS particles
    (:func:`_check_chains`; after early stopping they must have been
    :func:`settle`-d at the returned parameters); ``trusted`` is False, with
    a warning, where they disagree (with ``retry``, for a caller that refits
    from zero, without the warning and returning at once).
    Shows a progress bar over runs with ``verbose``.
    """
    state, (energy, theta, geo) = result.state, model
    verified = bool(np.all(result.history["phase"] == "verify"))
    s = settings
    size = (config.n_chains, box.shape[0], np.size(theta))
    quick = verified and quick_programs(*size, s)
    gaussian = s.ais_reference == "gaussian" or geo.walls is not None
    reference = _reference(s, state.chains.position, gaussian, model)
    bar = None
    if config.verbose > 0:
        from tqdm.auto import tqdm

        bar = tqdm(desc="log Z (AIS runs)")
    keys = key_stream(key)

    forward = ais.model_log_partition.quick if quick else ais.model_log_partition

    def run(n_temps, reverse=False, start=None, program=forward):  # one for all
        return program(
            next(keys),
            energy,
            np.asarray(theta, np.float32),
            geo,
            config.kernel,
            state.params,
            int(s.ais_particles or config.n_chains),
            np.int32(n_temps),
            **reference,
            reverse=np.bool_(reverse),
            start=reference.get("positions") if start is None else start,
        )

    log_z, std, n_total, particles, weights = _forward(run, s, bar)
    trusted = True
    if np.isfinite(log_z):
        found = (particles, weights)
        trusted = _check_chains(config.name, state, found, verified, not retry)
        if retry and not trusted:
            return log_z, std, False
    if gaussian and not reference["full"] and np.isfinite(log_z):
        reverse = partial(
            run, s.ais_temperatures, reverse=True, program=ais.model_log_partition
        )
        fitted = (model, state)
        std = _bidirectional(
            config, reverse, next(keys), fitted, log_z, std, settings=s
        )
    if np.isfinite(log_z) and std > s.ais_target_std:
        warnings.warn(
            f"{config.name}: log_partition_std_ = {std:.3g} nats after "
            f"{n_total} AIS runs exceeds the target {s.ais_target_std}: "
            "score and score_samples are uncertain by about that much. More "
            "n_chains (AIS particles) or a simpler model reduce it.",
            UserWarning,
            stacklevel=4,
        )
    # AIS integrates in unit coordinates; Z in user units carries the Jacobian
    # of x = a + u (b - a) for the reference box [a, b].
    log_volume = float(np.sum(np.log(box[:, 1] - box[:, 0])))
    return log_z + log_volume, std, trusted


def _forward(run, settings, bar):
    """Forward runs, ``run(n_temperatures)``, pooled by :func:`_next` from
    ``ais_min_temperatures``: ``(log Z, its error, runs, particles,
    log-weights)`` of the last pool (the lists of its runs' arrays; the
    particles left on the device)."""
    s, weights, particles, n_total = settings, [], [], 0
    n_temps = min(s.ais_min_temperatures, s.ais_temperatures)
    while n_temps is not None:
        info = run(n_temps)
        weights.append(np.asarray(info.log_weights))
        checkpoint()  # a Ctrl-C surfaces here, between runs
        particles.append(info.positions)
        log_z, std = pool(np.concatenate(weights))
        n_total += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(temperatures=n_temps, std=f"{std:.3g}")
        if not np.isfinite(log_z):
            break
        following = _next(std, len(weights), n_temps, s)
        if following not in (None, n_temps):
            weights, particles = [], []  # a longer schedule: a new pool
        n_temps = following
    if bar is not None:
        bar.close()
    return log_z, std, n_total, particles, weights


def _check_chains(name, state, found, verified, warn=True) -> bool:
    """:func:`missed_mass` of the fitted model against its chains, given the
    forward runs' ``(particles, log-weights)``; False (with a
    ``ConvergenceWarning`` naming the estimator ``name`` if ``warn``) where it
    flags.

    Every moment of the fit was measured on the chains, so where the model
    has mass they never reached, the fit is wrong however small its
    residual: a start that passed verification on chains around the data
    (``verified``), or a fit that learned to give an unvisited region mass
    (on an open support, say, where bounded features leave the tails to the
    quadratic form).
    """
    particles, weights = found
    flagged, shift = missed_mass(
        to_host(state.chains.position),
        np.concatenate([to_host(p) for p in particles]),
        np.concatenate(weights),
    )
    if flagged and warn:
        what = "the verified start puts" if verified else "the fitted model puts"
        remedy = "Try alpha > 0, more n_chains, or finite bounds."
        remedy = "Refit with init='zero'." if verified else remedy
        warnings.warn(
            f"{name}: {what} mass where its chains did not go: "
            f"the AIS draws of the model lie {shift:.3g} chain standard "
            "deviations from the chains in some variable, so the fit is "
            f"likely wrong (converged_ is False). {remedy}",
            ConvergenceWarning,
            stacklevel=5,
        )
    return not flagged
