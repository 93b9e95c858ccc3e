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

On the CPU every program has a second, quickly compiled variant
(:attr:`Program.quick`, :data:`QUICK_COMPILER_OPTIONS`) for work that is
over before a slower compile would pay for itself: the chunk that verifies a
start and the AIS of a fit that ended there, on small problems (see
``Settings.quick_compile_max``).
"""

import functools
from collections.abc import Callable

import jax

__all__ = [
    "jit",
    "n_programs",
    "clear",
    "trim",
    "CPU_COMPILER_OPTIONS",
    "QUICK_COMPILER_OPTIONS",
]

#: XLA options of every program compiled for the CPU. LLVM optimisation level
#: 1 of 0..3 (XLA's default is 2) cuts the compile time of the training chunk
#: and of AIS by about a fifth with the same run time (``docs/decisions.md``).
#: Per-program options: JAX's global configuration is not touched.
CPU_COMPILER_OPTIONS = {"xla_backend_optimization_level": 1}

#: XLA options of the quick variants: XLA's older (elemental) emitters in
#: place of its fusion emitters halve the compile time of the training chunk
#: and of AIS again, but make gathers and matrix products slower to run
#: (``docs/decisions.md``).
QUICK_COMPILER_OPTIONS = {**CPU_COMPILER_OPTIONS, "xla_cpu_use_fusion_emitters": False}

_JITTED: list = []


class Program:
    """``jax.jit(fun, **kwargs)`` with :data:`CPU_COMPILER_OPTIONS` where the
    default backend is the CPU, decided at the first call (importing the
    package starts no backend)."""

    def __init__(self, fun: Callable, kwargs: dict, options: dict | None = None):
        self._fun, self._kwargs, self._jitted = fun, kwargs, None
        self._options = CPU_COMPILER_OPTIONS if options is None else options
        self._quick = None
        functools.update_wrapper(self, fun)

    def _get(self):
        if self._jitted is None:
            cpu = jax.default_backend() == "cpu"
            options = dict(self._options) if cpu else None
            self._jitted = jax.jit(self._fun, compiler_options=options, **self._kwargs)
        return self._jitted

    @property
    def quick(self) -> "Program":
        """The variant compiled with :data:`QUICK_COMPILER_OPTIONS` on the
        CPU (elsewhere: this program itself)."""
        if jax.default_backend() != "cpu":
            return self
        if self._quick is None:
            self._quick = Program(self._fun, self._kwargs, QUICK_COMPILER_OPTIONS)
        return self._quick

    def __call__(self, *args, **kwargs):
        return self._get()(*args, **kwargs)

    def lower(self, *args, **kwargs):
        return self._get().lower(*args, **kwargs)

    def _cache_size(self) -> int:
        quick = 0 if self._quick is None else self._quick._cache_size()
        return quick + (0 if self._jitted is None else self._jitted._cache_size())

    def clear_cache(self) -> None:
        if self._jitted is not None:
            self._jitted.clear_cache()
        if self._quick is not None:
            self._quick.clear_cache()


def jit(fun: Callable | None = None, **kwargs):
    """A registered :class:`Program`; or ``@jit(static_argnames=...)``."""
    if fun is None:
        return lambda f: jit(f, **kwargs)
    jitted = Program(fun, kwargs)
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
