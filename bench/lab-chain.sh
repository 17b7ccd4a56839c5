#!/usr/bin/env bash
# Lab benchmark (not a test): in ONE VM run per kernel, a socket()+close() loop untraced, traced by syswalk tier A
# (fentry/fexit), tier B (kprobe/kretprobe), and by bpftrace with equivalent kfunc/kretfunc probes on the same
# functions. Prints iterations/s and ratios, plus launch→attached times. Floors beside them: the same kfunc/kretfunc
# probes with empty bodies (what the trampolines alone cost) and empty raw_syscalls tracepoints (what tier C's
# attach points alone cost: every syscall then takes the kernel's slow path). --bpf-stats runs show the time spent
# inside syswalk's own programs. BASELINE=/path/to/another/syswalk adds its tier A and tier B (modes A0, B0) to every
# round, to compare two builds in the same boot. Usage: [ROUNDS=3] [BASELINE=…] bench/lab-chain.sh [N] [KERNELS…]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-3000}; shift || true
ROUNDS=${ROUNDS:-3}
KERNELS=("${@:-6.1}")
cargo build --release --quiet
out=$(mktemp -d /var/tmp/syswalk-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT
cc -O2 -o "$out/loop" tests/c/loop.c
sw=$PWD/target/release/syswalk
cat > "$out/inside.sh" <<INSIDE
set -e
L=$out/loop; N=$N; SW=$sw; R=$ROUNDS; SW0=${BASELINE:-}
FUNCS="__sys_socket __sock_create security_socket_create sock_alloc inet_create sk_alloc sock_init_data security_socket_post_create get_unused_fd_flags sock_alloc_file fd_install"
probes=""; for f in \$FUNCS; do probes="\$probes kfunc:\$f,kretfunc:\$f,"; done; probes=\${probes%,}
kprobes=""; for f in \$FUNCS; do kprobes="\$kprobes kprobe:\$f,kretprobe:\$f,"; done; kprobes=\${kprobes%,}
# bpftrace doing per call what syswalk's chain records: at entry and at exit the thread, a timestamp and every
# argument (names from BTF via bpftrace -lv), at exit the return value too, each as an event to user space.
# Pointer-to-pointer arguments are left out (bpftrace 0.17's kretfunc cannot read them: "arg4 type PTR is not a struct").
rec=""
for f in \$FUNCS; do
  lv=\$(bpftrace -lv "kfunc:\$f")
  ps=\$(echo "\$lv" | tail -n +2 | grep -v ' retval\$' | grep -v '\*\*' | awk '{print \$NF}' | tr -d '*')
  fmt=""; vals=""; for p in \$ps; do fmt="\$fmt %lx"; vals="\$vals, (uint64)args->\$p"; done
  rfmt=""; rval=""; if echo "\$lv" | grep -q ' retval\$'; then rfmt=" %lx"; rval=", (uint64)retval"; fi
  rec="\$rec kfunc:\$f /pid == cpid/ { printf(\"E \$f %d %lu\$fmt\\n\", tid, nsecs\$vals); }"
  rec="\$rec kretfunc:\$f /pid == cpid/ { printf(\"X \$f %d %lu\$rfmt\$fmt\\n\", tid, nsecs\$rval\$vals); }"
done
sw() { \$SW prove -q "\$@" --format summary -o /tmp/s.txt -- \$L \$N | awk '{print \$3}'; }
sw0() { \$SW0 prove -q "\$@" --format summary -o /tmp/s0.txt -- \$L \$N | awk '{print \$3}'; }
# Rounds interleave the modes; each mode's best round is reported (TCG speed drifts by ±30 % within one boot).
declare -A best all
keep() { all[\$1]="\${all[\$1]} \$2"; awk -v a="\$2" -v b="\${best[\$1]:-0}" 'BEGIN{exit !(a>b)}' && best[\$1]=\$2 || true; }
for r in \$(seq 1 \$R); do
  keep untraced "\$(\$L \$((N * 10)) | awk '{print \$3}')"
  keep A "\$(sw --attach fentry)"
  [ -z "\$SW0" ] || keep A0 "\$(sw0 --attach fentry)"
  keep B "\$(sw --attach kprobe)"
  [ -z "\$SW0" ] || keep B0 "\$(sw0 --attach kprobe)"
  keep A8 "\$(sw --attach fentry --chain-calls 8)"
  keep B8 "\$(sw --attach kprobe --chain-calls 8)"
  keep C "\$(sw --attach none)"
  keep bpftrace "\$(bpftrace -q -e "\$probes /pid == cpid/ { @[probe] = count(); }" -c "\$L \$N" 2>/dev/null | awk 'NF==3 && \$1==N {print \$3}' N=\$N)"
  keep btrec "\$(bpftrace -q -e "\$rec" -c "\$L \$N" 2>/dev/null | awk 'NF==3 && \$1==N {print \$3}' N=\$N)"
  keep empty "\$(bpftrace -q -e "\$probes { }" -c "\$L \$N" 2>/dev/null | awk 'NF==3 && \$1==N {print \$3}' N=\$N)"
  keep kpempty "\$(bpftrace -q -e "\$kprobes { }" -c "\$L \$N" 2>/dev/null | awk 'NF==3 && \$1==N {print \$3}' N=\$N)"
  keep tpempty "\$(bpftrace -q -e "tracepoint:raw_syscalls:sys_enter,tracepoint:raw_syscalls:sys_exit { }" -c "\$L \$N" 2>/dev/null | awk 'NF==3 && \$1==N {print \$3}' N=\$N)"
done
# Where tier A's time goes: the kernel's own run-time statistics of each program (one more run, --bpf-stats).
for m in fentry kprobe none; do
  \$SW prove -q --attach \$m --bpf-stats --format summary -o /tmp/s-\$m.txt -- \$L \$N >/dev/null
  awk -v m=\$m -v n=\$N '/^bpf cost/ { printf "inside the programs, %-6s: %s runs, %.1f µs per iteration (%s ns per run)\\n", m, \$3, \$7 * 1000 / n, \$13 }' /tmp/s-\$m.txt
done
t0=\$(date +%s%N); bpftrace -q -e "\$probes { } BEGIN { exit(); }" >/dev/null 2>&1; t1=\$(date +%s%N)
t2=\$(date +%s%N); \$SW prove -q --attach fentry --format summary -o /tmp/s.txt >/dev/null 2>&1; t3=\$(date +%s%N)
echo "kernel \$(uname -r) · N=\$N (untraced: 10×N) · best of \$R rounds (all rounds in brackets)"
for m in untraced A \${SW0:+A0} B \${SW0:+B0} A8 B8 C bpftrace btrec empty kpempty tpempty; do
  printf "%-9s iter/s %8s   [%s ]\n" \$m "\${best[\$m]}" "\${all[\$m]}"
done
grep -h "session" /tmp/s.txt | sed 's/^/last run: /' || true
l2a=\$(awk '/^session/ { for (i = 1; i < NF; i++) if (\$i == "launch_to_attached_ms") print \$(i + 1) }' /tmp/s.txt)
echo "bpftrace start→attached→exit for the same 22 probes: \$(( (t1 - t0) / 1000000 )) ms; syswalk prove (built-in target, default chain): launch→attached \$l2a ms, launch→report \$(( (t3 - t2) / 1000000 )) ms"
awk -v u=\${best[untraced]} -v a=\${best[A]} -v b=\${best[B]} -v bt=\${best[bpftrace]} -v a8=\${best[A8]} -v b8=\${best[B8]} -v c=\${best[C]} -v em=\${best[empty]} -v tp=\${best[tpempty]} -v kp=\${best[kpempty]} -v a0=\${best[A0]:-0} -v b0=\${best[B0]:-0} -v br=\${best[btrec]:-0} 'BEGIN {
  if (br > 0) printf "bpftrace recording arguments, returns and timestamps per call (printf): %.2fx untraced, +%.1f µs per call\n", u/br, 1e6/br-1e6/u;
  if (a0 > 0) printf "this build vs BASELINE, tier A: %.2fx vs %.2fx untraced (added cost %.1f vs %.1f µs per call)\n", u/a, u/a0, 1e6/a-1e6/u, 1e6/a0-1e6/u;
  if (b0 > 0) printf "this build vs BASELINE, tier B: %.2fx vs %.2fx untraced (added cost %.1f vs %.1f µs per call)\n", u/b, u/b0, 1e6/b-1e6/u, 1e6/b0-1e6/u;
  printf "ratios (untraced/traced; 1.0 = free): tier A %.2fx · tier B %.2fx · A budget8 %.2fx · B budget8 %.2fx · tier C %.2fx · bpftrace %.2fx · empty trampolines %.2fx · empty kprobes %.2fx · empty syscall tracepoints %.2fx\n", u/a, u/b, u/a8, u/b8, u/c, u/bt, u/em, u/kp, u/tp;
  printf "added cost per call (µs): tier A %.1f · tier B %.1f · A budget8 %.1f · B budget8 %.1f · tier C %.1f · bpftrace %.1f · empty trampolines %.1f · empty kprobes %.1f · empty syscall tracepoints %.1f\n", 1e6/a-1e6/u, 1e6/b-1e6/u, 1e6/a8-1e6/u, 1e6/b8-1e6/u, 1e6/c-1e6/u, 1e6/bt-1e6/u, 1e6/em-1e6/u, 1e6/kp-1e6/u, 1e6/tp-1e6/u }'
INSIDE
for k in "${KERNELS[@]}"; do
  "$sw" lab run --kernel "$k" --timeout 1800 -- bash "$out/inside.sh"
done
