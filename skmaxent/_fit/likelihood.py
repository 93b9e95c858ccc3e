"""Shell-side glue of MaxLikelihoodEBM: its default box, its traced rows, the
held-out split and early stopping (NumPy, one jitted core call per window)."""

import jax
import numpy as np

from skmaxent._inputs.arrays import f32 as _f32
from skmaxent._inputs.arrays import pad, pow2
from skmaxent._inputs.data import feature_values
from skmaxent.core.training.mle import Data, held_out_loss

__all__ = [
    "AUTO_RATE",
    "EarlyStop",
    "check_validation",
    "split",
    "training_data",
    "widen",
]

#: Held-out rows the early-stopping criterion is evaluated on, at most.
_MAX_VALIDATION_ROWS = 4096
#: Adam's learning rate with ``learning_rate="auto"``: linear, other energies.
AUTO_RATE = {True: 0.02, False: 0.01}


def check_validation(early_stopping, fraction, n_rows) -> None:
    """Raise ``ValueError`` when early stopping would leave no held-out or no
    training row among the ``n_rows`` rows of positive weight."""
    n_val = int(round(fraction * n_rows))
    if early_stopping and not 1 <= n_val < n_rows:
        raise ValueError(
            f"early_stopping=True holds out validation_fraction={fraction} of "
            f"the {n_rows} row(s) of X with positive weight, which leaves no "
            "held-out or no training row; pass more rows, another "
            "validation_fraction, or early_stopping=False."
        )


def _padded(U, w):
    """Rows ``U`` and weights ``w`` padded with zero-weight zero rows to a
    power of two (shapes in few buckets: few compiles)."""
    size = pow2(len(U))
    return pad(U, size), pad(w, size)


def widen(bounds):
    """The 5%-widened data box of :func:`skmaxent._inputs.validation.infer_bounds`
    turned into the data's range widened by 50% of it on each side."""
    centre = bounds.mean(axis=1)
    r = (bounds[:, 1] - bounds[:, 0]) / 1.1  # the data's range
    return np.stack([centre - r, centre + r], axis=1)


class EarlyStop:
    """Early stopping on the held-out generalised score-matching loss.

    Called with each learning window's mean iterate; keeps the best one and
    says stop after ``patience`` windows without improvement.
    """

    def __init__(self, energy, geo, U, w, patience):
        self.U, self.w = _padded(U, w)
        self.energy, self.geo, self.patience = energy, geo, patience
        self.scores, self.best, self.best_score, self.bad = [], None, np.inf, 0

    def __call__(self, theta) -> bool:
        score = float(held_out_loss(self.energy, _f32(theta), self.geo, self.U, self.w))
        self.scores.append(score)
        if score < self.best_score:
            self.best, self.best_score, self.bad = np.array(theta), score, 0
        else:
            self.bad += 1
        return self.bad >= self.patience


def split(X, w, early, fraction, key):
    """``(train rows, weights, held-out rows, weights)``."""
    if not early:
        return X, w, X[:0], w[:0]
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)))
    rows = rng.permutation(np.flatnonzero(w > 0))
    n_val = int(round(fraction * len(rows)))
    val, train = rows[:n_val], np.sort(rows[n_val:])
    val = np.sort(val[:_MAX_VALIDATION_ROWS])
    return X[train], w[train], X[val], w[val]


def training_data(fm, X, w, box, standardisation, linear, reg, key) -> Data:
    """The traced :class:`~skmaxent.core.training.mle.Data` of the training rows.

    The linear energy needs no rows (its data term is the feature means):
    only ``mean_data g gᵀ`` of its standardised centred features
    ``g = (T f + t - mean) / std`` when the energy penalty ``reg`` is on.
    Other energies get the rows in the unit coordinates of ``box``, padded
    to a power of two (few shapes, few compilations), and weights of mean 1.
    """
    sh, mean, std = standardisation
    raw = np.asarray(jax.random.key_data(key), np.uint32)
    n, none = X.shape[1], np.zeros((0, 0), np.float32)
    if linear:
        second = none
        if reg > 0:
            G = (feature_values(fm, X, box) @ sh.T.T + sh.t - mean) / std
            second = _f32((G * (w / w.sum())[:, None]).T @ G)
        U, weights = np.zeros((0, n), np.float32), np.zeros(0, np.float32)
        return Data(np.float32(reg), second, U, weights, np.int32(0), raw)
    width = box[:, 1] - box[:, 0]
    U, weights = _padded((X - box[:, 0]) / width, w / w.mean())
    return Data(np.float32(reg), none, U, weights, np.int32(len(X)), raw)
