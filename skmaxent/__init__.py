"""skmaxent: maximum-entropy and energy-based density models, scikit-learn style.

The estimators are imported lazily (PEP 562), so that ``import skmaxent.core``
loads the pure-JAX core without scikit-learn.
"""

import importlib

__version__ = "0.1.0.dev0"

_ESTIMATORS = {
    "MaxEntDual": "skmaxent._maxent",
    "MomentMatchingEBM": "skmaxent._smm",
    "MaxLikelihoodEBM": "skmaxent._mle",
    "MarginalPrior": "skmaxent.priors",
    "ScoreMatchingGaussian": "skmaxent._gaussian",
    "enable_compilation_cache": "skmaxent._cache",
    "Settings": "skmaxent._fit.settings",
    "set_config": "skmaxent._fit.settings",
    "get_config": "skmaxent._fit.settings",
    "config_context": "skmaxent._fit.settings",
}

__all__ = [*_ESTIMATORS, "clear_caches", "__version__"]


def clear_caches() -> None:
    """Drop every program skmaxent has compiled, to free their memory now.

    JAX keeps compiled programs for the life of the process; skmaxent keeps
    at most ``Settings.max_programs`` of its own (128) by clearing them when
    a fit starts with more, and this clears them at once. Fitted estimators
    stay usable: their programs are compiled again on next use. Programs
    compiled by other code are not touched (``jax.clear_caches()`` clears
    everything).
    """
    from skmaxent.core import programs

    programs.clear()


def __getattr__(name):
    if name in _ESTIMATORS:
        return getattr(importlib.import_module(_ESTIMATORS[name]), name)
    raise AttributeError(f"module 'skmaxent' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
