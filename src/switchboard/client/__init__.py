"""Switchboard client layer (see docs and design.md)."""
