"""Features of two variables, so that a sparse graph costs O(|E|), a dense one a matmul.

Products ``x_i x_j``, Legendre tensor products ``P_a(t_i) P_b(t_j)``
(:class:`~skmaxent.core.specs.Pairwise`) and 2-D bins
(:class:`~skmaxent.core.specs.Indicator2`) on the edges of a graph. Each kind
is a gather of its two columns and an elementwise op, so values, energies and
gradients cost ``O(|E|)`` per point. Products over most pairs (at least a
quarter of all ``n (n - 1) / 2``, e.g. the quadratic preset) use the matrix
form instead: ``sum_k c_k x_i x_j = x·Wx / 2`` with ``W`` symmetric, gradient
``Wx``, batch mean ``XᵀX / N`` then a gather -- one matmul where ``|E|`` is
``O(n²)``, and never an ``n × n`` matrix where the graph is sparse.

Functions read the index tables of a :class:`~skmaxent.core.feature_map.
FeatureMap` (``_prod_*``, ``_pw_*``, ``_i2_*``); the Legendre tables ``P``
(and derivatives ``D``) are those the map computes once for all Legendre
features, indexed ``[degree, ..., column]``.
"""

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "bin_tables",
    "bins_values",
    "dense_products",
    "pairwise_grad",
    "pairwise_values",
    "product_energy",
    "product_grad",
    "product_mean",
    "product_table",
    "product_values",
    "slot_gather",
    "slots",
]

_HIGHEST = jax.lax.Precision.HIGHEST


def dense_products(n_products: int, n: int) -> bool:
    """Whether products over ``n`` variables take the matrix form.

    It costs ``O(n²)`` per point against ``O(n_products)`` for the gather,
    and a matmul is several times faster per entry than a gather: the matrix
    wins from about a quarter of all pairs on.
    """
    return n_products > 0 and 8 * n_products >= n * (n - 1)


def _col(v, idx, axis):
    return jnp.take(v, idx, axis=axis)


def product_values(fm, x):
    """``x_i x_j`` of every Product at one point ``x`` (n,) or rows (N, n)."""
    return _col(x, fm._prod_i, -1) * _col(x, fm._prod_j, -1)


def product_mean(fm, X, w, square):
    """``sum_r w_r x_ri x_rj`` (of its square with ``square``) per Product."""
    Xp = X * X if square else X
    if fm._dense_prod:
        G = jnp.matmul(Xp.T, Xp * w[:, None], precision=_HIGHEST)
        return G[fm._prod_i, fm._prod_j]
    return w @ product_values(fm, Xp)


def slots(rows, cols, shape, symmetric=False) -> np.ndarray:
    """Static int32 table of ``shape``: ``k`` at ``(rows[k], cols[k])`` (and at
    ``(cols[k], rows[k])`` with ``symmetric``), ``len(rows)`` elsewhere.

    Entries must be unique (the specs are deduplicated), so that
    :func:`slot_gather` lays coefficients out by one gather.
    """
    table = np.full(shape, len(rows), np.int32)
    table[rows, cols] = np.arange(len(rows))
    if symmetric:
        table[cols, rows] = np.arange(len(rows))
    return table


def slot_gather(c, table):
    """``c`` laid out as ``table`` (from :func:`slots`), zero where unused."""
    return jnp.take(jnp.concatenate([c, jnp.zeros((1,), c.dtype)]), table)


def product_table(fm, c):
    """The symmetric ``W`` (n, n) of the matrix form, or ``c`` for the gather."""
    return slot_gather(c, fm._prod_slots) if fm._dense_prod else c


def product_energy(fm, t, x):
    """``sum_k c_k x_i x_j`` at one point from :func:`product_table`'s ``t``."""
    if fm._dense_prod:
        return 0.5 * jnp.dot(x, jnp.dot(t, x, precision=_HIGHEST))
    return jnp.dot(t, product_values(fm, x))


def product_grad(fm, t, x):
    """``d/dx sum_k c_k x_i x_j`` (n,) at one point."""
    if fm._dense_prod:
        return jnp.dot(t, x, precision=_HIGHEST)
    g = jnp.zeros_like(x)
    g = g.at[fm._prod_i].add(t * _col(x, fm._prod_j, 0))
    return g.at[fm._prod_j].add(t * _col(x, fm._prod_i, 0))


def pairwise_values(fm, P):
    """``P_a(t_i) P_b(t_j)`` per Pairwise from the table ``P`` (D+1, [N,] n).

    Returns ``(m,)`` for one point and ``(m, N)`` for rows.
    """
    if P.ndim == 2:
        return P[fm._pw_a, fm._pw_i] * P[fm._pw_b, fm._pw_j]
    return P[fm._pw_a, :, fm._pw_i] * P[fm._pw_b, :, fm._pw_j]


def pairwise_grad(fm, c, P, D):
    """``d/dx sum_k c_k P_a(t_i) P_b(t_j)`` (n,) at one point.

    ``D`` the derivatives of the table in ``x`` (zero where ``t`` is clipped).
    """
    Pa, Pb = P[fm._pw_a, fm._pw_i], P[fm._pw_b, fm._pw_j]
    Da, Db = D[fm._pw_a, fm._pw_i], D[fm._pw_b, fm._pw_j]
    g = jnp.zeros(P.shape[-1], P.dtype)
    g = g.at[fm._pw_i].add(c * Da * Pb).at[fm._pw_j].add(c * Pa * Db)
    return g


def bins_values(fm, x):
    """``1[x_i in box_i and x_j in box_j]`` per Indicator2 at ``x`` (n,) or (N, n)."""
    xi, xj = _col(x, fm._i2_i, -1), _col(x, fm._i2_j, -1)
    lo = jnp.asarray(fm._i2_lo, x.dtype)
    hi = jnp.asarray(fm._i2_hi, x.dtype)
    inside = (xi >= lo[:, 0]) & (xi < hi[:, 0]) & (xj >= lo[:, 1]) & (xj < hi[:, 1])
    return inside.astype(x.dtype)


def bin_tables(specs, positions) -> tuple[np.ndarray, ...]:
    """``(i, j, low, high)`` index and limit tables of the Indicator2 specs."""
    s = [specs[k] for k in positions]
    i = np.array([b.i for b in s], np.int32)
    j = np.array([b.j for b in s], np.int32)
    lo = np.array([(b.box_i[0], b.box_j[0]) for b in s], np.float64).reshape(-1, 2)
    hi = np.array([(b.box_i[1], b.box_j[1]) for b in s], np.float64).reshape(-1, 2)
    return i, j, lo, hi
