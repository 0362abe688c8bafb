#!/usr/bin/env bash
# Debian packages the test suite needs (SLURM for the launcher tests, Open MPI for the comparison
# benchmarks). Installs only what is missing, so a warm machine skips apt entirely.
set -euo pipefail
# SLURM and munge: the private two-node cluster of test/helpers/slurm-cluster.ts.
packages=(cmake g++ make libpmix2 munge slurm-client slurmctld slurmd openmpi-bin libopenmpi-dev)
# chromium: the headless browser that opens joule report's HTML in test/experiments/report.test.ts.
packages+=(chromium)
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
  # libpmix2 first: a slurmd started without it hangs `srun --mpi=pmix` steps for good.
  if printf '%s\n' "${missing[@]}" | grep -qx libpmix2; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libpmix2
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
