"""Switchboard store layer (see docs and design.md)."""
