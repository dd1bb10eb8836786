"""Switchboard server layer (see docs and design.md)."""
