"""Roughness matrix ``R``: the mean curvature inner products of the features.

For features ``f_k`` on the box ``B = prod_i [lo_i, hi_i]`` (user units),

    R_kl = 1/vol(B) ∫_B <∇²f_k(x), ∇²f_l(x)>_F dx,

so ``coef·R·coef`` is the mean over the box of ``|∇²(coef·f)|_F²``, the
squared curvature of the log-density. ``R`` is *volume-normalised* (a mean,
not an integral) so that the ``roughness`` strength means the same on a box of
any size and dimension; it is a Gram matrix, hence symmetric positive
semi-definite, and every path below keeps it exactly so.

Specs are those of :mod:`skmaxent.core.features` (``Moment``, ``Product``,
``Indicator``, ``Legendre``, ``Custom``). Their Hessians:

- ``Moment(i, k)``: ``k(k-1) x_i^(k-2)`` at ``(i, i)``; zero for ``k < 2``.
- ``Legendre(i, d)``: ``P̃_d''(u_i) / (hi_i - lo_i)²`` at ``(i, i)``.
- ``Product(i, j)``: ``1`` at ``(i, j)`` and ``(j, i)``, constant.
- ``Indicator``, ``Indicator2``: zero almost everywhere (the jumps carry no
  mass).
- ``Pairwise``: not supported (a named ``ValueError``).
- ``Custom(fn, name)``: ``jax.hessian(fn)``, any pattern.

Without ``Custom`` features ``R`` is exact: "diagonal" features (Moment,
Legendre) on different variables, and any of them against a Product, have
orthogonal Hessians, so ``R`` splits into one block per variable, each a 1-D
integral of polynomials done exactly by Gauss–Legendre quadrature, and a
Product block equal to ``2`` between equal pairs. For the quadratic preset it
is diagonal: ``4`` for squares, ``2`` for products, ``0`` for linear terms.

With ``Custom`` features every entry is a mean over one deterministic
quasi-Monte Carlo point set (the R_d Kronecker sequence, no key needed):
using the same points for all entries keeps ``R`` a Gram matrix, hence PSD.
Product entries stay exact (constant Hessians), the others carry a
quasi-Monte Carlo error of about ``1e-3`` relative at the default
``n_points``.

:func:`roughness_entries` returns the nonzero entries (COO), which is cheap
whatever ``p`` (``O(p)`` for the quadratic preset); :func:`roughness_matrix`
scatters them into a dense ``(p, p)`` array.
"""

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from numpy.polynomial import legendre as npleg

from skmaxent.core.features import (
    SPEC_TYPES,
    Custom,
    Legendre,
    Moment,
    Pairwise,
    Product,
)
from skmaxent.core.types import ArrayLike

__all__ = ["roughness_entries", "roughness_matrix"]

#: Points of the quasi-Monte Carlo rule used when Custom features are present.
N_POINTS = 4096
#: Upper bound on the floats of Custom Hessians held at once (chunking).
_CHUNK_FLOATS = 2**24


def roughness_matrix(
    specs: Sequence, low: ArrayLike, high: ArrayLike, *, n_points: int = N_POINTS
) -> np.ndarray:
    """Dense roughness matrix ``R`` of shape ``(p, p)``, float64 (see module doc).

    Parameters
    ----------
    specs : sequence of feature specs, length ``p``.
    low, high : array-like of shape (n,), the box in user units.
    n_points : number of quasi-Monte Carlo points, used only for Custom features.

    Returns
    -------
    R : ndarray of shape (p, p), symmetric positive semi-definite.

    A dense ``R`` costs ``8 p²`` bytes (3.3 GB at ``p = 20,300``); for large
    ``p`` use :func:`roughness_entries`, whose size follows the nonzeros.
    """
    rows, cols, vals = roughness_entries(specs, low, high, n_points=n_points)
    R = np.zeros((len(specs), len(specs)))
    R[rows, cols] = vals
    return R


