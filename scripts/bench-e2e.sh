#!/usr/bin/env bash
# End-to-end benchmark on the real broker: a generated workload through `vtrack run`.
# Reports events/s (input events / time until the group has no lag left) and the time a
# restarted instance takes to restore its state.
# Usage: scripts/bench-e2e.sh [PACKAGES]   (default 50000; needs scripts/kafka.sh start;
# KEEP_TOPICS=1 keeps the run's topics, deleted at the end otherwise)
set -euo pipefail
cd "$(dirname "$0")/.."
packages="${1:-50000}"
app="bench-$(date +%s)"
dir="$(mktemp -d)"
# A run at 300,000 packages leaves gigabytes of topics on the broker: delete them at the end
# (KEEP_TOPICS=1 keeps them to look at).
cleanup() {
  if [ "${KEEP_TOPICS:-0}" != 1 ]; then
    scripts/kafka.sh topics --delete --topic "$app.*" > /dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
cat > "$dir/vtrack.toml" <<TOML
[kafka]
bootstrap_servers = "$(scripts/kafka.sh bootstrap)"
application_id = "$app"
instance_id = "bench-0"
confirmations_topic = "$app-confirmations"
scans_topic = "$app-scans"
verdicts_topic = "$app-verdicts"
seller_vtr_topic = "$app-seller-vtr"
late_confirmations_topic = "$app-late-confirmations"
dead_letter_topic = "$app-dead-letters"
late_events_topic = "$app-late-events"
internal_partitions = 4
# No wall-clock advance of idle inputs: once the backlog is handled the group goes quiet, so
# "no lag left" marks its end (with it, input partitions idle for 30 s would keep announcing
# their time and the internal topics would never be empty).
idle_source_after = "0s"
[http]
bind = "127.0.0.1:0"
TOML
cargo build --release --quiet
bin=target/release/vtrack
start=$(date -u -d '60 days ago' +%Y-%m-%dT00:00:00Z)
"$bin" generate --kafka --config "$dir/vtrack.toml" --packages "$packages" --start "$start" > "$dir/generate.txt"
head -n 1 "$dir/generate.txt"
events=$(grep -o 'produced [0-9]* confirmations' "$dir/generate.txt" | grep -o '[0-9]*' || true)

# p50 and p99 (bucket bounds) of vtrack_verdict_arrival_latency_seconds in a /metrics scrape.
quantiles() {
  python3 - "$1" <<'PY'
import re, sys
buckets = []
for line in open(sys.argv[1]):
    m = re.match(r'vtrack_verdict_arrival_latency_seconds_bucket\{le="([^"]+)"\} (\S+)', line)
    if m:
        buckets.append((float(m.group(1)), float(m.group(2))))
buckets.sort()
total = buckets[-1][1] if buckets else 0
def q(p):
    return next((le for le, n in buckets if n >= p * total), float("nan"))
print(f"{int(total)} verdicts; arrival to verdict p50 <= {q(0.5)} s, p99 <= {q(0.99)} s" if total else "no verdicts measured")
PY
}

lag() {
  scripts/kafka.sh consumer-groups --describe --group "$app" 2>/dev/null |
    awk 'NR>1 && $6 ~ /^[0-9]+$/ {s += $6} END {print (s == "" ? -1 : s)}'
}
wait_for_no_lag() {
  local seen=0
  while true; do
    l=$(lag)
    if [ "$l" = "0" ]; then seen=$((seen + 1)); else seen=0; fi
    [ "$seen" -ge 2 ] && return 0
    sleep 1
  done
}

t0=$(date +%s.%N)
VTRACK_LOG=info "$bin" run --config "$dir/vtrack.toml" > "$dir/run1.log" 2>&1 &
pid=$!
wait_for_no_lag
t1=$(date +%s.%N)
# Latency from each input record's arrival to the verdict it caused, from /metrics.
addr=$(sed 's/\x1b\[[0-9;]*m//g' "$dir/run1.log" | grep -o 'addr=[0-9.:]*' | head -n 1 | cut -d= -f2)
curl -s "http://$addr/metrics" > "$dir/metrics.txt" || true
latency=$(quantiles "$dir/metrics.txt")
echo "backlog run (every input queued before the start): $latency (bucket bounds)"
# CPU seconds (user + system) vtrack used until then: a figure less sensitive to other load.
cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$pid/stat" 2>/dev/null || echo "?")
kill -TERM "$pid" 2>/dev/null || true; wait "$pid" || true
input=$(grep -o 'input_events: [0-9]*' "$dir/run1.log" | tail -n 1 | grep -o '[0-9]*' || echo 0)
busy=$(grep -o 'last_record_ms: [0-9]*' "$dir/run1.log" | tail -n 1 | grep -o '[0-9]*' || echo 0)
echo "processed: $input input events; last record handled ${busy} ms after start: $(awk -v n="$input" -v ms="$busy" 'BEGIN {printf "%.0f", n * 1000 / (ms > 0 ? ms : 1)}') input events/s end to end"
echo "wall: $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s until the group had no lag (includes start-up, group join and lag polling)"
echo "cpu: $cpu s user+sys until no lag: $(awk -v n="$input" -v c="$cpu" 'BEGIN {if (c + 0 > 0) printf "%.0f", n / c; else print "?"}') input events per CPU second"
head -n 1 "$dir/generate.txt"

# Restore: a fresh start of the same instance re-reads every internal partition.
VTRACK_LOG=info "$bin" run --config "$dir/vtrack.toml" > "$dir/run2.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do grep -q "state restored" "$dir/run2.log" && break; sleep 1; done
kill -TERM "$pid" 2>/dev/null || true; wait "$pid" || true
grep "state restored" "$dir/run2.log" | sed 's/\x1b\[[0-9;]*m//g' | tail -n 1
echo "logs in $dir (input events counted by the first run's last progress line: $input; generated confirmations: ${events:-?})"

# Latency at a steady load: a fresh application reads while the generator writes at
# LATENCY_RATE events/s (default 5000) for about 30 s; the histogram of arrival-to-verdict
# latency is read from /metrics.
rate="${LATENCY_RATE:-5000}"
lapp="$app-steady"
sed "s/$app/$lapp/g" "$dir/vtrack.toml" > "$dir/steady.toml"
VTRACK_LOG=info "$bin" run --config "$dir/steady.toml" > "$dir/run3.log" 2>&1 &
pid=$!
for _ in $(seq 1 60); do grep -q "partitions assigned" "$dir/run3.log" 2>/dev/null && break; sleep 1; done
"$bin" generate --kafka --config "$dir/steady.toml" --packages $((rate * 30 / 7)) --start "$start" --rate "$rate" > /dev/null
sleep 3 # the last records' verdicts: a few commit intervals
addr=$(sed 's/\x1b\[[0-9;]*m//g' "$dir/run3.log" | grep -o 'addr=[0-9.:]*' | head -n 1 | cut -d= -f2)
curl -s "http://$addr/metrics" > "$dir/steady-metrics.txt" || true
kill -TERM "$pid" 2>/dev/null || true; wait "$pid" || true
echo "steady load of $rate events/s: $(quantiles "$dir/steady-metrics.txt")"
