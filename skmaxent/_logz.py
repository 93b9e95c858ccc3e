"""log Z of a fitted chain model: AIS whose cost follows its difficulty.

Each run of :func:`skmaxent.core.ais.model_log_partition` (one compiled
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
much.
"""

import math
import warnings
from functools import partial

import numpy as np
from scipy.special import logsumexp

from skmaxent._data import key_stream
from skmaxent.core import ais, chains

__all__ = ["pool", "log_partition"]


def pool(log_weights) -> tuple[float, float, float]:
    """``(log Z, its standard error, ESS)`` of pooled log-weights (NumPy)."""
    lw = np.asarray(log_weights, np.float64)
    n = lw.size
    log_z = float(logsumexp(lw) - np.log(n))
    w = np.exp(lw - np.max(lw))
    std = float(np.std(w) / (np.sqrt(n) * np.mean(w)))
    ess = float(np.exp(2 * logsumexp(lw) - logsumexp(2 * lw)))
    return log_z, std, ess


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


def _bidirectional(est, reverse, log_z, std):
    """``std``, raised to the gap between forward and reverse AIS if they differ.

    One reverse run at the longest schedule (``Settings.ais_temperatures``,
    so that its own bias is small) starts from the chains, moved
    ``2 * sample_burn_in`` steps at ``theta`` (draws of the model), and gives
    a stochastic upper
    bound of ``log Z`` where the forward estimate is a lower one (Grosse,
    Ghahramani & Adams 2015). The delta-method error of the forward weights
    cannot see the mass they missed (it stays below about one nat whatever
    the bias); a gap beyond three combined standard errors can, and becomes
    the reported error, with a warning.
    """
    inverse, inverse_std, _ = pool(np.asarray(reverse().log_weights))
    upper = -inverse
    gap = upper - log_z
    if np.isfinite(gap) and gap > 3 * math.hypot(std, inverse_std) + 0.01:
        warnings.warn(
            f"{type(est).__name__}: forward and reverse AIS disagree: log Z "
            f"is between about {log_z:.4g} and {upper:.4g} (in unit "
            f"coordinates), so log_partition_std_ is set to their gap, "
            f"{gap:.3g}, not the forward runs' {std:.3g}.",
            UserWarning,
            stacklevel=5,
        )
        return float(gap)
    return std


def _reference(est, positions, n_dim, gaussian):
    """The Gaussian reference's keyword arguments (none: the uniform one)."""
    if not gaussian:
        return {}
    s = est._settings
    return dict(
        positions=positions,
        eps=np.float32(s.ais_eps),
        inflate=np.float32(s.ais_inflate),
        full=n_dim <= s.ais_full_max,
    )


def log_partition(key, est, energy, theta, geo, state, box, quick=False):
    """``(log Z in user units, standard error)`` for a fitted estimator ``est``.

    ``energy``, ``theta`` and ``geo`` as in :mod:`skmaxent.core.energy`;
    ``state`` the final loop state (its chains give the reference and its
    step size the HMC step); ``box`` the reference box of the unit
    coordinates. A support open on some side always uses the Gaussian
    reference (the uniform one needs a box). ``quick``: the forward runs use
    the quickly compiled program (:attr:`skmaxent.core.programs.Program.quick`).
    Shows a progress bar over runs with ``verbose``.
    """
    s = est._settings
    gaussian = s.ais_reference == "gaussian" or geo.walls is not None
    reference = _reference(est, state.chains.position, box.shape[0], gaussian)
    bar = None
    if est.verbose > 0:
        from tqdm.auto import tqdm

        bar = tqdm(desc="log Z (AIS runs)")
    weights, n_temps, n_total = [], min(s.ais_min_temperatures, s.ais_temperatures), 0
    keys = key_stream(key)

    forward = ais.model_log_partition.quick if quick else ais.model_log_partition

    def run(n_temps, reverse=False, start=None, program=forward):  # one for all
        return program(
            next(keys),
            energy,
            np.asarray(theta, np.float32),
            geo,
            state.step_size,
            int(s.ais_particles or est.n_chains),
            np.int32(n_temps),
            int(est.n_leapfrog),
            **reference,
            reverse=np.bool_(reverse),
            start=reference.get("positions") if start is None else start,
        )

    while n_temps is not None:
        info = run(n_temps)
        weights.append(np.asarray(info.log_weights))
        log_z, std, _ = pool(np.concatenate(weights))
        n_total += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(temperatures=n_temps, std=f"{std:.3g}")
        if not np.isfinite(log_z):
            break
        following = _next(std, len(weights), n_temps, s)
        if following not in (None, n_temps):
            weights = []  # a longer schedule: its runs make a new pool
        n_temps = following
    if bar is not None:
        bar.close()
    if gaussian and not reference["full"] and np.isfinite(log_z):
        # The chains sample the last iterate; theta is the iterates' average.
        burned = chains.sample(
            next(keys),
            energy,
            np.asarray(theta, np.float32),
            geo,
            state.chains.position,
            state.step_size,
            int(est.n_leapfrog),
            2 * s.sample_burn_in,
        )[-1]
        reverse = partial(
            run,
            s.ais_temperatures,
            reverse=True,
            start=burned,
            program=ais.model_log_partition,
        )
        std = _bidirectional(est, reverse, log_z, std)
    if np.isfinite(log_z) and std > s.ais_target_std:
        warnings.warn(
            f"{type(est).__name__}: log_partition_std_ = {std:.3g} nats after "
            f"{n_total} AIS runs exceeds the target {s.ais_target_std}: "
            "score and score_samples are uncertain by about that much. More "
            "n_chains (AIS particles) or a simpler model reduce it.",
            UserWarning,
            stacklevel=4,
        )
    # AIS integrates in unit coordinates; Z in user units carries the Jacobian
    # of x = a + u (b - a) for the reference box [a, b].
    log_volume = float(np.sum(np.log(box[:, 1] - box[:, 0])))
    return log_z + log_volume, std
