#!/usr/bin/env bash
# Benchmark (not a test): connections per second of a loopback connect → accept4 → write/read both ways → close
# loop (tests/c/connloop.c), side by side in one run: untraced; syswalk prove (every call of the connection's life
# judged); bpftrace recording the same calls' arguments and returns; strace. On this host (tier C: the syscall
# boundary) and in one lab boot of KERNEL (tier A: fentry/fexit on the life's function chain; bpftrace with
# kfunc/kretfunc on the same functions). Usage: [ROUNDS=3] bench/conn.sh [N_HOST] [N_LAB] [KERNEL]
set -euo pipefail
cd "$(dirname "$0")/.."
NH=${1:-2000}; NL=${2:-150}; K=${3:-6.12}
ROUNDS=${ROUNDS:-3}
cargo build --release --quiet
out=$(mktemp -d /var/tmp/syswalk-conn.XXXXXX)
trap 'rm -rf "$out"' EXIT
cc -O2 -o "$out/connloop" tests/c/connloop.c
sw=$PWD/target/release/syswalk
cat > "$out/modes.sh" <<'MODES'
# Sourced with L (the loop), N, SW, R, TIER (C or A) set. Prints one line per mode: best and all rounds.
SYS="socket connect accept4 read write close"
bt_sys=""
for s in $SYS; do
  bt_sys="$bt_sys tracepoint:syscalls:sys_enter_$s /pid == cpid/ { printf(\"E $s %d %lu %lx %lx %lx\\n\", tid, nsecs, args->$( [ $s = socket ] && echo family || echo fd ), (uint64)0, (uint64)0); }"
  bt_sys="$bt_sys tracepoint:syscalls:sys_exit_$s /pid == cpid/ { printf(\"X $s %d %lu %ld\\n\", tid, nsecs, args->ret); }"
done
FUNCS="__sys_socket sock_alloc sock_alloc_file fd_install __sys_connect inet_stream_connect tcp_v4_connect __sys_accept4 inet_accept inet_csk_accept tcp_sendmsg tcp_recvmsg sock_close __sock_release tcp_close"
rec=""
if [ "$TIER" = A ]; then
  for f in $FUNCS; do
    lv=$(bpftrace -lv "kfunc:$f" 2>/dev/null) || continue
    ps=$(echo "$lv" | tail -n +2 | grep -v ' retval$' | grep -v '\*\*' | awk '{print $NF}' | tr -d '*')
    fmt=""; vals=""; for p in $ps; do fmt="$fmt %lx"; vals="$vals, (uint64)args->$p"; done
    rfmt=""; rval=""; if echo "$lv" | grep -q ' retval$'; then rfmt=" %lx"; rval=", (uint64)retval"; fi
    rec="$rec kfunc:$f /pid == cpid/ { printf(\"E $f %d %lu$fmt\\n\", tid, nsecs$vals); }"
    rec="$rec kretfunc:$f /pid == cpid/ { printf(\"X $f %d %lu$rfmt$fmt\\n\", tid, nsecs$rval$vals); }"
  done
fi
rate() { awk 'NF==3 && $1==N {print $3}' N=$N; }
declare -A best all
keep() { all[$1]="${all[$1]:-} $2"; awk -v a="$2" -v b="${best[$1]:-0}" 'BEGIN{exit !(a>b)}' && best[$1]=$2 || true; }
attach=none; [ "$TIER" = A ] && attach=fentry
for r in $(seq 1 $R); do
  keep untraced "$($L $N | rate)"
  keep syswalk "$($SW prove -q --attach $attach --format summary -o /tmp/conn-s.txt -- $L $N | rate)"
  keep bt_syscalls "$(bpftrace -q -e "$bt_sys" -c "$L $N" 2>/dev/null | rate)"
  [ -z "$rec" ] || keep bt_chain "$(bpftrace -q -e "$rec" -c "$L $N" 2>/dev/null | rate)"
  keep strace "$(strace -f -qq -e trace=socket,connect,accept4,read,write,close -o /tmp/conn-st.txt $L $N | rate)"
done
echo "kernel $(uname -r) · tier $TIER · N=$N connections · best of $R rounds (all rounds in brackets)"
for m in untraced syswalk bt_syscalls ${rec:+bt_chain} strace; do
  printf "%-12s conn/s %8s   [%s ]\n" $m "${best[$m]}" "${all[$m]}"
done
grep -h "^calls\|^session\|^claims\|proved" /tmp/conn-s.txt | head -4 | sed 's/^/syswalk summary: /' || true
awk -v u=${best[untraced]} -v s=${best[syswalk]} -v b=${best[bt_syscalls]} -v c=${best[bt_chain]:-0} -v t=${best[strace]} 'BEGIN {
  printf "ratios (untraced/traced; 1.0 = free): syswalk %.2fx · bpftrace syscall tracepoints recording %.2fx", u/s, u/b;
  if (c > 0) printf " · bpftrace kfunc/kretfunc recording the chain %.2fx", u/c;
  printf " · strace %.2fx\n", u/t;
  printf "added cost per connection (µs): syswalk %.1f · bpftrace syscalls %.1f", 1e6/s-1e6/u, 1e6/b-1e6/u;
  if (c > 0) printf " · bpftrace chain %.1f", 1e6/c-1e6/u;
  printf " · strace %.1f\n", 1e6/t-1e6/u }'
MODES
echo "== host (tier C)"
( L=$out/connloop N=$NH SW=$sw R=$ROUNDS TIER=C; source "$out/modes.sh" )
echo "== lab $K (tier A)"
"$sw" lab run --kernel "$K" --timeout 1800 -- bash -c "L=$out/connloop N=$NL SW=$sw R=$ROUNDS TIER=A; source $out/modes.sh"
