"""Importing scapy without it writing to disk: call quiet_scapy() before any `from scapy... import`.

scapy caches its data tables (ethertypes, services, manufacturers: about 2.8 MB of pickles) in
$XDG_CACHE_HOME/scapy or ~/.cache/scapy, and in ./scapy when XDG_CACHE_HOME is empty, and creates ~/.cache
and ~/.config when they are missing. netcheck writes nothing unasked, so scapy gets no cache folder
(scapy.main.SCAPY_CACHE_FOLDER = None: it then parses the tables each time, and never reads a pickle either).
"""

from __future__ import annotations

import os
import sys
import threading

_XDG = ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME")
_NOWHERE = "/dev/null/netcheck"  # no directory can ever be created below a device, not even by root
_lock = threading.Lock()


def quiet_scapy() -> None:
    """Make scapy's first import create and cache nothing (idempotent, thread-safe)."""
    with _lock:
        if "scapy.main" not in sys.modules:
            saved = {name: os.environ.get(name) for name in _XDG}
            os.environ.update(dict.fromkeys(_XDG, _NOWHERE))  # scapy.main probes these folders on import
            try:
                import scapy.main  # noqa: PLC0415 - only where scapy is about to be used
            finally:
                for name, value in saved.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value
        import scapy.main  # noqa: PLC0415

        scapy.main.SCAPY_CACHE_FOLDER = None  # read by scapy.data when it is first imported
