#!/usr/bin/env bash
# Memory/time benchmark (not a test): peak RSS and wall time of `syswalk trace` for N socket()+close() pairs, one
# thread and four, this build beside BASELINE (another syswalk) in the same run; calls judged, events lost.
# Usage: [BASELINE=/path/to/syswalk] [MAX_BASELINE=N] bench/memory.sh [N…]   (default N: 10000 100000 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/loop" tests/c/loop.c
cc -O2 -pthread -o "$tmp/threads" tests/c/threads.c
sizes=("${@:-10000 100000 1000000}"); read -r -a sizes <<< "${sizes[*]}"
printf '%-10s %-9s %-9s %10s %12s %12s %12s %10s\n' build threads pairs wall_s peak_rss_MB calls_judged lost calls/s
run() { # build binary threads pairs
  local b=$2 t=$3 n=$4 target
  if [ "$t" = 1 ]; then target=("$tmp/loop" "$n" 0); else target=("$tmp/threads" "$t" $((n / t))); fi
  /usr/bin/time -f '%e %M' -o "$tmp/time" "$b" trace -q --format json -o "$tmp/r.json" -- "${target[@]}" >/dev/null 2>&1 || true
  read -r wall rss < "$tmp/time"
  read -r calls lost < <(python3 -c "import json; r=json.load(open('$tmp/r.json')); t=r.get('totals'); print(t['calls'] if t else len(r['calls']), r['stats']['lost'])")
  printf '%-10s %-9s %-9s %10s %12s %12s %12s %10s\n' "$1" "$t" "$n" "$wall" "$((rss / 1024))" "$calls" "$lost" "$(python3 -c "print(round($calls/$wall))")"
}
for n in "${sizes[@]}"; do
  for t in 1 4; do
    run this target/release/syswalk "$t" "$n"
    if [ -n "${BASELINE:-}" ] && [ "$n" -le "${MAX_BASELINE:-100000}" ]; then run baseline "$BASELINE" "$t" "$n"; fi
  done
done
