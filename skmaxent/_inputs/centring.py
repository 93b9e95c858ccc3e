"""Polynomial features in coordinates centred on the box, for a well-posed SMM fit.

On a box ``[0, 1]`` the features ``x`` and ``x^2`` are 97% correlated under
the uniform distribution, and the moment-matching loss squares the condition
number of the features' covariance: the linear SMM fit then crawls along the
ill-determined directions. In centred coordinates ``z = x - c`` (``c`` the
box centre) the monomials ``z_i``, ``z_i^2 - E z_i^2`` and ``z_i z_j`` are
uncorrelated under the uniform distribution. When the features span a space
closed under shifts (every ``Moment(i, k)`` comes with ``Moment(i, j)`` for
``j < k``, every ``Product(i, j)`` with ``Moment(i)`` and ``Moment(j)``;
``Legendre`` and ``Pairwise`` features are shift-invariant),
``f(x - c) = T f(x) + t`` for a sparse invertible ``T``: the same model
family, with coefficients ``coef = Tᵀ coef_c``. Otherwise (indicators,
custom features) nothing is shifted. NumPy only (shell side).
"""

from typing import NamedTuple

import numpy as np
import scipy.sparse

from skmaxent.core.features import kind_of

__all__ = ["Shift", "shift_map"]


class Shift(NamedTuple):
    """``f(x - c) = T f(x) + t``: the centre ``c`` (n,), ``T`` as CSR (p, p)
    and its COO entries (for the core), the constant ``t`` (p,), and the
    COO entries of ``T^-1`` (the shift by ``-c``)."""

    c: np.ndarray
    T: scipy.sparse.csr_array
    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    t: np.ndarray
    inv: tuple


def _entries(specs, c):
    """COO entries of ``T`` and the constant ``t``, or None if not shift-closed.

    Each kind's rule (:meth:`skmaxent.core.features.base.Kind.shift`) writes
    its row of ``T``; the span is closed when every feature it names is
    present.
    """
    index = {kind_of(s).identity(s): k for k, s in enumerate(specs)}
    shifted = [kind_of(s).shift(s, c) for s in specs]
    if any(r is None for r in shifted):
        return None
    rows, cols, vals = [], [], []
    t = np.zeros(len(specs))
    for k, (terms, constant) in enumerate(shifted):
        t[k] += constant
        for key, coeff in terms:
            if key not in index:
                return None
            rows.append(k), cols.append(index[key]), vals.append(coeff)
    return np.asarray(rows), np.asarray(cols), np.asarray(vals, np.float64), t


def shift_map(specs, bounds) -> Shift:
    """The centring map of ``specs`` on the box ``bounds`` (identity if not closed).

    Parameters
    ----------
    specs : tuple of feature specs.
    bounds : ndarray of shape (n, 2).

    Returns
    -------
    Shift
        ``c`` is the box centre when the span is closed under shifts, else 0
        (and ``T`` the identity, ``t`` zero).
    """
    p = len(specs)
    c = bounds.mean(axis=1)
    entries = _entries(specs, c)
    if entries is None:
        c = np.zeros(bounds.shape[0])
        rows = cols = np.arange(p)
        vals, t = np.ones(p), np.zeros(p)
        inv = (rows, cols, vals)
    else:
        rows, cols, vals, t = entries
        # f(x) = f((x - c) + c): the shift by -c inverts the shift by c.
        inv = _entries(specs, -c)[:3]
    T = scipy.sparse.csr_array((vals, (rows, cols)), shape=(p, p))
    inv = (inv[0].astype(np.int32), inv[1].astype(np.int32), inv[2])
    return Shift(c, T, rows.astype(np.int32), cols.astype(np.int32), vals, t, inv)
