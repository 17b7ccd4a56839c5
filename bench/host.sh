#!/usr/bin/env bash
# Host benchmark (not a test): socket()+close() loop, untraced vs traced by `syswalk prove`, side by side in one run.
# BASELINE=/path/to/another/syswalk traces the same loop in the same rounds, to compare two builds.
# Usage: [BASELINE=…] bench/host.sh [ITERATIONS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
ROUNDS=${2:-3}
cargo build --release --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/loop" tests/c/loop.c
printf '%-8s %-10s %12s %12s %10s %8s %10s\n' round mode "iter/s" "events/s" events lost attach_ms
for r in $(seq 1 "$ROUNDS"); do
  u=$("$tmp/loop" "$N" | awk '{print $3}')
  printf '%-8s %-10s %12s %12s %10s %8s %10s\n' "$r" untraced "$u" - - - -
  out=$(target/release/syswalk prove -q --format json -o "$tmp/r.json" -- "$tmp/loop" "$N")
  t=$(echo "$out" | awk '{print $3}')
  read -r ev lost att ms < <(python3 -c "import json,sys; r=json.load(open('$tmp/r.json')); s=r['stats']; print(s['events'], s['lost'], round(s['attach_ms'],1), s['traced_ms'])")
  eps=$(python3 -c "print(round($ev/($ms/1000)))")
  printf '%-8s %-10s %12s %12s %10s %8s %10s\n' "$r" traced "$t" "$eps" "$ev" "$lost" "$att"
  python3 -c "print('         ratio traced/untraced = %.3f' % ($t/$u))"
  if [ -n "${BASELINE:-}" ]; then
    t0=$("$BASELINE" prove -q --format json -o "$tmp/r0.json" -- "$tmp/loop" "$N" | awk '{print $3}')
    printf '%-8s %-10s %12s\n' "$r" baseline "$t0"
    python3 -c "print('         ratio this build/baseline (traced iter/s) = %.3f' % ($t/$t0))"
  fi
done
