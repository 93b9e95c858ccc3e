"""The functional JAX core of skmaxent: pure functions of arrays and pytrees.

Nothing here imports scikit-learn or the estimator shell.
"""
