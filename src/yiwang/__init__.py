"""Yiwang (一网): an open-source city digital-government platform."""

__version__ = "0.1.0"
