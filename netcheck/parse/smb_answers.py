"""Pure decoders of what a Windows agent answers (no I/O, no optional library): the access checks' raw answers
become plain values here, so unit tests can feed them recorded bytes."""

from __future__ import annotations

import struct

_FS_FULL_SIZE = struct.Struct("<qqqII")
"""FileFsFullSizeInformation (MS-FSCC 2.5.4): TotalAllocationUnits, CallerAvailableAllocationUnits,
ActualAvailableAllocationUnits (signed 64-bit each), SectorsPerAllocationUnit, BytesPerSector (32-bit each)."""


def fs_full_size(data: bytes) -> tuple[int, int] | None:
    """(free bytes for the caller, total bytes) of a FileFsFullSizeInformation answer; None when it is too short or
    its numbers are impossible (negative, or more free than total)."""
    if len(data) < _FS_FULL_SIZE.size:
        return None
    total_units, caller_units, _actual, sectors, sector_bytes = _FS_FULL_SIZE.unpack_from(data)
    unit = sectors * sector_bytes
    if total_units < 0 or caller_units < 0 or caller_units > total_units:
        return None
    return caller_units * unit, total_units * unit


_DWORD = struct.Struct("<I")


def _error_code(stub: bytes) -> int | None:
    """The Win32 error code that ends an SCMR response's stub (0: success); None when the stub is too short."""
    return _DWORD.unpack_from(stub, len(stub) - 4)[0] if len(stub) >= 8 else None


def service_state(stub: bytes) -> int | None:
    """dwCurrentState of RQueryServiceStatus's answer (MS-SCMR 3.1.4.14: SERVICE_STATUS, seven DWORDs, then the
    error code); None for an error or a short answer."""
    if len(stub) < 32 or _error_code(stub) != 0:
        return None
    return int(_DWORD.unpack_from(stub, 4)[0])


def service_start_type(stub: bytes) -> int | None:
    """dwStartType of RQueryServiceConfigW's answer (MS-SCMR 3.1.4.17: QUERY_SERVICE_CONFIGW starts with
    dwServiceType, dwStartType; the error code ends the stub); None for an error or a short answer."""
    if len(stub) < 12 or _error_code(stub) != 0:
        return None
    return int(_DWORD.unpack_from(stub, 4)[0])
