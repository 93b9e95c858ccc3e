"""Exact moments and log Z of pairwise MRFs, independent of skmaxent.

Reference answers for ``tests/test_graphs.py`` and ``benchmarks/scale.py``,
NumPy and SciPy only: Gaussian MRFs on a graph by sparse LU solves, and a
chain with Legendre potentials by transfer matrices on a Gauss–Legendre rule.
"""

import numpy as np
import scipy.sparse as sps
from scipy.sparse.linalg import splu


def graph(kind, n):
    """Edges ``(i, j)``, ``i < j``, of a chain or of a square grid (n a square)."""
    if kind == "chain":
        return [(i, i + 1) for i in range(n - 1)]
    side = int(round(np.sqrt(n)))
    if side * side != n:
        raise ValueError(f"a grid needs a square n; got {n}.")
    idx = np.arange(n).reshape(side, side)
    right = np.c_[idx[:, :-1].ravel(), idx[:, 1:].ravel()]
    down = np.c_[idx[:-1, :].ravel(), idx[1:, :].ravel()]
    return [tuple(map(int, e)) for e in np.r_[right, down]]


def gaussian_exact(n, edges, coef):
    """Moments and ``log Z`` of ``exp(coef·f)`` for the Gaussian MRF features.

    ``f = (x_i, x_i², x_i x_j on edges)``; the box's walls, six or more sd
    away, are ignored. ``None`` if the quadratic form is not negative
    definite. Covariance entries by sparse LU solves, columns in blocks.
    """
    I, J = edges[:, 0], edges[:, 1]
    b, sq, pr = coef[:n], coef[n : 2 * n], coef[2 * n :]
    rows, cols = np.r_[np.arange(n), I, J], np.r_[np.arange(n), J, I]
    P = sps.coo_array((np.r_[-2 * sq, -pr, -pr], (rows, cols)), shape=(n, n)).tocsc()
    lu = splu(P, permc_spec="NATURAL", diag_pivot_thresh=0.0)  # P = L D Lᵀ
    d = lu.U.diagonal()
    if np.any(d <= 0):
        return None
    m = lu.solve(b)
    diag, cross = np.empty(n), np.empty(len(I))
    for start in range(0, n, 1000):
        block = np.arange(start, min(n, start + 1000))
        E = np.zeros((n, block.size))
        E[block, np.arange(block.size)] = 1.0
        S = lu.solve(E)
        diag[block] = S[block, np.arange(block.size)]
        sel = (J >= block[0]) & (J <= block[-1])
        cross[sel] = S[I[sel], J[sel] - block[0]]
    mu = np.r_[m, diag + m**2, cross + m[I] * m[J]]
    sd = np.r_[np.sqrt(diag), np.sqrt(2) * diag, np.sqrt(diag[I] * diag[J] + cross**2)]
    log_z = 0.5 * n * np.log(2 * np.pi) - 0.5 * np.sum(np.log(d)) + 0.5 * b @ m
    return mu, sd, log_z


def legendre_exact(n, coef, m=80):
    """Moments and ``log Z`` of ``exp(coef·f)`` for ``pairwise(chain, 3)``.

    Transfer matrices on an ``m``-node Gauss–Legendre rule per variable:
    forward and backward messages give every unary and edge marginal.
    """
    x, w = np.polynomial.legendre.leggauss(m)
    L = np.stack([np.polynomial.legendre.legval(x, np.eye(4)[d]) for d in (1, 2, 3)])
    unary = w * np.exp(coef[: 3 * n].reshape(n, 3) @ L)  # (n, m)
    pair = coef[3 * n :].reshape(n - 1, 3, 3)
    T = np.exp(np.einsum("ak,eab,bl->ekl", L, pair, L))  # (n - 1, m, m)
    alpha, log_z = [unary[0] / unary[0].sum()], np.log(unary[0].sum())
    for e in range(n - 1):
        a = (alpha[-1] @ T[e]) * unary[e + 1]
        log_z += np.log(a.sum())
        alpha.append(a / a.sum())
    beta = [np.ones(m) / m]
    for e in range(n - 2, -1, -1):
        b = T[e] @ (unary[e + 1] * beta[-1])
        beta.append(b / b.sum())
    alpha, beta = np.array(alpha), np.array(beta[::-1])
    marg = alpha * beta
    marg /= marg.sum(1, keepdims=True)
    E1 = marg @ L.T
    V1 = marg @ (L.T**2) - E1**2
    # Edge marginals p(k, l) ∝ alpha_e(k) T_e(k, l) unary_{e+1}(l) beta_{e+1}(l).
    pm = alpha[:-1, :, None] * T * (unary[1:] * beta[1:])[:, None, :]
    pm /= pm.sum((1, 2), keepdims=True)
    E2 = np.einsum("ekl,ak,bl->eab", pm, L, L).reshape(n - 1, 9)
    S2 = np.einsum("ekl,ak,bl->eab", pm, L**2, L**2).reshape(n - 1, 9) - E2**2
    sd = np.sqrt(np.r_[V1.ravel(), S2.ravel()])
    return np.r_[E1.ravel(), E2.ravel()], sd, log_z
