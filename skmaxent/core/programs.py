"""Every compiled program of the package in one registry, so that memory stays bounded.

Every module-level ``jax.jit`` of skmaxent is made through :func:`jit`, which
registers it. JAX keeps one compiled executable per static configuration
(a FeatureMap, an energy, a loop config) and input shapes, for the life of
the process, and each executable holds memory mappings of its machine code:
a fit with a new ``Custom`` function compiles new programs (some 600
mappings on CPU), so a notebook or a grid search over feature functions
would reach the system's mapping limit. Equal configurations share programs
(specs and energies compare by value); :func:`trim` bounds the rest by
clearing the package's programs (and only them) once they exceed a limit,
and :func:`clear` does it on request (``skmaxent.clear_caches()``).
"""

from collections.abc import Callable

import jax

__all__ = ["jit", "n_programs", "clear", "trim"]

_JITTED: list = []


def jit(fun: Callable | None = None, **kwargs):
    """``jax.jit(fun, **kwargs)``, registered; or ``@jit(static_argnames=...)``."""
    if fun is None:
        return lambda f: jit(f, **kwargs)
    jitted = jax.jit(fun, **kwargs)
    _JITTED.append(jitted)
    return jitted


def n_programs() -> int:
    """Compiled programs held by the package's jitted functions."""
    return sum(f._cache_size() for f in _JITTED)


def clear() -> None:
    """Drop every compiled program of the package (they recompile on next use)."""
    for f in _JITTED:
        f.clear_cache()


def trim(max_programs: int) -> bool:
    """:func:`clear` if more than ``max_programs`` programs are held; whether it did."""
    if n_programs() <= max_programs:
        return False
    clear()
    return True
