#!/usr/bin/env bash
# End-to-end benchmark of the Kafka Streams build of vtrack's job (bench/kstreams) on the real
# broker, measured like scripts/bench-e2e.sh measures `vtrack run`: the same generated workload
# (`vtrack generate --kafka`) in fresh topics, then input events / time until the consumer group
# has no lag left, and input events / time of the last record handled from the app's own log.
# Usage: scripts/bench-kstreams.sh [PACKAGES]   (default 50000; needs scripts/kafka.sh start)
# Environment: KS_PARTITIONS (4, as bench-e2e.sh's internal_partitions), KS_THREADS (1 stream
# thread), KS_JAVA_OPTS (-Xmx2g: JVM flags), KS_TIMEOUT (1800 s to wait for the lag to reach 0),
# KS_KEEP_TOPICS=1 to keep the run's topics (by default they are deleted at the end: a run
# writes about 1.5 GB at 50000 packages).
set -euo pipefail
cd "$(dirname "$0")/.."
packages="${1:-50000}"
partitions="${KS_PARTITIONS:-4}"
threads="${KS_THREADS:-1}"
timeout="${KS_TIMEOUT:-1800}"
app="ks-bench-$(date +%s)"
dir="$(mktemp -d)"
bootstrap="$(scripts/kafka.sh bootstrap)"
# Only used by `vtrack generate --kafka`: where the workload goes.
cat > "$dir/vtrack.toml" <<TOML
[kafka]
bootstrap_servers = "$bootstrap"
application_id = "$app-generate"
confirmations_topic = "$app-confirmations"
scans_topic = "$app-scans"
internal_partitions = $partitions
TOML
cargo build --release --quiet
bin=target/release/vtrack
echo "building bench/kstreams with Maven" >&2
(cd bench/kstreams && mvn -B -q package -DskipTests > "$dir/mvn.log" 2>&1) || { tail -n 30 "$dir/mvn.log"; exit 1; }
start=$(date -u -d '60 days ago' +%Y-%m-%dT00:00:00Z)
"$bin" generate --kafka --config "$dir/vtrack.toml" --packages "$packages" --start "$start" > "$dir/generate.txt"
head -n 1 "$dir/generate.txt"

lag() {
  scripts/kafka.sh consumer-groups --describe --group "$app" 2>/dev/null |
    awk 'NR>1 && $6 ~ /^[0-9]+$/ {s += $6} END {print (s == "" ? -1 : s)}'
}
wait_for_no_lag() {
  local seen=0 deadline=$((SECONDS + timeout))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "the Kafka Streams app exited; see $dir/ks.log" >&2; return 1; fi
    l=$(lag)
    if [ "$l" = "0" ]; then seen=$((seen + 1)); else seen=0; fi
    [ "$seen" -ge 2 ] && return 0
    sleep 1
  done
  echo "still lagging after ${timeout}s; see $dir/ks.log" >&2
  return 1
}

t0=$(date +%s.%N)
# shellcheck disable=SC2086  # KS_JAVA_OPTS is a list of flags
java ${KS_JAVA_OPTS:--Xmx2g} -cp "bench/kstreams/target/classes:bench/kstreams/target/lib/*" dev.vtrack.kstreams.Main \
  --bootstrap "$bootstrap" --app "$app" --confirmations "$app-confirmations" --scans "$app-scans" \
  --partitions "$partitions" --threads "$threads" --carriers config/carriers.toml --state-dir "$dir/state" \
  > "$dir/ks.log" 2>&1 &
pid=$!
ok=0
wait_for_no_lag && ok=1
t1=$(date +%s.%N)
# CPU seconds (user + system) the app used until then: a figure less sensitive to other load.
cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$pid/stat" 2>/dev/null || echo "?")
kill -TERM "$pid" 2>/dev/null || true
wait "$pid" || true
if [ "${KS_KEEP_TOPICS:-0}" != 1 ]; then
  # Only this run's topics: every name starts with the run's unique application id.
  scripts/kafka.sh topics --delete --topic "$app-.*" >/dev/null 2>&1 || echo "could not delete the topics $app-*" >&2
fi
[ "$ok" = 1 ] || exit 1
line=$(grep 'vtrack-kstreams: stopped' "$dir/ks.log" | tail -n 1)
input=$(grep -o 'input_events: [0-9]*' <<<"$line" | grep -o '[0-9]*' || echo 0)
busy=$(grep -o 'last_record_ms: [0-9]*' <<<"$line" | grep -o '[0-9]*' || echo 0)
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
echo "kafka streams: $input input events; last record handled ${busy} ms after start: $(awk -v n="$input" -v ms="$busy" 'BEGIN {printf "%.0f", n * 1000 / (ms > 0 ? ms : 1)}') input events/s end to end"
echo "kafka streams: wall: $wall s until the group had no lag (includes start-up, group join and lag polling): $(awk -v n="$input" -v s="$wall" 'BEGIN {printf "%.0f", n / (s > 0 ? s : 1)}') input events/s"
echo "kafka streams: cpu: $cpu s user+sys until no lag: $(awk -v n="$input" -v c="$cpu" 'BEGIN {if (c + 0 > 0) printf "%.0f", n / c; else print "?"}') input events per CPU second"
echo "kafka streams: $line" | sed 's/vtrack-kstreams: stopped //'
head -n 1 "$dir/generate.txt"
echo "logs in $dir (application id $app, $partitions partitions, $threads stream thread(s), exactly_once_v2, commit.interval.ms=100)"
