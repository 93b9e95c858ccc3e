"""Ctrl-C that stops the work: an interrupt waits for a safe point between chunks.

JAX dispatches compiled programs asynchronously, from C++ that calls back
into Python. A ``KeyboardInterrupt`` raised at an arbitrary bytecode -- inside
such a callback, or with a program still in flight -- can leave JAX's runtime
in a state that crashes the interpreter at exit (measured: 3 crashes in 6
interrupted ``MaxEntDual`` fits exiting right after the interrupt; the same
happened to Keras's JAX backend, keras-team/keras#21019). So every public
method of the package that runs compiled work is wrapped in
:func:`finishing`: while it runs (in the main thread, under Python's default
SIGINT handler) an interrupt is only recorded; the host loops call
:func:`checkpoint` between bounded chunks of work, which waits for the work
in flight (:func:`drain`) and raises ``KeyboardInterrupt`` there; whatever
is left pending at the end is raised then.
"""

import functools
import signal
import threading

import jax

__all__ = ["drain", "checkpoint", "finishing"]

#: Interrupts received while a :func:`finishing` method runs, not yet raised.
_PENDING: list = []


def drain() -> None:
    """Wait until no JAX computation is in flight (every live array is ready)."""
    for array in jax.live_arrays():
        try:
            array.block_until_ready()
        except RuntimeError:  # deleted or donated meanwhile: not in flight
            pass


def checkpoint() -> None:
    """A safe point: raise a pending interrupt, once the work in flight is done."""
    if _PENDING:
        _PENDING.clear()
        drain()
        raise KeyboardInterrupt


def _record(signum, frame):
    _PENDING.append(signum)


def finishing(method):
    """``method`` with interrupts deferred to the safe points (see the module)."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        own = (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        )
        if not own:  # nested, another thread, or the user's own handler
            return method(*args, **kwargs)
        signal.signal(signal.SIGINT, _record)
        try:
            out = method(*args, **kwargs)
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        checkpoint()
        return out

    return wrapper
