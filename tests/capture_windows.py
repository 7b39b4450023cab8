"""Save what netcheck reads on a Windows machine, byte for byte, so fixtures can be refreshed from a real system.

    python -m tests.capture_windows OUTDIR

Runs the very commands netcheck runs (netcheck/parse/windows.py) plus a plain Select-Object of the rule enums (to
see whether ConvertTo-Json writes them as numbers there), and writes for each NAME: NAME.raw (stdout bytes),
NAME.txt (decoded as netcheck decodes it) and a line in exit-codes.txt. On another OS the commands are missing:
each is recorded as failed and the script still exits 0 (the Windows CI job uploads OUTDIR as an artifact).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from netcheck.observe.host import console_codepage
from netcheck.parse import windows

_RAW_ENUMS = (
    f"Get-NetFirewallRule -PolicyStore ActiveStore -Group '{windows.NETWORK_DISCOVERY_GROUP}',"
    f"'{windows.FILE_AND_PRINTER_SHARING_GROUP}' | Select-Object Name, DisplayName, Group, Enabled, Direction, Action,"
    " Profile | ConvertTo-Json"
)

COMMANDS: dict[str, list[str]] = {
    "firewall-rules.json": windows.powershell(windows.FIREWALL_RULES_COMMAND),
    "firewall-rules-raw-enums.json": windows.powershell(_RAW_ENUMS),
    "connection-profiles.json": windows.powershell(windows.CONNECTION_PROFILES_COMMAND),
    "firewall-profiles.json": windows.powershell(windows.FIREWALL_PROFILES_COMMAND),
    "part-of-domain.txt": windows.powershell(windows.DOMAIN_MEMBER_COMMAND),
    "netsh-dynamicport-tcp.txt": ["netsh", "int", "ipv4", "show", "dynamicport", "tcp"],
    "netsh-allprofiles.txt": windows.netsh_english("advfirewall", "show", "allprofiles"),
    "netsh-allprofiles-console-codepage.txt": ["netsh", "advfirewall", "show", "allprofiles"],
    "netsh-currentprofile.txt": windows.netsh_english("advfirewall", "show", "currentprofile"),
    "chcp.txt": ["cmd.exe", "/d", "/c", "chcp"],
}


def capture(outdir: Path) -> list[str]:
    """Run every command into `outdir`; the lines written to exit-codes.txt."""
    outdir.mkdir(parents=True, exist_ok=True)
    codepage = console_codepage()
    lines = [f"python {sys.version.split()[0]} on {sys.platform}, console code page {codepage}"]
    for name, argv in COMMANDS.items():
        try:
            proc = subprocess.run(argv, capture_output=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            lines.append(f"{name}: not run ({exc})")
            continue
        (outdir / f"{name}.raw").write_bytes(proc.stdout)
        (outdir / name).write_text(windows.decode_output(proc.stdout, codepage), encoding="utf-8")
        stderr = windows.decode_output(proc.stderr, codepage).strip()
        lines.append(f"{name}: exit {proc.returncode}" + (f" ({stderr[:300]})" if stderr else ""))
    (outdir / "exit-codes.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


if __name__ == "__main__":
    for line in capture(Path(sys.argv[1] if len(sys.argv) > 1 else "windows-outputs")):
        print(line)
