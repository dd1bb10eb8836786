"""Switchboard workers layer (see docs and design.md)."""
