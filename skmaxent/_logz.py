"""log Z of a fitted chain model: AIS runs pooled until a target standard error.

Each run of :func:`skmaxent.core.ais.model_log_partition` (one compiled
program) gives ``n_chains`` independent, unbiased weights of ``Z``; runs are
repeated with fresh keys and their weights pooled until the delta-method
standard error of ``log Z`` reaches ``Settings.ais_target_std`` or
``Settings.ais_max_runs`` runs are in. A model whose ``log Z`` stays less
certain than the target gets a warning that says by how much.
"""

import warnings

import jax
import numpy as np
from scipy.special import logsumexp

from skmaxent.core import ais

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


def log_partition(key, est, energy, theta, geo, state, box):
    """``(log Z in user units, standard error)`` for a fitted estimator ``est``.

    ``energy``, ``theta`` and ``geo`` as in :mod:`skmaxent.core.energy`;
    ``state`` the final loop state (its chains give the reference and its
    step size the HMC step); ``box`` the reference box of the unit
    coordinates. A support open on some side always uses the Gaussian
    reference (the uniform one needs a box). Shows a progress bar over runs
    with ``verbose``.
    """
    s = est._settings
    reference = {}
    if s.ais_reference == "gaussian" or geo.walls is not None:
        reference = dict(
            positions=state.chains.position,
            eps=np.float32(s.ais_eps),
            inflate=np.float32(s.ais_inflate),
            full=box.shape[0] <= s.ais_full_max,
        )
    bar = None
    if est.verbose > 0:
        from tqdm.auto import tqdm

        bar = tqdm(total=s.ais_max_runs, desc="log Z (AIS runs)")
    weights, std = [], np.inf
    for k in jax.random.split(key, s.ais_max_runs):
        info = ais.model_log_partition(
            k,
            energy,
            np.asarray(theta, np.float32),
            geo,
            state.step_size,
            int(s.ais_particles or est.n_chains),
            int(s.ais_temperatures),
            int(est.n_leapfrog),
            **reference,
        )
        weights.append(np.asarray(info.log_weights))
        log_z, std, _ = pool(np.concatenate(weights))
        if bar is not None:
            bar.update(1)
        if std <= s.ais_target_std or not np.isfinite(log_z):
            break
    if bar is not None:
        bar.total = bar.n
        bar.close()
    if np.isfinite(log_z) and std > s.ais_target_std:
        warnings.warn(
            f"{type(est).__name__}: log_partition_std_ = {std:.3g} nats after "
            f"{len(weights)} AIS runs exceeds the target {s.ais_target_std}: "
            "score and score_samples are uncertain by about that much. More "
            "n_chains (AIS particles) or a simpler model reduce it.",
            UserWarning,
            stacklevel=4,
        )
    # AIS integrates in unit coordinates; Z in user units carries the Jacobian
    # of x = a + u (b - a) for the reference box [a, b].
    log_volume = float(np.sum(np.log(box[:, 1] - box[:, 0])))
    return log_z + log_volume, std
