"""JAX keys from a scikit-learn ``random_state``, derived on the host (no program)."""

import jax
import numpy as np
from sklearn.utils import check_random_state

__all__ = ["key_from_random_state", "keys_from_random_state", "key_stream"]


def _key(seed: int) -> jax.Array:
    """``jax.random.key(seed)`` (threefry) for ``0 <= seed < 2**31``, built
    from its data: no program is compiled (``jax.random.key`` compiles one)."""
    return jax.random.wrap_key_data(np.array([0, seed], np.uint32), impl="threefry2x32")


def key_from_random_state(random_state) -> jax.Array:
    """A JAX key from a scikit-learn ``random_state`` (None, int or RandomState)."""
    rng = check_random_state(random_state)
    return _key(int(rng.randint(np.iinfo(np.int32).max)))


def keys_from_random_state(random_state, n: int) -> list:
    """``n`` independent JAX keys from a scikit-learn ``random_state``,
    derived on the host (``jax.random.split`` outside a program compiles one)."""
    stream = key_stream(key_from_random_state(random_state))
    return [next(stream) for _ in range(n)]


def key_stream(key):
    """Endless independent JAX keys derived from ``key`` on the host (no program)."""
    rng = np.random.RandomState(np.asarray(jax.random.key_data(key), np.uint32))
    while True:
        yield _key(int(rng.randint(np.iinfo(np.int32).max)))
