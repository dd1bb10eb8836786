"""Switchboard protocol layer (see docs and design.md)."""
