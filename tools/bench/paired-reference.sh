#!/usr/bin/env bash
# The reference training step, tfjs (wasm + native kernels) and PyTorch alternately, for ROUNDS
# rounds, with glibc's mmap/trim thresholds raised for both (what `pnpm bench --tune-malloc`
# sets). On a shared machine the load moves between runs; alternating short runs and comparing
# each pair is fairer than one long run per stack. Prints one line per run with the load.
#   tools/bench/paired-reference.sh [ROUNDS] [STEPS]        (from the workspace root)
# OPENBLAS_CORETYPE, when set, applies to both (both use the system OpenBLAS). Threads:
# VZERO_NATIVE_THREADS for tfjs's native kernels, TORCH_THREADS for PyTorch (default 2 each).
set -euo pipefail
rounds=${1:-3}
steps=${2:-3}
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296
load() { cut -d' ' -f1-3 /proc/loadavg; }
for r in $(seq 1 "$rounds"); do
  l0=$(load)
  t=$(npx tsx packages/tfjs-native/bench/main.ts --backend wasm --workload --no-sgemm --steps "$steps" |
    grep 'ms/step' | sed 's/^ *//')
  echo "round $r tfjs ${VZERO_NATIVE_THREADS:-2} threads    [load $l0 -> $(load)] $t"
  l0=$(load)
  p=$(/usr/bin/python3 tools/bench/torch/reference.py --reps "$steps" --no-decode --threads "${TORCH_THREADS:-2}" |
    /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.0f ms/step (timed %s)" % (d["stepMedianMs"], " ".join("%.0f" % x for x in d["stepMs"])))')
  echo "round $r pytorch ${TORCH_THREADS:-2} threads [load $l0 -> $(load)] $p"
done
