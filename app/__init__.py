"""Courier's Qt application: the bridge to core, settings, and the windows in app/ui."""
