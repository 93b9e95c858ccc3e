"""Type aliases and the box: maps between user units and the unit box.

The core samples on the unit box ``[0, 1]^n``; a user's box ``prod_i [lo_i, hi_i]``
is an affine image of it, so densities differ by the constant Jacobian
``prod_i (hi_i - lo_i)``.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

ArrayLike = jax.typing.ArrayLike
Array = jax.Array
PRNGKey = jax.Array


class Box(NamedTuple):
    """An axis-aligned box ``prod_i [low_i, high_i]`` in user units.

    Both fields are arrays of shape ``(n,)`` with ``low < high``. They are
    traced (not static) in jitted code, so boxes of equal dimension share
    compiled functions.
    """

    low: Array
    high: Array


def width(box: Box) -> Array:
    """Side lengths ``high - low``, shape ``(n,)``."""
    return box.high - box.low


def to_unit(box: Box, x: ArrayLike) -> Array:
    """Map points in user units (``(..., n)``) to the unit box."""
    return (jnp.asarray(x) - box.low) / width(box)


def from_unit(box: Box, u: ArrayLike) -> Array:
    """Map points on the unit box (``(..., n)``) to user units."""
    return box.low + jnp.asarray(u) * width(box)


def log_volume(box: Box) -> Array:
    """``sum_i log(high_i - low_i)``: the log-Jacobian of :func:`from_unit`.

    A density on the unit box becomes a density in user units by subtracting it.
    """
    return jnp.sum(jnp.log(width(box)))


def contains(box: Box, x: ArrayLike) -> Array:
    """Whether each point ``x`` (``(..., n)``, user units) lies in the closed box."""
    x = jnp.asarray(x)
    return jnp.all((x >= box.low) & (x <= box.high), axis=-1)
