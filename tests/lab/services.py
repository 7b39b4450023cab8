"""Real servers for the lab (OpenSSH's sshd, Samba's smbd, a plain TCP listener), each with its own config
under the lab's temp dir, started inside a host's namespace."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tests.lab.netns import Host, LabError, sh


def _need(binary: str, package: str) -> str:
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None)
    if not path:
        raise LabError(f"{binary} not found: apt-get install {package}")
    return path


def start_sshd(host: Host, workdir: Path, port: int = 22) -> None:
    sshd = _need("sshd", "openssh-server")
    home = workdir / f"sshd-{host.name}"
    home.mkdir(parents=True)
    key = home / "host_ed25519"
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
    config = home / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress {host.address}\nHostKey {key}\nPidFile {home}/sshd.pid\n"
        "UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin no\n"
        "StrictModes no\nLogLevel ERROR\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
    host.spawn([sshd, "-D", "-e", "-f", str(config)])
    host.lab.wait_tcp(host, port)


SMB_STRICT = "  server signing = mandatory\n  server smb encrypt = required\n"
"""Signing mandatory, SMB3 encryption required (the issue's first smbd)."""
SMB_LEGACY = "  server signing = auto\n  server max protocol = SMB2_10\n"
"""Signing optional, at most SMB 2.1 (the issue's second smbd)."""


def start_smbd(host: Host, workdir: Path, port: int = 445, settings: str = "") -> Path:
    """smbd on host:port with its own config, state and logs; returns its smb.conf. Its directories are ones every
    user can traverse: Samba's RPC workers (winreg) open their state as the logged-in user."""
    smbd = _need("smbd", "samba")
    del workdir  # the lab's own temp dir is root's alone
    home = host.lab.open_dir(f"smbd-{host.name}")
    for sub in ("private", "lock", "state", "cache", "pid", "share", "ncalrpc"):
        (home / sub).mkdir(parents=True)
    config = home / "smb.conf"
    config.write_text(
        "[global]\n"
        f"  interfaces = {host.address}/32\n  bind interfaces only = yes\n  smb ports = {port}\n"
        f"  private dir = {home}/private\n  lock directory = {home}/lock\n  state directory = {home}/state\n"
        f"  cache directory = {home}/cache\n  pid directory = {home}/pid\n  ncalrpc dir = {home}/ncalrpc\n"
        f"  log file = {home}/log.%m\n  disable netbios = yes\n  server role = standalone server\n"
        "  load printers = no\n  printing = bsd\n  printcap name = /dev/null\n  disable spoolss = yes\n"
        f"{settings}[share]\n  path = {home}/share\n  read only = yes\n  guest ok = yes\n"
    )
    host.spawn([smbd, "--foreground", "--no-process-group", "--debug-stdout", "-s", str(config)])
    host.lab.wait_tcp(host, port, timeout_s=30)
    return config


def start_listener(host: Host, port: int) -> None:
    """A plain TCP listener standing in for the product's service after installation."""
    code = (
        "import socket,signal,sys\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
        "s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
        f"s.bind(('{host.address}',{port}));s.listen(256)\n"
        "while True:\n    c,_=s.accept();c.close()\n"
    )
    host.spawn(["python3", "-c", code])
    host.lab.wait_tcp(host, port)


def start_dnsmasq(host: Host, address: str, workdir: Path, records: dict[str, str]) -> None:
    """An authoritative name server for lab.test on `address`: A and PTR records for each name."""
    dnsmasq = _need("dnsmasq", "dnsmasq-base")
    argv = [
        dnsmasq, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces",
        f"--listen-address={address}", "--local=/lab.test/", "--user=root", f"--pid-file={workdir}/dnsmasq-{address}.pid",
        "--log-facility=-", "--port=53",
    ]  # fmt: skip
    argv += [f"--host-record={name},{ip},300" for name, ip in records.items()]
    host.spawn(argv)
    host.lab.wait_tcp(host, 53, address=address)


def start_nmbd(host: Host, workdir: Path, netbios_name: str) -> None:
    """Samba's NetBIOS name server answering broadcast name queries for `netbios_name`."""
    nmbd = _need("nmbd", "samba")
    home = workdir / f"nmbd-{host.name}"
    for sub in ("private", "lock", "state", "cache", "pid"):
        (home / sub).mkdir(parents=True)
    config = home / "smb.conf"
    config.write_text(
        "[global]\n"
        f"  netbios name = {netbios_name}\n  workgroup = LAB\n  interfaces = {host.address}/24\n"
        "  bind interfaces only = yes\n  server role = standalone server\n  local master = no\n"
        f"  private dir = {home}/private\n  lock directory = {home}/lock\n  state directory = {home}/state\n"
        f"  cache directory = {home}/cache\n  pid directory = {home}/pid\n  log file = {home}/log.%m\n"
    )
    host.spawn([nmbd, "--foreground", "--no-process-group", "--debug-stdout", "-s", str(config)])
    host.lab.wait_udp_bound(host, 137)
    # nmbd answers only once it has registered its name (a few seconds of broadcasts): ask until it does.
    ask = (
        "import socket,sys,time\nfrom netcheck.observe.names.netbios import build_query, parse_response\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(0.5)\n"
        "end=time.monotonic()+30\n"
        "while time.monotonic()<end:\n"
        f"    s.sendto(build_query('{netbios_name.upper()}',0x4d2c),('{host.address}',137))\n"
        "    try:\n        data=s.recvfrom(1024)[0]\n    except TimeoutError:\n        continue\n"
        "    if parse_response(data,0x4d2c):\n        print(data.hex());sys.exit(0)\n"
        "sys.exit(1)\n"
    )
    if host.run([sys.executable, "-c", ask], check=False).returncode != 0:
        raise LabError(f"nmbd on {host.name} never answered a name query for {netbios_name}")


def start_llmnr(host: Host, name: str) -> None:
    """The lab's LLMNR responder (tests/lab/llmnr_responder.py) answering for `name`."""
    script = Path(__file__).with_name("llmnr_responder.py")
    host.spawn([sys.executable, str(script), name, host.address])
    host.lab.wait_udp_bound(host, 5355)


def start_tls_listener(host: Host, workdir: Path, port: int, common_name: str) -> None:
    """A TLS server with a fresh self-signed certificate (CN=common_name), standing in for the product's 9876."""
    key, cert = workdir / f"tls-{host.name}.key", workdir / f"tls-{host.name}.pem"
    sh(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
        "-days", "30", "-subj", f"/CN={common_name}/O=netcheck lab"])  # fmt: skip
    code = (
        "import signal,socket,ssl,sys,threading\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
        f"ctx=ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER);ctx.load_cert_chain('{cert}','{key}')\n"
        f"s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('{host.address}',{port}));s.listen(64)\n"
        "def serve(c):\n"
        "    try:\n        t=ctx.wrap_socket(c,server_side=True);t.settimeout(5);t.recv(1);t.close()\n"
        "    except Exception:\n        c.close()\n"
        "while True:\n    c,_=s.accept();c.settimeout(5);threading.Thread(target=serve,args=(c,),daemon=True).start()\n"
    )
    host.spawn([sys.executable, "-c", code])
    host.lab.wait_tcp(host, port)


def start_responder(host: Host, *args: str) -> None:
    """`netcheck listen` itself, from this checkout, in the host's namespace."""
    host.spawn([sys.executable, "-m", "netcheck", "listen", "--duration", "3600", *args])
    host.lab.wait_tcp(host, 25001)
