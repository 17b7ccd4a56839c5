#!/usr/bin/env bash
# BTF reader benchmark (not a test): src/machine/btf.rs, compiled into bench/btf as it is in the tree, loading the
# kernel's BTF (SYSWALK_BTF_PATH or /sys/kernel/btf/vmlinux) — each load the first of a fresh process, as in a run —
# and answering the lookups a run makes; median and minimum of RUNS. `libs` also times libbpf-rs's btf module and
# btf-rs alone. BASELINE=REV also times REV's src/machine/btf.rs in the same runs (alternately) and checks that both
# give the same layouts, signatures and enum names for the whole BTF.
# Usage: [BASELINE=REV] bench/btf.sh [RUNS] [libs]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}/bench-btf
features=()
if [ -n "${BASELINE:-}" ]; then
  mkdir -p target/bench-btf
  git show "$BASELINE:src/machine/btf.rs" > target/bench-btf/baseline_btf.rs
  features=(--features baseline)
fi
(cd bench/btf && CARGO_TARGET_DIR=$target cargo build --release --quiet "${features[@]}")
exec "$target/release/btf-bench" "$@"
