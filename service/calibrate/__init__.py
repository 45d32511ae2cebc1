"""Calibration of the synthetic channel against a chat model (`driftlab calibrate`)."""
