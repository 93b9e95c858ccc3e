"""Where the chains live: their sharding over JAX devices and the way back to NumPy."""

import jax
import numpy as np

__all__ = ["chain_sharding", "place_chains", "to_host"]


def chain_sharding(devices, n_chains):
    """Sharding of the chains axis over JAX devices, or ``None`` for one device.

    ``devices=None`` uses every device when there are several and they divide
    ``n_chains`` (else one device); an int asks for that many devices, and it
    is an error if there are fewer or they do not divide ``n_chains``. The
    chains' positions are placed on a 1-D mesh named ``"chains"``; ``jit``
    propagates the layout, so parameters stay replicated and the feature
    means over chains are reduced across devices by XLA.
    """
    available = jax.devices()
    if devices is None:
        k = len(available)
        if k == 1 or n_chains % k:
            return None
    else:
        k = int(devices)
        if k > len(available):
            raise ValueError(
                f"devices={k} but JAX sees only {len(available)} device(s): "
                f"{available}."
            )
        if n_chains % k:
            raise ValueError(
                f"n_chains={n_chains} must be a multiple of devices={k} to shard "
                "the chains evenly."
            )
        if k == 1:
            return None
    mesh = jax.sharding.Mesh(np.array(available[:k]), ("chains",))
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("chains"))


def place_chains(positions, sharding):
    """Put the chains' starting positions (C, n) on the mesh.

    Every process holds the same ``positions`` (the same seed), and supplies
    the shards of its own devices: one code path for one device, several,
    or several hosts after ``jax.distributed.initialize()``.
    """
    if sharding is None:
        return positions
    return jax.make_array_from_callback(
        positions.shape, sharding, lambda index: positions[index]
    )


def to_host(x) -> np.ndarray:
    """A (possibly multi-host) sharded array gathered into a NumPy array."""
    if getattr(x, "is_fully_addressable", True):
        return np.asarray(x)
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(x, tiled=True))
