"""Fitting.

Plans, the host loop, log Z, starts, devices, keys and settings of a chain
fit.
"""
