"""skmaxent: maximum-entropy and energy-based density models, scikit-learn style."""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
