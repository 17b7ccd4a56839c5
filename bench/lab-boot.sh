#!/usr/bin/env bash
# Lab benchmark (not a test): boot → trivial command → power-off time per kernel, ROUNDS times each.
# Usage: bench/lab-boot.sh [ROUNDS] [KERNELS…]
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-5}; shift || true
KERNELS=("${@:-6.1 6.12}")
cargo build --release --quiet
for k in ${KERNELS[@]}; do
  for i in $(seq 1 "$R"); do
    target/release/syswalk lab run --kernel "$k" -- true 2>&1 | sed -n 's/.*exited 0 (\(.*\); boot to exit \(.*\) s)/\1 \2/p' | sed "s/^/$k /"
  done
done | awk '{ n[$1]++; s[$1]+=$3; if (!($1 in mn) || $3<mn[$1]) mn[$1]=$3; if ($3>mx[$1]) mx[$1]=$3; acc[$1]=$2 }
  END { for (k in n) printf "%-5s %s: %d boots, mean %.2f s, min %.2f s, max %.2f s\n", k, acc[k], n[k], s[k]/n[k], mn[k], mx[k] }'
