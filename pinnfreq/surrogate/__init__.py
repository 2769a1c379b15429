"""Snapshot surrogates: learned time-steppers on trajectory data (seeds 002, 003)."""
