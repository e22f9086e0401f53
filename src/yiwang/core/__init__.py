"""Shared kernel: no domain words here. Modules import what they need from the submodules."""
