#!/usr/bin/env python3
"""Build dist/netcheck.pyz: netcheck and every dependency in one file, for Linux x86_64 and aarch64 and
Windows amd64, run as `python3 netcheck.pyz ...` on any machine with CPython 3.11 to 3.14.

Why pex (not shiv): psutil is the one compiled dependency, and its Linux x86_64 and aarch64 wheels both hold
`psutil/_psutil_linux.abi3.so`, so one site-packages (what shiv ships) can hold only one of them. A pex keeps
each resolved wheel apart and activates, at run time, the ones whose tags fit the running interpreter; it
also resolves every platform's own markers.

Each platform is given to pex as a complete platform (marker environment + compatible wheel tags) written
here, because pex's abbreviated platforms cannot evaluate the `python_full_version` markers some
dependencies carry. psutil's wheels are abi3, but orjson has one wheel per
CPython version, so the file holds CPython 3.11 to 3.14 for each platform.

Usage: python3 tools/build_pyz.py [--output dist/netcheck.pyz] [--python 3.11]   (pex and packaging: the test extra)
The build resolves each platform and Python version on its own: about a minute per 3 targets on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from packaging import tags

ROOT = Path(__file__).resolve().parent.parent
PYTHONS = ((3, 11), (3, 12), (3, 13), (3, 14))  # orjson ships one wheel per CPython version
GLIBC_MIN = 17  # manylinux2014 (glibc 2.17: RHEL/CentOS 7 and later), the oldest psutil's aarch64 wheel needs


def _manylinux(arch: str) -> list[str]:
    """manylinux platform tags a glibc-2.17 machine of this architecture accepts, newest first."""
    names = [f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC_MIN, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    out: list[str] = []
    for name in names:
        out.append(name)
        minor = int(name.split("_")[2])
        if minor in legacy and (arch in ("x86_64", "i686") or minor == 17):
            out.append(f"{legacy[minor]}_{arch}")
    return [*out, f"linux_{arch}"]


LINUX = {"os_name": "posix", "platform_system": "Linux", "sys_platform": "linux"}
WINDOWS = {"os_name": "nt", "platform_system": "Windows", "sys_platform": "win32"}
PLATFORMS: dict[str, tuple[list[str], dict[str, str]]] = {
    "linux-x86_64": (_manylinux("x86_64"), {**LINUX, "platform_machine": "x86_64"}),
    "linux-aarch64": (_manylinux("aarch64"), {**LINUX, "platform_machine": "aarch64"}),
    "windows-amd64": (["win_amd64"], {**WINDOWS, "platform_machine": "AMD64"}),
}


def complete_platform(python: tuple[int, ...], platforms: list[str], markers: dict[str, str]) -> dict[str, object]:
    """pex's --complete-platform document for this CPython version on these platform tags."""
    interpreter = f"cp{python[0]}{python[1]}"
    compatible = [
        *tags.cpython_tags(python, [interpreter, "abi3", "none"], platforms),
        *tags.compatible_tags(python, interpreter, platforms),
    ]
    version = f"{python[0]}.{python[1]}"
    return {
        "compatible_tags": [str(tag) for tag in dict.fromkeys(compatible)],
        "marker_environment": {
            "implementation_name": "cpython",
            "implementation_version": f"{version}.0",
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_version": "",
            "python_full_version": f"{version}.0",
            "python_version": version,
            **markers,
        },
    }


def run(argv: list[str]) -> None:
    print("+", " ".join(argv), flush=True)
    subprocess.run(argv, check=True)


