"""Issue 23's hostile servers, each in a namespace of the lab: an SSH server (its host key trusted) that refuses
the password with a reason quoting it (cut inside it, or escaped), an SMB server that answers the negotiation and
then resets the connection, and a non-SMB server behind a domain account whose ticket cache holds no ticket."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.lab.netns import Host, Lab
from tests.lab.services import start_listener

pytestmark = pytest.mark.lab

LAB = Path(__file__).resolve().parents[1] / "lab"
CONSOLE = "198.18.0.10"
SSH_AGENTS = {"long": "198.18.0.61", "repr": "198.18.0.62", "json": "198.18.0.63", "percent": "198.18.0.64"}
SMB_RESET = "198.18.0.71"
NOT_SMB = "198.18.0.72"
NOT_SMB_NAME = "win-plain.corp.example"
PASSWORD = 'Pa\\ss"w0rd%/\u00fc-Zq7x'  # noqa: S105 - a backslash, a quote, a percent sign, a non-ASCII letter
FORMATS = ("json", "table", "markdown", "junit", "html")


@dataclass
class HostileLab:
    lab: Lab
    console: Host
    known_hosts: Path
    workdir: Path

    def check(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        environment = {k: v for k, v in os.environ.items() if k not in ("SSH_AUTH_SOCK", "NETCHECK_PASSWORD", "KRB5CCNAME")}
        environment.update({"NETCHECK_PASSWORD": PASSWORD, **(env or {})})
        return subprocess.run(
            ["ip", "netns", "exec", self.console.ns, sys.executable, "-m", "netcheck", "check", "--method", "connect",
             "--timeout", "2", *args],
            capture_output=True, text=True, timeout=240, check=False, env=environment,
        )  # fmt: skip


@pytest.fixture(scope="module")
def hostile_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileLab]:
    import asyncssh  # noqa: PLC0415 - the install-check extra

    from tests.conftest import lab_built  # noqa: PLC0415

    workdir = tmp_path_factory.mktemp("hostile")

    def build() -> HostileLab:
        lab = Lab(workdir)
        lab.build_switch()
        console = lab.add_host("console", f"{CONSOLE}/24")
        key = asyncssh.generate_private_key("ssh-ed25519")
        key_path = workdir / "host_key"
        key.write_private_key(str(key_path))
        public = key.export_public_key().decode().split()[:2]
        known = workdir / "known_hosts"
        known.write_text("".join(f"{address} {' '.join(public)}\n" for address in SSH_AGENTS.values()))
        for mode, address in SSH_AGENTS.items():
            host = lab.add_host(f"ssh-{mode}", f"{address}/24")
            host.spawn([sys.executable, str(LAB / "hostile_ssh.py"), address, "22", str(key_path), mode])
            lab.wait_tcp(host, 22)
        smb = lab.add_host("smb-reset", f"{SMB_RESET}/24")
        smb.spawn([sys.executable, str(LAB / "hostile_smb.py"), SMB_RESET, "445"])
        lab.wait_tcp(smb, 445)
        plain = lab.add_host("not-smb", f"{NOT_SMB}/24")
        start_listener(plain, 445)
        console.etc_file("hosts", f"127.0.0.1 localhost\n{NOT_SMB} {NOT_SMB_NAME}\n")
        return HostileLab(lab, console, known, workdir)

    with lab_built(build) as built:
        yield built


def leaked_forms() -> list[str]:
    """The password as typed, its start, and the escaped ways a server may echo it."""
    return [PASSWORD, PASSWORD[:10], repr(PASSWORD)[1:-1], json.dumps(PASSWORD)[1:-1], quote(PASSWORD, safe="")]


@pytest.mark.parametrize("mode", list(SSH_AGENTS))
def test_a_refusal_that_quotes_the_password_leaks_it_in_no_format(hostile_lab: HostileLab, mode: str) -> None:
    """0.3: the reason was cut to 200 characters before the password was masked, and only the password as typed was
    masked: its first 10 characters, or the whole escaped password, were in every format, --redact included."""
    saved = hostile_lab.workdir / f"ssh-{mode}.json"
    agent = SSH_AGENTS[mode]
    run = hostile_lab.check(
        "--agent", f"{agent}:linux", "--user", "root", "--known-hosts", str(hostile_lab.known_hosts),
        "--format", "json", "--output", str(saved),
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    access = next(c for c in json.loads(saved.read_text())["checks"] if c["kind"] == "access")
    assert "ssh-login-refused" in access["detail"] and "********" in access["detail"], access["detail"]
    outputs = [run.stdout + run.stderr, saved.read_text()]
    for form in FORMATS:
        for redact in ([], ["--redact"]):
            shown = subprocess.run(
                [sys.executable, "-m", "netcheck", "report", str(saved), "--format", form, *redact],
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            assert shown.returncode in (0, 1), shown.stderr
            outputs.append(shown.stdout)
    for text in outputs:
        for leaked in leaked_forms():
            assert leaked not in text


def test_an_smb_server_that_resets_after_negotiating_is_a_named_connection_failure(hostile_lab: HostileLab) -> None:
    """0.3: "AttributeError: 'NetBIOSError' object has no attribute 'error'" (impacket's NetBIOSError has none)."""
    run = hostile_lab.check("--agent", f"{SMB_RESET}:windows", "--user", "CORP\\admin", "--no-kerberos", "--format", "json")
    assert run.returncode == 1, run.stderr
    access = next(c for c in json.loads(run.stdout)["checks"] if c["kind"] == "access")
    assert "AttributeError" not in access["detail"]
    assert access["verdict"] == "fail" and access["detail"].startswith("smb-connection-lost:"), access["detail"]
    assert "session setup" in access["detail"]


def header_only_cache(path: Path, user: str, realm: str) -> Path:
    """A FILE: ticket cache (version 4) with its client principal and no ticket at all."""

    def counted(text: str) -> bytes:
        return struct.pack("!I", len(text)) + text.encode()

    path.write_bytes(struct.pack("!HH", 0x0504, 0) + struct.pack("!II", 1, 1) + counted(realm) + counted(user))
    return path


def test_ntlm_tried_and_failed_is_reported_as_such(hostile_lab: HostileLab) -> None:
    """0.3 said "...and there is no password for NTLM" although NETCHECK_PASSWORD was set and NTLM was tried."""
    cache = header_only_cache(hostile_lab.workdir / "krb5cc", "admin", "CORP.EXAMPLE")
    run = hostile_lab.check(
        "--agent", f"{NOT_SMB_NAME}:windows", "--user", "CORP\\admin", "--format", "json",
        env={"KRB5CCNAME": f"FILE:{cache}"},
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    access = next(c for c in json.loads(run.stdout)["checks"] if c["kind"] == "access")
    assert "no password for NTLM" not in access["detail"], access["detail"]
    assert "NTLM failed too" in access["detail"] and "smb-" in access["detail"], access["detail"]
