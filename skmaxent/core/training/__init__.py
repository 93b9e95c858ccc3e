"""Training.

The one loop, its objectives (dual, moment matching, likelihood), their
steps and penalties.
"""