PEX_ROOT_GUARD = """\
# netcheck: a PEX_ROOT that cannot be used is refused before pex unpacks anything. pex itself would unpack
# into the current directory for an empty value, and into a temporary folder otherwise, which it removes at
# exit through atexit: netcheck leaves by os._exit, so that folder (25 MB) would stay behind on every run.
def __netcheck_pex_root__():
    import os
    import stat
    import sys

    def refuse(why):
        sys.stderr.write("netcheck: error: " + why + "\\n")
        sys.stderr.flush()
        os._exit(2)

    given = os.environ.get("PEX_ROOT")
    if given is None:
        if os.name != "posix":
            return
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root, what = os.path.join(cache, "pex"), "the default PEX_ROOT"
    elif not given.strip():
        refuse("PEX_ROOT is set but empty: set it to a directory you can write, or unset it")
    else:
        root, what = os.path.expanduser(given), "PEX_ROOT"
    fix = ": set PEX_ROOT to a directory you can write (netcheck.pyz unpacks itself there once)"
    path = os.path.abspath(root)
    while True:
        try:
            info = os.stat(path)
        except FileNotFoundError:
            if os.path.dirname(path) == path:
                refuse(what + " " + repr(root) + " cannot be created" + fix)
            path = os.path.dirname(path)
            continue
        except OSError as exc:
            refuse(what + " " + repr(root) + ": " + (exc.strerror or str(exc)) + fix)
        break
    if not stat.S_ISDIR(info.st_mode):
        refuse(what + " " + repr(root) + (" is" if path == os.path.abspath(root) else " is under " + repr(path) + ", which is")
               + " not a directory" + fix)
    if not os.access(path, os.W_OK | os.X_OK):
        refuse(what + " " + repr(root) + " is not writable" + fix)


__netcheck_pex_root__()
del __netcheck_pex_root__

"""
"""Prepended to pex's own __main__.py, so it runs before pex's bootstrap (which would unpack the file)."""


def add_pex_root_guard(pyz: Path) -> None:
    """Rewrite `pyz` with PEX_ROOT_GUARD at the top of its __main__.py; the shebang line and every other entry
    are kept as they are."""
    data = pyz.read_bytes()
    with zipfile.ZipFile(pyz) as archive:
        entries = [(info, archive.read(info)) for info in archive.infolist()]
    shebang = data[: data.index(b"PK\x03\x04")]  # what precedes the first entry: pex's "#!/usr/bin/env python3"
    rebuilt = pyz.with_suffix(".tmp")
    with rebuilt.open("wb") as sink:
        sink.write(shebang)
        with zipfile.ZipFile(sink, "w") as archive:
            for info, content in entries:
                archive.writestr(info, PEX_ROOT_GUARD.encode() + content if info.filename == "__main__.py" else content)
    rebuilt.chmod(pyz.stat().st_mode)
    rebuilt.replace(pyz)


def check_contents(pyz: Path) -> list[str]:
    """The wheels inside the file; fails when a platform's psutil is missing (the file would not run there)."""
    with zipfile.ZipFile(pyz) as archive:
        info = json.loads(archive.read("PEX-INFO"))
    wheels = sorted(info["distributions"])
    psutil = [w for w in wheels if w.startswith("psutil-")]
    for needed in ("x86_64", "aarch64", "win_amd64"):
        if not any(needed in w for w in psutil):
            raise SystemExit(f"build_pyz: no psutil wheel for {needed} in {pyz}: {psutil}")
    if not any(w.startswith("netcheck_preflight-") for w in wheels):
        raise SystemExit(f"build_pyz: netcheck itself is missing from {pyz}")
    return wheels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--output", type=Path, default=ROOT / "dist" / "netcheck.pyz")
    parser.add_argument(
        "--python",
        action="append",
        metavar="3.N",
        help="only these CPython versions (repeatable; default 3.11 to 3.14): quicker builds for development",
    )
    args = parser.parse_args()
    pythons = [tuple(int(p) for p in v.split(".")) for v in args.python] if args.python else list(PYTHONS)
    output: Path = args.output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="build-pyz-") as scratch:
        work = Path(scratch)
        # netcheck's own wheel, built from a copy so the work tree gets no build/ or egg-info
        source = work / "src"
        skip = shutil.ignore_patterns(".git", "dist", "build", "*.egg-info", "__pycache__", ".*cache", ".venv", ".hypothesis")
        shutil.copytree(ROOT, source, ignore=skip)
        run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(work / "wheels"), str(source)])
        wheel = next((work / "wheels").glob("*.whl"))
        platform_args: list[str] = []
        for name, (platforms, markers) in PLATFORMS.items():
            for python in pythons:
                path = work / f"{name}-cp{python[0]}{python[1]}.json"
                path.write_text(json.dumps(complete_platform(python, platforms, markers), indent=1))
                platform_args += ["--complete-platform", str(path)]
        run(
            [
                sys.executable, "-m", "pex", str(wheel),
                "--entry-point", "netcheck.cli:run",
                *platform_args,
                "--python-shebang", "/usr/bin/env python3",
                "--output-file", str(output),
            ]
        )  # fmt: skip
    add_pex_root_guard(output)
    wheels = check_contents(output)
    took = time.monotonic() - started
    print(f"built {output} ({output.stat().st_size / 1e6:.1f} MB, {len(wheels)} wheels, {took:.0f} s):")
    for wheel_name in wheels:
        print(f"  {wheel_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
