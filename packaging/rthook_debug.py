"""Runtime hook of the debug build (COURIER_PACKAGING_DEBUG=1): Qt explains how it finds its plugins."""

import os

os.environ.setdefault("QT_DEBUG_PLUGINS", "1")
