"""Widgets only: windows, dialogs, models and views. No network or disk I/O here."""
