#!/usr/bin/env bash
# `vzero demo` from an empty work folder with the native kernels over OpenBLAS and with an addon
# built without OpenBLAS (what a machine without libopenblas-dev builds: the built-in GEMM),
# alternately for ROUNDS rounds. Prints wall and CPU minutes and the load per run.
#   tools/bench/paired-demo.sh [ROUNDS] [WORKDIR]        (from the workspace root)
# The no-OpenBLAS addon is built in WORKDIR (default /tmp/vzero-paired-demo) from this tree's
# sources with VZERO_NATIVE_NO_OPENBLAS=1 and loaded through VZERO_NATIVE_ADDON, so the
# package's own build stays as it is. Demo folders go to WORKDIR/demo-{openblas,builtin}.
set -euo pipefail
rounds=${1:-1}
work=${2:-/tmp/vzero-paired-demo}
native=packages/tfjs-native
mkdir -p "$work/addon/src"
cp -r "$native/binding.gyp" "$native/scripts" "$work/addon/"
cp -r "$native/src/native" "$work/addon/src/"
VZERO_NATIVE_NO_OPENBLAS=1 node "$work/addon/scripts/build-addon.mjs" --force >/dev/null
noblas="$work/addon/build/Release/tfjs_native.node"
if ldd "$noblas" | grep -q openblas; then
  echo "paired-demo: $noblas links OpenBLAS" >&2
  exit 1
fi
load() { cut -d' ' -f1-3 /proc/loadavg; }
run() { # label, then env assignments
  local label=$1
  shift
  rm -rf "$work/demo-$label"
  local l0 t0 t1
  l0=$(load)
  t0=$(date +%s.%N)
  env "$@" /usr/bin/time -f '%U %S' -o "$work/time-$label" pnpm -s vzero demo --out "$work/demo-$label" \
    >"$work/log-$label.txt" 2>&1
  t1=$(date +%s.%N)
  read -r user sys <"$work/time-$label"
  echo "$label: wall $(echo "($t1 - $t0) / 60" | bc -l | xargs printf '%.2f') min," \
    "CPU $(echo "($user + $sys) / 60" | bc -l | xargs printf '%.2f') min [load $l0 -> $(load)]" \
    "$(grep -m1 -o '(OpenBLAS [^,]*\|(built-in GEMM [^,]*' "$work/log-$label.txt" || true)"
}
for r in $(seq 1 "$rounds"); do
  echo "round $r"
  run openblas VZERO_NATIVE_BLAS=auto
  run builtin VZERO_NATIVE_ADDON="$noblas"
done
