#!/usr/bin/env bash
# Installs everything syswalk needs on a fresh Debian (bookworm) machine of this kind. Idempotent.
# Build: clang (BPF C), libelf-dev, zlib1g-dev, pkg-config (vendored libbpf), linux-libc-dev/libc6-dev (headers
# whose constants the report cites). Tests: bpftool (independent enumeration of loaded programs), gcc (C targets).
# Lab: qemu-system-x86, busybox-static, kmod, xz-utils. Oracles and benchmarks: bpftrace. Pictures: librsvg2-bin
# (rsvg-convert: a second SVG reader, and the screenshots the tests leave in target/tmp/screenshots). Site tests:
# chromium-headless-shell (a real browser over the DevTools protocol) and python3 (the independent link checker).
# Real programs the host tests prove (tests/corpus/): nginx-light, redis-server + redis-tools, curl, socat, strace.
set -euo pipefail
need=(clang libelf-dev zlib1g-dev pkg-config linux-libc-dev libc6-dev bpftool gcc qemu-system-x86 busybox-static kmod bpftrace xz-utils librsvg2-bin chromium-headless-shell python3 nginx-light redis-server redis-tools curl socat strace)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then echo "setup: must run as root to install packages (try: sudo $0)" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: system packages present" >&2
fi
# tracefs/debugfs are used by `syswalk caps` to report what the kernel offers; mount them if the kernel has them.
if grep -qw tracefs /proc/filesystems && ! mountpoint -q /sys/kernel/tracing 2>/dev/null; then
  mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || echo "setup: could not mount tracefs (continuing)" >&2
fi
command -v cargo >/dev/null || { echo "setup: cargo not found; install the Rust toolchain (rustup) first" >&2; exit 1; }