def roughness_entries(
    specs: Sequence, low: ArrayLike, high: ArrayLike, *, n_points: int = N_POINTS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nonzero entries of ``R`` as ``(rows, cols, values)``, each ``(nnz,)``.

    Both triangles are listed, sorted by row then column, and no
    ``(row, col)`` appears twice, so
    ``R[rows, cols] = values`` rebuilds the matrix (or
    ``scipy.sparse.coo_array((values, (rows, cols)), shape=(p, p))``).
    Arguments are those of :func:`roughness_matrix`.
    """
    low = np.asarray(low, dtype=np.float64).reshape(-1)
    high = np.asarray(high, dtype=np.float64).reshape(-1)
    for k, spec in enumerate(specs):
        if not isinstance(spec, SPEC_TYPES):
            raise TypeError(
                f"specs[{k}] = {spec!r} is not a feature spec; expected one of "
                f"{', '.join(t.__name__ for t in SPEC_TYPES)}."
            )
    for k, spec in enumerate(specs):
        if isinstance(spec, Pairwise):
            raise ValueError(
                f"features[{k}] = {spec!r}: the roughness penalty does not support "
                "Pairwise features yet; use roughness=0 (and alpha to regularise)."
            )
    diag = _diag_features(specs)
    prod = np.array([k for k, s in enumerate(specs) if isinstance(s, Product)], int)
    for k in prod:
        if specs[k].i == specs[k].j:
            raise ValueError(f"specs[{k}] = {specs[k]!r}: a Product needs i != j.")
    pairs = np.array(
        [sorted((specs[k].i, specs[k].j)) for k in prod], dtype=int
    ).reshape(-1, 2)
    custom = [k for k, s in enumerate(specs) if isinstance(s, Custom)]

    blocks = [_product_block(prod, pairs, low.shape[0])]
    if not custom:
        # 1-D Gauss-Legendre rule in u, exact for the products of second
        # derivatives: degree 2 (deg - 2) <= 2 m - 1.
        m = max(int(np.max(diag.deg, initial=2)) - 1, 1)
        t, w = npleg.leggauss(m)
        U = np.broadcast_to(((t + 1.0) / 2.0)[:, None], (m, low.shape[0]))
        blocks.append(_diag_blocks(diag, _curvature(diag, U, low, high), w / 2.0))
    else:
        U = _kronecker_points(n_points, low.shape[0])
        weights = np.full(n_points, 1.0 / n_points)
        G = _curvature(diag, U, low, high)
        blocks.append(_diag_blocks(diag, G, weights))
        fns = [specs[k].fn for k in custom]
        CC, CD, CP = _custom_sums(fns, U, weights, low, high, diag, G, pairs)
        c = np.asarray(custom, dtype=int)
        blocks.append((np.repeat(c, len(c)), np.tile(c, len(c)), CC.reshape(-1)))
        for other, C in ((diag.index, CD), (prod, CP)):
            r, o = np.repeat(c, len(other)), np.tile(other, len(c))
            blocks.append((r, o, C.reshape(-1)))
            blocks.append((o, r, C.reshape(-1)))
    rows, cols, vals = (np.concatenate(a) for a in zip(*blocks))
    keep = np.flatnonzero(vals != 0.0)
    keep = keep[np.lexsort((cols[keep], rows[keep]))]
    return rows[keep].astype(np.int64), cols[keep].astype(np.int64), vals[keep]


class _Diag(NamedTuple):
    """Features whose Hessian is ``g_k(x_dim) e_dim e_dimᵀ`` (Moment, Legendre).

    index, dim, deg : (q,) int, feature position, variable and polynomial
        degree; they pick the columns of ``R`` and the curvature formula.
    is_leg : (q,) bool, Legendre (else Moment).
    """

    index: np.ndarray
    dim: np.ndarray
    deg: np.ndarray
    is_leg: np.ndarray


def _diag_features(specs) -> _Diag:
    """Moment / Legendre features of degree >= 2 (lower degrees are flat)."""
    index, dim, deg, is_leg = [], [], [], []
    for k, spec in enumerate(specs):
        if isinstance(spec, Moment):
            d = spec.power
        elif isinstance(spec, Legendre):
            d = spec.degree
        else:
            continue
        if d >= 2:
            index.append(k)
            dim.append(spec.i)
            deg.append(int(d))
            is_leg.append(isinstance(spec, Legendre))
    return _Diag(
        index=np.asarray(index, dtype=int),
        dim=np.asarray(dim, dtype=int),
        deg=np.asarray(deg, dtype=int),
        is_leg=np.asarray(is_leg, dtype=bool),
    )


def _curvature(diag: _Diag, U, low, high) -> np.ndarray:
    """``g_k`` at points ``U`` (N, n) of the unit box: ``(N, q)`` float64."""
    u = np.asarray(U, dtype=np.float64)[:, diag.dim]
    lo, width = low[diag.dim], (high - low)[diag.dim]
    x = lo + u * width
    G = diag.deg * (diag.deg - 1) * x ** np.maximum(diag.deg - 2, 0)
    for d in np.unique(diag.deg[diag.is_leg]):
        cols = np.flatnonzero(diag.is_leg & (diag.deg == d))
        # P̃_d(u) = P_d(2u - 1): the chain rule gives 4 P_d''; 1/width² to x.
        c = npleg.legder(np.eye(d + 1)[d], 2)
        G[:, cols] = 4.0 * npleg.legval(2.0 * u[:, cols] - 1.0, c) / width[cols] ** 2
    return G


def _diag_blocks(diag: _Diag, G, weights):
    """One block ``Gᵀ diag(w) G`` per variable: different variables are orthogonal."""
    rows, cols, vals = [np.zeros(0, int)], [np.zeros(0, int)], [np.zeros(0)]
    for i in np.unique(diag.dim):
        cols_i = np.flatnonzero(diag.dim == i)
        block = G[:, cols_i].T @ (weights[:, None] * G[:, cols_i])
        block = (block + block.T) / 2.0  # bitwise symmetric
        idx = diag.index[cols_i]
        rows.append(np.repeat(idx, len(idx)))
        cols.append(np.tile(idx, len(idx)))
        vals.append(block.reshape(-1))
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def _product_block(prod, pairs, n):
    """``<E_ij + E_ji, E_kl + E_lk> = 2`` when ``{i, j} = {k, l}``, else 0."""
    if len(prod) == 0:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    key = pairs[:, 0] * n + pairs[:, 1]
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    rows, cols = [prod], [prod]
    for g in np.flatnonzero(counts > 1):  # duplicated pairs only (rare)
        members = prod[inverse == g]
        r, c = np.repeat(members, len(members)), np.tile(members, len(members))
        rows.append(r[r != c])
        cols.append(c[r != c])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    return rows, cols, np.full(len(rows), 2.0)


def _kronecker_points(n_points: int, n: int) -> np.ndarray:
    """First ``n_points`` of the R_d sequence on ``[0, 1]^n`` (Roberts, 2018).

    ``u_q = frac(1/2 + q alpha)`` with ``alpha_i = phi^-(i+1)`` and ``phi`` the
    positive root of ``x^(n+1) = x + 1``: a low-discrepancy set, deterministic
    (no key), and well spread in every projection.
    """
    phi = 2.0
    for _ in range(64):
        phi -= (phi ** (n + 1) - phi - 1.0) / ((n + 1) * phi**n - 1.0)
    alpha = phi ** -np.arange(1.0, n + 1.0)
    q = np.arange(1, n_points + 1, dtype=np.float64)[:, None]
    return np.mod(0.5 + q * alpha, 1.0)


def _custom_sums(fns, U, weights, low, high, diag: _Diag, G, pairs):
    """Weighted sums over ``U`` of Custom-vs-all Frobenius products.

    Returns ``CC`` (c, c), ``CD`` (c, q) against the diagonal features and
    ``CP`` (c, P) against the products. Hessians are computed in chunks of
    equal size (one compilation), the last padded with zero-weight points.
    """
    n = low.shape[0]
    dtype = jnp.result_type(float)
    lo, width = jnp.asarray(low, dtype), jnp.asarray(high - low, dtype)

    def hessians(u):
        x = lo + u * width
        return jnp.stack([jax.hessian(fn)(x).reshape(n, n) for fn in fns])

    batched = jax.jit(jax.vmap(hessians))
    N, c = U.shape[0], len(fns)
    chunk = max(1, min(N, _CHUNK_FLOATS // (c * n * n)))
    n_chunks = -(-N // chunk)
    pad = n_chunks * chunk - N
    U = np.concatenate([U, np.repeat(U[:1], pad, axis=0)])
    weights = np.concatenate([weights, np.zeros(pad)])
    G = np.concatenate([G, np.repeat(G[:1], pad, axis=0)])
    CC = np.zeros((c, c))
    CD = np.zeros((c, len(diag.index)))
    CP = np.zeros((c, len(pairs)))
    for s in range(0, N + pad, chunk):
        H = np.asarray(batched(jnp.asarray(U[s : s + chunk], dtype)), np.float64)
        w = weights[s : s + chunk]
        CC += np.einsum("q,qcij,qdij->cd", w, H, H)
        CD += np.einsum(
            "q,qck,qk->ck", w, H[:, :, diag.dim, diag.dim], G[s : s + chunk]
        )
        a, b = pairs[:, 0], pairs[:, 1]
        CP += np.einsum("q,qck->ck", w, H[:, :, a, b] + H[:, :, b, a])
    return (CC + CC.T) / 2.0, CD, CP
