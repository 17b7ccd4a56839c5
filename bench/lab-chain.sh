#!/usr/bin/env bash
# Lab benchmark (not a test): in ONE VM run per kernel, a socket()+close() loop untraced, traced by syswalk tier A
# (fentry/fexit), tier B (kprobe/kretprobe), and by bpftrace with equivalent kfunc/kretfunc probes on the same
# functions. Prints iterations/s and ratios, plus launch→attached times. Usage: bench/lab-chain.sh [N] [KERNELS…]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}; shift || true
KERNELS=("${@:-6.1}")
cargo build --release --quiet
out=$(mktemp -d /var/tmp/syswalk-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT
cc -O2 -o "$out/loop" tests/c/loop.c
sw=$PWD/target/release/syswalk
cat > "$out/inside.sh" <<INSIDE
set -e
L=$out/loop; N=$N; SW=$sw
FUNCS="__sys_socket __sock_create security_socket_create sock_alloc inet_create sk_alloc sock_init_data security_socket_post_create get_unused_fd_flags sock_alloc_file fd_install"
probes=""; for f in \$FUNCS; do probes="\$probes kfunc:\$f,kretfunc:\$f,"; done; probes=\${probes%,}
run() { "\$@" | awk '{print \$3}'; }
u1=\$(run \$L \$N)
a=\$(\$SW prove -q --attach fentry --format summary -o /tmp/a.txt -- \$L \$N | awk '{print \$3}')
b=\$(\$SW prove -q --attach kprobe --format summary -o /tmp/b.txt -- \$L \$N | awk '{print \$3}')
a8=\$(\$SW prove -q --attach fentry --chain-calls 8 --format summary -o /tmp/a8.txt -- \$L \$N | awk '{print \$3}')
b8=\$(\$SW prove -q --attach kprobe --chain-calls 8 --format summary -o /tmp/b8.txt -- \$L \$N | awk '{print \$3}')
c=\$(\$SW prove -q --attach none --format summary -o /tmp/c.txt -- \$L \$N | awk '{print \$3}')
bt=\$(bpftrace -q -e "\$probes /pid == cpid/ { @[probe] = count(); }" -c "\$L \$N" 2>/dev/null | awk 'NF==3 && \$1==N {print \$3}' N=\$N)
u2=\$(run \$L \$N)
t0=\$(date +%s%N); bpftrace -q -e "\$probes { } BEGIN { exit(); }" >/dev/null 2>&1; t1=\$(date +%s%N)
echo "kernel \$(uname -r) · N=\$N"
echo "untraced(before)  iter/s \$u1"
echo "untraced(after)   iter/s \$u2"
echo "syswalk tier A    iter/s \$a"
echo "syswalk tier B    iter/s \$b"
echo "syswalk A budget8 iter/s \$a8   (--chain-calls 8: 8 calls in full, the rest counted in the kernel)"
echo "syswalk B budget8 iter/s \$b8"
echo "syswalk tier C    iter/s \$c   (--attach none: the syscall boundary alone)"
echo "bpftrace kfunc    iter/s \$bt"
grep -h "session" /tmp/a.txt | sed 's/^/tier A: /'
grep -h "session" /tmp/b.txt | sed 's/^/tier B: /'
echo "bpftrace start→attached→exit for the same 22 probes: \$(( (t1 - t0) / 1000000 )) ms"
awk -v u1=\$u1 -v u2=\$u2 -v a=\$a -v b=\$b -v bt=\$bt -v a8=\$a8 -v b8=\$b8 -v c=\$c 'BEGIN { u=(u1+u2)/2; printf "ratios (untraced/traced; 1.0 = free): tier A %.2fx · tier B %.2fx · A budget8 %.2fx · B budget8 %.2fx · tier C %.2fx · bpftrace %.2fx\n", u/a, u/b, u/a8, u/b8, u/c, u/bt;
  printf "added cost per call (µs): tier A %.1f · tier B %.1f · bpftrace %.1f\n", 1e6/a-1e6/u, 1e6/b-1e6/u, 1e6/bt-1e6/u }'
INSIDE
for k in "${KERNELS[@]}"; do
  "$sw" lab run --kernel "$k" --timeout 1800 -- bash "$out/inside.sh"
done
