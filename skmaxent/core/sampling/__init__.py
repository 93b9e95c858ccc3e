"""Sampling.

The kernel seam, reflective HMC, chains moved by any kernel, step-size
tracking.
"""
