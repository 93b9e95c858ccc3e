"""Where a feature map holds a complete quadratic block (static, cached per map)."""

import functools
from functools import partial

import numpy as np

from skmaxent.core.features import Moment, Product
from skmaxent.core.features.feature_map import FeatureMap

__all__ = ["quadratic_block", "rest_map"]


@functools.lru_cache(maxsize=16)
def quadratic_block(fm):
    """``(lin, sq, prod, pi, pj)`` positions of a complete quadratic block, or ``None``.

    ``lin[i]``, ``sq[i]`` are the positions of ``x_i`` and ``x_i²``;
    ``prod[k]`` that of ``x_pi[k] x_pj[k]`` (``pi < pj``), every pair once.
    """
    n = fm.n_features_in
    lin, sq = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    prod, pi, pj = [], [], []
    if (mom := fm.group(Moment)) is not None:
        for power, out in ((1, lin), (2, sq)):
            sel = mom.power == power
            out[mom.i[sel]] = mom.positions[sel]
    if (pairs := fm.group(Product)) is not None:
        prod = pairs.positions
        pi, pj = np.minimum(pairs.i, pairs.j), np.maximum(pairs.i, pairs.j)
    if n < 2 or (lin < 0).any() or (sq < 0).any() or len(prod) != n * (n - 1) // 2:
        return None
    order = np.lexsort((pj, pi))
    prod, pi, pj = (np.asarray(a)[order] for a in (prod, pi, pj))
    iu, ju = np.triu_indices(n, k=1)
    if not (np.array_equal(pi, iu) and np.array_equal(pj, ju)):
        return None
    as32 = partial(np.asarray, dtype=np.int32)
    return as32(lin), as32(sq), as32(prod), as32(pi), as32(pj)


@functools.lru_cache(maxsize=16)
def rest_map(fm):
    """``(positions, FeatureMap)`` of the features outside the block, or
    ``(None, None)`` where there are none (static, cached per map)."""
    block = quadratic_block(fm)
    rest = np.setdiff1d(np.arange(fm.n_features_out), np.concatenate(block[:3]))
    if rest.size == 0:
        return None, None
    specs = tuple(fm.specs[k] for k in rest)
    return rest.astype(np.int32), FeatureMap(specs, fm.n_features_in)
