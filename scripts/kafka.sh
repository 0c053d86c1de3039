#!/usr/bin/env bash
# scripts/kafka.sh: a real single-node Apache Kafka (KRaft) broker for vtrack
# development, tests and CI, without Docker.
#
# The broker jars come from Maven Central (resolved with `mvn`) into a cache
# dir and run on the local Java (17+). See docs/kafka-dev.md.
#
#   scripts/kafka.sh fetch | start | stop | restart | status | reset
#   scripts/kafka.sh topics ARGS...            (org.apache.kafka.tools.TopicCommand)
#   scripts/kafka.sh console-producer ARGS...  (org.apache.kafka.tools.ConsoleProducer)
#   scripts/kafka.sh console-consumer ARGS...  (org.apache.kafka.tools.consumer.ConsoleConsumer)
#   scripts/kafka.sh consumer-groups ARGS...   (org.apache.kafka.tools.consumer.group.ConsumerGroupCommand)
#   scripts/kafka.sh run-class CLASS ARGS...   (any main class on the broker classpath)
#   scripts/kafka.sh bootstrap | logs [N] | help
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# ---- knobs (environment) ---------------------------------------------------
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
KAFKA_SCALA_VERSION="${KAFKA_SCALA_VERSION:-2.13}"
# log4j2 + its SLF4J 1.x binding (Kafka 4.x logs through slf4j-api 1.7.x);
# 2.25.5 is what kafka-server 4.4.0 itself declares.
KAFKA_LOG4J_VERSION="${KAFKA_LOG4J_VERSION:-2.25.5}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:-}"            # extra broker JVM flags
KAFKA_TOOLS_HEAP_OPTS="${KAFKA_TOOLS_HEAP_OPTS:--Xmx256m}"
KAFKA_EXTRA_PROPS="${KAFKA_EXTRA_PROPS:-}"      # extra server.properties lines
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
KAFKA_MVN_ARGS="${KAFKA_MVN_ARGS:-}"            # e.g. -Dmaven.repo.local=/tmp/m2
VTRACK_BROKER_HOME="${VTRACK_BROKER_HOME:-$ROOT/.kafka}"
case "$VTRACK_BROKER_HOME" in /*) ;; *) VTRACK_BROKER_HOME="$PWD/$VTRACK_BROKER_HOME" ;; esac

HOST=127.0.0.1
BOOTSTRAP="$HOST:$KAFKA_PORT"
LIB_DIR="$VTRACK_BROKER_HOME/lib/kafka_${KAFKA_SCALA_VERSION}-${KAFKA_VERSION}"
CONF_DIR="$VTRACK_BROKER_HOME/config"
DATA_DIR="$VTRACK_BROKER_HOME/data"
LOG_DIRS="$DATA_DIR/kraft-combined-logs"
SERVER_PROPS="$CONF_DIR/server.properties"
CLIENT_PROPS="$CONF_DIR/probe-client.properties"
BROKER_LOG4J="$CONF_DIR/log4j2.xml"
TOOLS_LOG4J="$CONF_DIR/tools-log4j2.xml"
LOG_FILE="$VTRACK_BROKER_HOME/broker.log"
PID_FILE="$VTRACK_BROKER_HOME/broker.pid"
PORT_FILE="$VTRACK_BROKER_HOME/broker.port"
LOCK_FILE="$VTRACK_BROKER_HOME/.lock"
DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

say() { echo "kafka.sh: $*" >&2; }
die() { echo "kafka.sh: error: $*" >&2; exit 1; }

# One kafka.sh at a time per VTRACK_BROKER_HOME for fetch/start/stop/reset
# (parallel test jobs may all call `start`). fd 9 is closed for the broker.
LOCKED=0
lock() {
  [ "$LOCKED" = 1 ] && return 0
  mkdir -p "$VTRACK_BROKER_HOME"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$LOCK_FILE"
    flock -w 600 9 || die "could not lock $LOCK_FILE"
  fi
  LOCKED=1
}

JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
JAVA_CHECKED=0
need_java() {
  [ "$JAVA_CHECKED" = 1 ] && return 0
  command -v "$JAVA" >/dev/null 2>&1 || die "$JAVA not found (Kafka $KAFKA_VERSION needs Java 17+; set JAVA_HOME or PATH)"
  local v
  v="$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)"
  if [ -n "$v" ] && [ "$v" -lt 17 ] 2>/dev/null; then
    die "$JAVA is Java $v; Kafka $KAFKA_VERSION needs Java 17+ (set JAVA_HOME)"
  fi
  JAVA_CHECKED=1
}

# ---- fetch -----------------------------------------------------------------
fetched() { [ -f "$LIB_DIR/.complete" ]; }
jar_count() { find "$LIB_DIR" -maxdepth 1 -name '*.jar' | wc -l | tr -d ' '; }

fetch() {
  if fetched; then
    say "Kafka $KAFKA_VERSION jars already in $LIB_DIR ($(jar_count) jars), skipping fetch"
    return 0
  fi
  lock
  fetched && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn not found on PATH (needed once to fetch the Kafka jars)"
  local start=$SECONDS tmp
  mkdir -p "$VTRACK_BROKER_HOME/lib"
  tmp="$(mktemp -d "$VTRACK_BROKER_HOME/lib/.fetch.XXXXXX")"
  # Kafka's own tarball is not on Maven Central, but every jar in it is: the
  # broker (kafka_2.13 + its runtime deps), the CLI tools, and a log4j2 binding.
  # connect-runtime (Jetty, Jersey...) is only needed by connect-plugin-path.
  cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.vtrack.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_${KAFKA_SCALA_VERSION}</artifactId>
      <version>${KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>${KAFKA_VERSION}</version>
      <exclusions>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion>
      </exclusions>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>${KAFKA_LOG4J_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>${KAFKA_LOG4J_VERSION}</version>
    </dependency>
  </dependencies>
</project>
EOF
  say "resolving org.apache.kafka:kafka_${KAFKA_SCALA_VERSION}:${KAFKA_VERSION} + kafka-tools + log4j2 with Maven into $LIB_DIR"
  # shellcheck disable=SC2086  # KAFKA_MVN_ARGS is a list of flags
  if ! mvn -B -q -Dstyle.color=never $KAFKA_MVN_ARGS -f "$tmp/pom.xml" \
      "$DEP_PLUGIN:copy-dependencies" -DincludeScope=runtime -DoutputDirectory="$tmp/lib" >"$tmp/mvn.log" 2>&1; then
    tail -n 30 "$tmp/mvn.log" >&2
    rm -rf "$tmp"
    die "Maven could not resolve Kafka $KAFKA_VERSION (see above)"
  fi
  [ -f "$tmp/lib/kafka_${KAFKA_SCALA_VERSION}-${KAFKA_VERSION}.jar" ] || { rm -rf "$tmp"; die "Maven finished but kafka_${KAFKA_SCALA_VERSION}-${KAFKA_VERSION}.jar is missing"; }
  rm -rf "$LIB_DIR"
  mv "$tmp/lib" "$LIB_DIR"
  rm -rf "$tmp"
  touch "$LIB_DIR/.complete"
  say "fetched $(jar_count) jars ($(du -sh "$LIB_DIR" | cut -f1)) in $((SECONDS - start))s"
}

ensure_fetched() { fetched || fetch; }

# ---- config ----------------------------------------------------------------
write_log4j() {
  mkdir -p "$CONF_DIR"
  # Broker: everything to stdout, which start() sends to broker.log.
  cat >"$BROKER_LOG4J" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/kafka.sh (rewritten on every start). -->
<Configuration status="WARN" name="vtrack-kafka-broker">
  <Appenders>
    <Console name="STDOUT" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="STDOUT"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="kafka.network.RequestChannel$" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Logger name="kafka.log.LogCleaner" level="WARN"/>
    <Logger name="org.apache.kafka.storage.internals.log" level="WARN"/>
    <Logger name="org.apache.kafka.clients" level="WARN"/>
  </Loggers>
</Configuration>
EOF
  # CLI tools: warnings and errors only, on stderr (stdout stays clean data).
  cat >"$TOOLS_LOG4J" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/kafka.sh. -->
<Configuration status="WARN" name="vtrack-kafka-tools">
  <Appenders>
    <Console name="STDERR" target="SYSTEM_ERR">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="WARN"><AppenderRef ref="STDERR"/></Root>
  </Loggers>
</Configuration>
EOF
  cat >"$CLIENT_PROPS" <<'EOF'
# Used by kafka.sh's readiness probe: fail fast instead of retrying for 60 s.
request.timeout.ms=5000
default.api.timeout.ms=8000
EOF
}

write_server_props() {
  mkdir -p "$CONF_DIR"
  cat >"$SERVER_PROPS" <<EOF
# Generated by scripts/kafka.sh on every start; put overrides in KAFKA_EXTRA_PROPS.
# Single-node KRaft: this process is both the broker and the (only) controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${HOST}:${KAFKA_CONTROLLER_PORT}
listeners=PLAINTEXT://${HOST}:${KAFKA_PORT},CONTROLLER://${HOST}:${KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://${HOST}:${KAFKA_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${LOG_DIRS}

# One broker: every internal topic has replication 1 / min ISR 1.
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
auto.create.topics.enable=true
group.initial.rebalance.delay.ms=0
# Consumer group protocol (KIP-848, what vtrack run speaks): a member that stopped or died
# hands its partitions on after 10 s rather than 45 s, and assignments change at 1 s
# heartbeats rather than 5 s.
group.consumer.min.session.timeout.ms=6000
group.consumer.session.timeout.ms=10000
group.consumer.min.heartbeat.interval.ms=1000
group.consumer.heartbeat.interval.ms=1000

# Small machine: few threads.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=168
EOF
  if [ -n "$KAFKA_EXTRA_PROPS" ]; then
    printf '\n# KAFKA_EXTRA_PROPS\n%s\n' "$KAFKA_EXTRA_PROPS" >>"$SERVER_PROPS"
  fi
}

# ---- processes -------------------------------------------------------------
# Short-lived CLI JVMs: small heap, C1 only, serial GC -> faster startup.
# Log4j's shutdown hook is off: the tools log to the console only, and with it
# on, loggers created while the JVM exits print "Unable to register Log4j
# shutdown hook because JVM is shutting down".
tool_cmd() {
  # shellcheck disable=SC2206  # KAFKA_TOOLS_HEAP_OPTS is a list of flags
  TOOL_CMD=("$JAVA" $KAFKA_TOOLS_HEAP_OPTS -XX:+UseSerialGC -XX:TieredStopAtLevel=1
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$TOOLS_LOG4J"
    -Dlog4j2.shutdownHookEnabled=false -cp "$LIB_DIR/*")
}
tool_java() { tool_cmd; "${TOOL_CMD[@]}" "$@"; }
tool_exec() { tool_cmd; exec 9>&-; exec "${TOOL_CMD[@]}" "$@"; }

port_open() {  # port_open PORT: something accepts TCP connections on 127.0.0.1:PORT
  if command -v timeout >/dev/null 2>&1; then
    timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
  else
    bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
  fi
}

probe_metadata() {  # the broker answers a Metadata request (admin listTopics)
  tool_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
    --command-config "$CLIENT_PROPS" --list >/dev/null 2>&1
}

pid_cmdline() {
  if [ -r "/proc/$1/cmdline" ]; then tr '\0' ' ' <"/proc/$1/cmdline"; else ps -p "$1" -o args= 2>/dev/null || true; fi
}

# Prints the pid of the broker started from this VTRACK_BROKER_HOME, if alive.
running_pid() {
  local pid
  [ -f "$PID_FILE" ] || return 1
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  case "$pid" in ''|*[!0-9]*) return 1 ;; esac
  kill -0 "$pid" 2>/dev/null || return 1
  case "$(pid_cmdline "$pid")" in
    *kafka.Kafka*"$SERVER_PROPS"*) echo "$pid" ;;
    *) return 1 ;;
  esac
}

running_port() { cat "$PORT_FILE" 2>/dev/null || echo "?"; }

format_storage() {
  if [ -f "$LOG_DIRS/meta.properties" ]; then
    say "storage already formatted ($LOG_DIRS)"
    return 0
  fi
  local cid out
  cid="$(tool_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
  [ -n "$cid" ] || die "kafka.tools.StorageTool random-uuid printed nothing"
  say "formatting KRaft storage in $LOG_DIRS (cluster id $cid)"
  mkdir -p "$DATA_DIR"
  if ! out="$(tool_java kafka.tools.StorageTool format -t "$cid" -c "$SERVER_PROPS" 2>&1)"; then
    echo "$out" >&2
    die "storage format failed"
  fi
  echo "$cid" >"$VTRACK_BROKER_HOME/cluster.id"
}

startup_failed() {
  echo "kafka.sh: error: $1" >&2
  echo "kafka.sh: ---- last 40 lines of $LOG_FILE ----" >&2
  tail -n 40 "$LOG_FILE" >&2 || true
  echo "kafka.sh: ----" >&2
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE" "$PORT_FILE"
  exit 1
}

start() {
  lock
  local pid
  if pid="$(running_pid)"; then
    if [ "$(running_port)" = "$KAFKA_PORT" ]; then
      say "already running (pid $pid) on $BOOTSTRAP"
      return 0
    fi
    die "a broker from $VTRACK_BROKER_HOME already runs on port $(running_port) (pid $pid); stop it first or use another VTRACK_BROKER_HOME"
  fi
  rm -f "$PID_FILE" "$PORT_FILE"
  need_java
  ensure_fetched
  write_log4j
  if port_open "$KAFKA_PORT"; then
    if probe_metadata; then
      say "a Kafka broker not started by this script already serves $BOOTSTRAP; using it (stop/reset won't touch it)"
      return 0
    fi
    die "port $KAFKA_PORT is in use by something that is not a Kafka broker (set KAFKA_PORT)"
  fi
  port_open "$KAFKA_CONTROLLER_PORT" && die "controller port $KAFKA_CONTROLLER_PORT is in use (set KAFKA_CONTROLLER_PORT)"
  say "writing $SERVER_PROPS (listener $BOOTSTRAP, controller $HOST:$KAFKA_CONTROLLER_PORT)"
  write_server_props
  format_storage
  [ -f "$LOG_FILE" ] && mv -f "$LOG_FILE" "$LOG_FILE.1"
  say "starting Kafka $KAFKA_VERSION broker ($KAFKA_HEAP_OPTS), log: $LOG_FILE"
  local launcher=()
  command -v setsid >/dev/null 2>&1 && launcher=(setsid)
  # The inner bash writes its own pid and execs java, so the pid file is the JVM's.
  # shellcheck disable=SC2016,SC2086
  ( cd "$VTRACK_BROKER_HOME" && exec ${launcher[@]+"${launcher[@]}"} bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
      "$JAVA" $KAFKA_HEAP_OPTS -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 \
      -Djava.awt.headless=true -Dkafka.logs.dir="$VTRACK_BROKER_HOME" \
      -Dlog4j2.configurationFile="$BROKER_LOG4J" $KAFKA_JVM_OPTS \
      -cp "$LIB_DIR/*" kafka.Kafka "$SERVER_PROPS" \
      </dev/null >>"$LOG_FILE" 2>&1 9>&- ) &
  echo "$KAFKA_PORT" >"$PORT_FILE"

  local t0=$SECONDS deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while ! pid="$(running_pid)"; do
    [ $SECONDS -ge $((t0 + 10)) ] && startup_failed "the broker JVM did not come up"
    sleep 0.2
  done
  say "waiting up to ${KAFKA_START_TIMEOUT}s for $BOOTSTRAP to accept connections (pid $pid)"
  until port_open "$KAFKA_PORT"; do
    kill -0 "$pid" 2>/dev/null || startup_failed "the broker exited during startup"
    [ $SECONDS -ge $deadline ] && startup_failed "timed out after ${KAFKA_START_TIMEOUT}s waiting for $BOOTSTRAP"
    sleep 0.5
  done
  say "port open; waiting for the broker to serve metadata"
  until probe_metadata; do
    kill -0 "$pid" 2>/dev/null || startup_failed "the broker exited during startup"
    [ $SECONDS -ge $deadline ] && startup_failed "timed out after ${KAFKA_START_TIMEOUT}s waiting for metadata from $BOOTSTRAP"
    sleep 1
  done
  say "ready: Kafka $KAFKA_VERSION on $BOOTSTRAP (pid $pid, $((SECONDS - t0))s)"
}

stop() {
  lock
  local pid
  if ! pid="$(running_pid)"; then
    [ -f "$PID_FILE" ] && say "removing stale pid file"
    rm -f "$PID_FILE" "$PORT_FILE"
    say "not running"
    return 0
  fi
  say "stopping broker (pid $pid) with SIGTERM"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    say "still alive after ${KAFKA_STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PID_FILE" "$PORT_FILE"
  say "stopped"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    if port_open "$(running_port)"; then
      say "running (pid $pid) on $HOST:$(running_port), data in $DATA_DIR"
      return 0
    fi
    say "process $pid is alive but $HOST:$(running_port) does not accept connections (starting or stuck; see $LOG_FILE)"
    return 1
  fi
  if port_open "$KAFKA_PORT"; then
    say "not running from $VTRACK_BROKER_HOME (but something else listens on $BOOTSTRAP)"
  else
    say "not running"
  fi
  return 1
}

reset() {
  stop
  say "deleting $DATA_DIR and generated config (keeping the jars in $VTRACK_BROKER_HOME/lib)"
  rm -rf "$DATA_DIR" "$CONF_DIR" "$VTRACK_BROKER_HOME/cluster.id" "$LOG_FILE" "$LOG_FILE.1"
}

# Runs a CLI class (replacing this shell), adding --bootstrap-server unless
# the caller passed one.
run_cli() {
  local cls="$1" a; shift
  cli_prepare
  for a in "$@"; do
    case "$a" in --bootstrap-server|--bootstrap-server=*) tool_exec "$cls" "$@" ;; esac
  done
  tool_exec "$cls" --bootstrap-server "$BOOTSTRAP" "$@"
}
cli_prepare() {
  need_java
  ensure_fetched
  [ -f "$TOOLS_LOG4J" ] || write_log4j
}

usage() {
  cat <<EOF
usage: scripts/kafka.sh COMMAND [ARGS...]

  fetch               resolve Kafka $KAFKA_VERSION jars with Maven into \$VTRACK_BROKER_HOME/lib (once)
  start               fetch if needed, format storage once, start the broker, wait until it serves metadata
  stop                SIGTERM (then SIGKILL after \$KAFKA_STOP_TIMEOUT s); fine if not running
  restart             stop + start
  status              exit 0 when the broker is running and accepting connections
  reset               stop and delete the data dir (keeps the jars)
  bootstrap           print the bootstrap address ($BOOTSTRAP)
  logs [N]            print the last N (100) lines of the broker log
  topics ARGS         org.apache.kafka.tools.TopicCommand  (e.g. topics --create --topic t --partitions 4)
  console-producer ARGS   org.apache.kafka.tools.ConsoleProducer  (e.g. --topic t)
  console-consumer ARGS   org.apache.kafka.tools.consumer.ConsoleConsumer  (e.g. --topic t --from-beginning)
  consumer-groups ARGS    org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
  run-class CLASS ARGS    any main class on the broker classpath (no --bootstrap-server added)

environment: KAFKA_PORT=$KAFKA_PORT KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT KAFKA_VERSION=$KAFKA_VERSION
  VTRACK_BROKER_HOME=$VTRACK_BROKER_HOME
  KAFKA_HEAP_OPTS="$KAFKA_HEAP_OPTS" KAFKA_JVM_OPTS KAFKA_TOOLS_HEAP_OPTS KAFKA_EXTRA_PROPS
  KAFKA_START_TIMEOUT=$KAFKA_START_TIMEOUT KAFKA_STOP_TIMEOUT=$KAFKA_STOP_TIMEOUT KAFKA_MVN_ARGS
EOF
}

cmd="${1:-help}"
[ $# -gt 0 ] && shift
case "$cmd" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  reset) reset ;;
  bootstrap) echo "$BOOTSTRAP" ;;
  logs) tail -n "${1:-100}" "$LOG_FILE" ;;
  topics) run_cli org.apache.kafka.tools.TopicCommand "$@" ;;
  console-producer) run_cli org.apache.kafka.tools.ConsoleProducer "$@" ;;
  console-consumer) run_cli org.apache.kafka.tools.consumer.ConsoleConsumer "$@" ;;
  consumer-groups) run_cli org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@" ;;
  run-class)
    [ $# -ge 1 ] || die "usage: kafka.sh run-class CLASS [ARGS...]"
    cli_prepare
    tool_exec "$@" ;;
  help|-h|--help) usage ;;
  *) usage >&2; die "unknown command: $cmd" ;;
esac
