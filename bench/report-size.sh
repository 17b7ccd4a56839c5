#!/usr/bin/env bash
# Saved-report size benchmark (not a test): wall time and peak RSS of `render --format text`, `render --format svg`,
# `diff` (a report against itself) and `site --from` against the size of the report, to show they grow linearly.
# The reports are made from one real run: `trace --keep-calls 0` of a loop of socket()/close() calls, whose calls,
# claims and objects are then repeated with new sequence numbers (python) up to each size.
# Usage: [SIZES="1 2 4 8"] [BIN=target/release/syswalk] bench/report-size.sh
#   SIZES: multiples of the real run's report (default 1 4 16 40: 4 to 170 MB); BIN: the syswalk to measure (built with
#   `cargo build --release` when not given). Needs root (the trace).
set -euo pipefail
cd "$(dirname "$0")/.."
b=${BIN:-}
if [ -z "$b" ]; then cargo build --release --quiet; b=target/release/syswalk; fi
sizes=${SIZES:-"1 4 16 40"}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/loop" tests/c/loop.c
"$b" trace -q --keep-calls 0 --format json -o "$tmp/run.json" -- "$tmp/loop" 200 0 >/dev/null 2>&1 || true
[ -s "$tmp/run.json" ] || { echo "bench/report-size.sh: the trace wrote no report" >&2; exit 2; }
grow() { # IN OUT N: the report with its calls (and their claims, objects) repeated N times
  python3 - "$@" <<'PY'
import json, sys
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = json.load(open(src))
calls, claims, objs = r["calls"], r["claims"], r["objects"]
step = max([c["seq"] for c in calls] + [0]) + 1
nc, ncl, no = [], [], []
for k in range(n):
    for c in calls:
        c2 = dict(c); c2["seq"] = c["seq"] + k * step; nc.append(c2)
    for c in claims:
        c2 = dict(c)
        if c2.get("call") is not None: c2["call"] = c2["call"] + k * step
        ncl.append(c2)
    for o in objs:
        o2 = dict(o); o2["seen"] = [[s + k * step, w] for s, w in o["seen"]]; no.append(o2)
r["calls"], r["claims"], r["objects"] = nc, ncl, no
r["totals"]["calls_in_full"] = len(nc)
json.dump(r, open(out, "w"), indent=1)
PY
}
measure() { # label cmd...: one run, "wall s  peak RSS MB"
  local label=$1; shift
  /usr/bin/time -v -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" || { echo "$label: failed: $(head -3 "$tmp/err")"; return; }
  python3 - "$label" "$tmp/t" <<'PY'
import sys, re
t = open(sys.argv[2]).read()
wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+(?:\.\d+)?)$", t, re.M)
secs = float(wall.group(1) or 0) * 60 + float(wall.group(2))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
print(f"    {sys.argv[1]:<14} {secs:7.2f} s  {rss/1024:8.1f} MB")
PY
}
echo "syswalk: $("$b" --version 2>/dev/null || echo "$b") · $(nproc) CPUs · $(uname -r)"
echo "base report: $(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(len(r['calls']), 'calls,', len(r['claims']), 'claims')" "$tmp/run.json")"
for n in $sizes; do
  grow "$tmp/run.json" "$tmp/r.json" "$n"
  mb=$(du -b "$tmp/r.json" | awk '{printf "%.1f", $1/1048576}')
  calls=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['calls']))" "$tmp/r.json")
  echo "×$n: $mb MB, $calls calls"
  measure "render text" "$b" render "$tmp/r.json" --format text -o /dev/null
  measure "render svg" "$b" render "$tmp/r.json" --format svg -o /dev/null
  measure "diff" "$b" diff "$tmp/r.json" "$tmp/r.json" -o /dev/null
  rm -rf "$tmp/site"
  measure "site --from" "$b" site -q -o "$tmp/site" --from "$tmp/r.json"
done
