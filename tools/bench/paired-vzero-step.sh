#!/usr/bin/env bash
# The default V-Zero training step, the toolkit (wasm + native kernels, its own trainer) and the
# PyTorch peer (tools/bench/torch/vzero_step.py), alternately for ROUNDS rounds at 1 and 2
# threads each, STEPS steps per run (the first warms up). Both get glibc's raised mmap/trim
# thresholds (what `pnpm bench --tune-malloc` sets). PyTorch gets OMP_WAIT_POLICY=PASSIVE and a
# single-threaded OpenBLAS under its own intra-op threads, as the addon runs OpenBLAS under its
# pool with passive waits: with OpenMP's default spinning, PyTorch's 2-thread step took 4.6-11.7 s
# instead of ~0.4 s on this shared 2-core machine. Prints one line per run: median ms per stage
# and the load.
#   tools/bench/paired-vzero-step.sh [ROUNDS] [STEPS] [WORKDIR]     (from the workspace root)
# First exports the step and checks the peer against it (vzero_step.py --check must pass).
set -euo pipefail
rounds=${1:-2}
steps=${2:-6}
work=${3:-/tmp/vzero-peer}
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296
npx tsx tools/bench/src/vzero-peer.ts export "$work" >/dev/null
/usr/bin/python3 tools/bench/torch/vzero_step.py "$work/step.json" --check
load() { cut -d' ' -f1-3 /proc/loadavg; }
stages() {
  /usr/bin/python3 -c 'import json,sys
d=json.loads(sys.stdin.read().strip().splitlines()[-1]); m=d["medianMs"]
s=sum(m[k] for k in ("rollout","teacher","gate","update"))
print("rollout %.0f teacher %.0f gate %.1f update %.0f | sum %.0f ms (totals %s)" % (m["rollout"], m["teacher"], m["gate"], m["update"], s, " ".join("%.0f" % t for t in d["totalMs"])))'
}
for r in $(seq 1 "$rounds"); do
  for t in 1 2; do
    l0=$(load)
    out=$(VZERO_NATIVE_THREADS=$t npx tsx tools/bench/src/vzero-peer.ts time "$work/time" "$steps" | stages)
    echo "round $r tfjs    $t thread(s) [load $l0 -> $(load)] $out"
    l0=$(load)
    out=$(OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/bench/torch/vzero_step.py \
      "$work/step.json" --steps "$steps" --threads "$t" | stages)
    echo "round $r pytorch $t thread(s) [load $l0 -> $(load)] $out"
  done
done
