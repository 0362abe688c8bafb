#!/usr/bin/env bash
# Debian packages the test suite needs (SLURM for the launcher tests, Open MPI for the comparison
# benchmarks). Installs only what is missing, so a warm machine skips apt entirely.
set -euo pipefail
packages=(cmake g++ make)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run this script as root to install them)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
