"""Measure coding and stance quality: dataset readers, metrics, evaluation modes and the ``coproduce eval`` commands.

See docs/evaluation.md for the figures and how they were obtained.
"""
