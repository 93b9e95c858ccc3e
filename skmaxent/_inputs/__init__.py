"""Inputs.

From what the user passes to a checked fit input (data, bounds, targets,
supports).
"""
