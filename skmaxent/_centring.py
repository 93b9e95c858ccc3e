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

import math
from typing import NamedTuple

import numpy as np
import scipy.sparse

from skmaxent.features import Legendre, Moment, Pairwise, Product

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
    """COO entries of ``T`` and the constant ``t``, or None if not shift-closed."""
    index = {}
    for k, s in enumerate(specs):
        if isinstance(s, Moment):
            index[("m", s.i, s.power)] = k
        elif isinstance(s, Product):
            index[("p", min(s.i, s.j), max(s.i, s.j))] = k
        elif not isinstance(s, (Legendre, Pairwise)):
            return None
    rows, cols, vals = [], [], []
    t = np.zeros(len(specs))
    for k, s in enumerate(specs):
        if isinstance(s, (Legendre, Pairwise)):
            rows.append(k), cols.append(k), vals.append(1.0)
        elif isinstance(s, Moment):
            # (x - c)^k = sum_j C(k, j) (-c)^(k - j) x^j
            for j in range(s.power + 1):
                coeff = math.comb(s.power, j) * (-c[s.i]) ** (s.power - j)
                if j == 0:
                    t[k] += coeff
                elif ("m", s.i, j) not in index:
                    return None
                else:
                    rows.append(k), cols.append(index[("m", s.i, j)])
                    vals.append(coeff)
        else:
            # (x_i - c_i)(x_j - c_j) = x_i x_j - c_j x_i - c_i x_j + c_i c_j
            if ("m", s.i, 1) not in index or ("m", s.j, 1) not in index:
                return None
            rows += [k, k, k]
            cols += [k, index[("m", s.i, 1)], index[("m", s.j, 1)]]
            vals += [1.0, -c[s.j], -c[s.i]]
            t[k] += c[s.i] * c[s.j]
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
