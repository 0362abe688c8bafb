#!/usr/bin/env bash
# `npm run bench`: every comparison benchmark in one go, each against its comparison point in the same
# run, printed as ratios: start-up vs mpirun, allreduce vs Open MPI (shm and tcp), casts vs memcpy and a
# JavaScript loop, and the power sampler's overhead. A benchmark that fails (wrong results, Open MPI
# missing) is named at the end and makes the exit status non-zero; the others still run.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=()
bench() {
  local name=$1
  shift
  echo
  "$@" || failed+=("$name")
}
echo "# joule benchmarks, $(date -u +%FT%TZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
bench startup node bench/startup/run.js --reps 10
bench allreduce-vs-mpi node bench/mpi/allreduce-vs-mpi.js -b 8 -e 128M -f 4 -n 50 -w 10
bench cast node bin/joule.js bench cast
bench hierarchical node bench/hierarchical/run.js
bench sampler env JOULE_NVML_LIBRARY=build/test-fakes/libnvidia-ml.so.1 node bin/joule.js bench sampler --gpus 0,1
if [ ${#failed[@]} -gt 0 ]; then
  echo "# failed: ${failed[*]}" >&2
  exit 1
fi
