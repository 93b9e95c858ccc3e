"""Feature moments under the uniform law on the box, to scale features before a fit.

The mean and standard deviation of every feature under Uniform(box) set the
feature scales (and the starting point) of the estimators. Each kind of
:mod:`skmaxent.core.features` gives its own (closed forms for all but Custom,
whose estimate is Monte Carlo with a fixed seed); this module checks the
arguments and puts the groups' answers in feature order.
:meth:`FeatureMap.uniform_moments
<skmaxent.core.features.feature_map.FeatureMap.uniform_moments>` is the entry point.
"""

from numbers import Integral

import numpy as np

__all__ = ["uniform_moments"]


def uniform_moments(
    fm, low, high, *, n_points: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each feature of ``fm`` under Uniform(box).

    Parameters
    ----------
    fm : FeatureMap
    low, high : array-like of shape (n,), the box in user units.
    n_points : int
        Monte-Carlo points for the Custom features (at least 2).
    seed : int
        Seed of the fixed key of that Monte-Carlo estimate.

    Returns
    -------
    mean, std : ndarray of shape (p,), float64, in feature order.
    """
    if isinstance(n_points, bool) or not isinstance(n_points, Integral) or n_points < 2:
        raise ValueError(f"n_points must be an integer >= 2; got {n_points!r}.")
    n_points = int(n_points)
    low = np.asarray(low, np.float64)
    high = np.asarray(high, np.float64)
    p = fm.n_features_out
    mean, var = np.empty(p), np.empty(p)
    for g in fm.groups:
        mean[g.positions], var[g.positions] = g.uniform_moments(
            low, high, n_points, seed
        )
    return mean, np.sqrt(np.maximum(var, 0.0))
