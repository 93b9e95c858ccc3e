"""Host arrays for compiled calls: float32 copies and padded row counts.

Rows padded to a few sizes (powers of two, or a fixed block) let one
compiled program serve inputs of many lengths. NumPy, not ``jnp``: a jitted
call takes a NumPy array as is, where an eager conversion would compile a
program of its own.
"""

import numpy as np

__all__ = ["f32", "pow2", "pad"]


def f32(a):
    """``a`` as a float32 NumPy array."""
    return np.asarray(a, dtype=np.float32)


def pow2(n: int, least: int = 1) -> int:
    """The power of two at or above ``n``, and at least ``least``."""
    return max(least, 1 << max(n - 1, 0).bit_length())


def pad(a, size: int, fill=0.0):
    """``a`` (m, ...) as float32 (size, ...): its ``m`` rows, then ``fill``."""
    out = np.empty((size, *np.shape(a)[1:]), np.float32)
    out[: len(a)], out[len(a) :] = a, fill
    return out
