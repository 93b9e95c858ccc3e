"""An explicit switch for JAX's persistent compilation cache, reused by new processes.

Compiling the training loop, AIS and sampling is most of a small fit's time
in a fresh process (seconds). JAX can keep compiled programs on disk; the
package never turns that on by itself (it changes JAX's global
configuration), but :func:`enable_compilation_cache` does it when called.
"""

import os
from pathlib import Path

__all__ = ["enable_compilation_cache"]


def enable_compilation_cache(path=None, *, min_compile_time_secs=0.0):
    """Keep compiled programs on disk so that later processes skip compiling.

    Call it once, before the first fit, in every process that should use
    the cache (e.g. at the top of a script, or in each worker of a parallel
    grid search). It sets JAX's global options ``jax_compilation_cache_dir``,
    ``jax_persistent_cache_min_compile_time_secs`` and
    ``jax_persistent_cache_min_entry_size_bytes``; skmaxent never changes
    them unless this function is called.

    Parameters
    ----------
    path : str, path-like or None, default=None
        Cache directory (created if missing). ``None`` uses
        ``$SKMAXENT_CACHE_DIR`` if set, else ``~/.cache/skmaxent/jax``.
    min_compile_time_secs : float, default=0.0
        Programs that compiled faster than this are not stored.

    Returns
    -------
    path : pathlib.Path
        The cache directory in use.

    Examples
    --------
    >>> import tempfile, skmaxent
    >>> path = skmaxent.enable_compilation_cache(tempfile.mkdtemp())
    >>> path.is_dir()
    True
    """
    import jax

    if path is None:
        default = Path.home() / ".cache" / "skmaxent" / "jax"
        path = os.environ.get("SKMAXENT_CACHE_DIR", default)
    if isinstance(min_compile_time_secs, bool) or not (
        isinstance(min_compile_time_secs, int | float) and min_compile_time_secs >= 0
    ):
        raise ValueError(
            "min_compile_time_secs must be a number >= 0; got "
            f"{min_compile_time_secs!r}."
        )
    try:
        path = Path(path).expanduser()
    except TypeError as exc:
        raise TypeError(f"path must be a str or path-like; got {path!r}.") from exc
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update(
        "jax_persistent_cache_min_compile_time_secs", float(min_compile_time_secs)
    )
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path
