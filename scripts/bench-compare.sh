#!/usr/bin/env bash
# vtrack vs Kafka Streams on the same machine and broker: runs scripts/bench-e2e.sh (`vtrack run`)
# and scripts/bench-kstreams.sh (bench/kstreams) back to back on the same generated workload
# (same --packages, seed and start day, each in fresh topics) and prints both figures.
# Usage: scripts/bench-compare.sh [PACKAGES]   (default 50000; needs scripts/kafka.sh start)
# KS_THREADS, KS_JAVA_OPTS, KS_TIMEOUT are passed on to bench-kstreams.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
packages="${1:-50000}"
dir="$(mktemp -d)"
echo "== vtrack run ($packages packages)"
scripts/bench-e2e.sh "$packages" 2>&1 | tee "$dir/vtrack.txt"
echo "== Kafka Streams ($packages packages)"
scripts/bench-kstreams.sh "$packages" 2>&1 | tee "$dir/kstreams.txt"

rate() { grep -o '[0-9]* input events/s end to end' "$1" | head -n 1 | grep -o '^[0-9]*' || echo "?"; }
wall() { grep -o 'wall: [0-9.]* s' "$1" | head -n 1 | grep -o '[0-9.]*' || echo "?"; }
events() { grep -o '[0-9]* input events;' "$1" | head -n 1 | grep -o '^[0-9]*' || echo "?"; }
cpu() { grep -o 'cpu: [0-9.]* s' "$1" | head -n 1 | grep -o '[0-9.]*' || echo "?"; }
per_wall() { awk -v n="$1" -v s="$2" 'BEGIN {if (s + 0 > 0 && n + 0 > 0) printf "%.0f", n / s; else print "?"}'; }
echo
echo "== vtrack vs Kafka Streams: $packages packages, $(nproc) cores, exactly once, commit interval 100 ms"
printf '%-14s %12s %22s %8s %16s %8s %18s\n' "" "input events" "events/s (last record)" "wall s" "events/s (wall)" "CPU s" "events per CPU s"
for name in vtrack kstreams; do
  f="$dir/$name.txt"
  n=$(events "$f"); w=$(wall "$f")
  label=$([ "$name" = vtrack ] && echo "vtrack run" || echo "Kafka Streams")
  c=$(cpu "$f")
  printf '%-14s %12s %22s %8s %16s %8s %18s\n' "$label" "$n" "$(rate "$f")" "$w" "$(per_wall "$n" "$w")" "$c" "$(per_wall "$n" "$c")"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine slows both)"
echo "(outputs in $dir)"
