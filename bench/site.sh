#!/usr/bin/env bash
# Site build benchmark (not a test): wall time and peak RSS of `syswalk site` from three evidence files, beside
# rendering the same three files as Markdown with `syswalk render` (what a user would do without the site), in the
# same run, release build, median of REPS runs each.
# Usage: [REPS=N] bench/site.sh [A.json B.json C.json]
#   default: target/tmp/course-evidence/{host,6.1,6.12}.json (left there by the lab test of the course, with the
#   report inside each lesson) — `lesson --format json` files, or prove/trace reports.
set -euo pipefail
cd "$(dirname "$0")/.."
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  d=target/tmp/course-evidence; files=("$d/host.json" "$d/6.1.json" "$d/6.12.json")
fi
for f in "${files[@]}"; do [ -f "$f" ] || { echo "bench/site.sh: no $f (run the lab test of the course, or give files)" >&2; exit 2; }; done
cargo build --release --quiet
b=target/release/syswalk
reps=${REPS:-9}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
from=(); for f in "${files[@]}"; do from+=(--from "$f"); done
sizes=$(du -cb "${files[@]}" | tail -1 | cut -f1)
echo "evidence: ${#files[@]} files, $((sizes / 1024)) KB: ${files[*]}"
measure() { # label cmd...
  local label=$1; shift
  : > "$tmp/t"
  for _ in $(seq "$reps"); do
    /usr/bin/time -f '%e %M' -a -o "$tmp/t" "$@" >/dev/null 2>&1
  done
  python3 - "$label" "$tmp/t" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[2]) if l.strip() and l.split()[0][0].isdigit()]
wall = statistics.median(float(r[0]) for r in rows); rss = max(int(r[1]) for r in rows)
print(f"{sys.argv[1]:<34} median wall {wall*1000:8.0f} ms   peak RSS {rss/1024:6.1f} MB   ({len(rows)} runs)")
PY
}
measure "syswalk site (3 files → site)" "$b" site -q -o "$tmp/site" "${from[@]}"
echo "  $(ls "$tmp/site" | wc -l) files, $(du -sb "$tmp/site" | cut -f1 | awk '{printf "%d KB", $1/1024}')"
# Without the site: each run's report as Markdown, and the first two compared with `diff` (a lesson file's report
# is taken out of it first, outside the timing).
reports=()
for f in "${files[@]}"; do
  r="$tmp/$(basename "$f").report.json"
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); json.dump(d.get('report', d), open(sys.argv[2],'w'))" "$f" "$r"
  reports+=("$r")
done
measure "render md ×3 + diff (no site)" bash -c 'b=$0; for r in "$@"; do "$b" render "$r" --format md -o /dev/null; done; "$b" diff "$1" "$2" -o /dev/null' "$b" "${reports[@]}"
