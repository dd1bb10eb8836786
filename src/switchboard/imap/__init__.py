"""Switchboard imap layer (see docs and design.md)."""
