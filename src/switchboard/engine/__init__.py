"""Switchboard engine layer (see docs and design.md)."""
