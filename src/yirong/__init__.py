"""Yirong (易融): an open platform for revenue-based lending to small businesses."""
