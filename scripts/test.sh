#!/usr/bin/env bash
# The whole test suite: format check, lints, a real Kafka broker, every test.
# Usage: scripts/test.sh            (from anywhere in the repository)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if ! command -v promtool >/dev/null 2>&1 && [ -z "${VTRACK_SKIP_PROMTOOL:-}" ]; then
  echo "promtool (Debian's prometheus package) is needed to check /metrics and the alert rules:" >&2
  echo "  sudo apt-get install --no-install-recommends prometheus   (or set VTRACK_SKIP_PROMTOOL=1)" >&2
  exit 1
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors), with and without the kafka feature"
cargo clippy --all-targets --locked -- -D warnings
cargo clippy --all-targets --locked --no-default-features -- -D warnings

step "Kafka broker (scripts/kafka.sh start)"
export KAFKA_PORT="${KAFKA_PORT:-9092}"
started_here=0
if ! scripts/kafka.sh status >/dev/null 2>&1; then
  scripts/kafka.sh start
  started_here=1
fi
cleanup() { if [ "$started_here" = 1 ]; then scripts/kafka.sh stop || true; fi; }
trap cleanup EXIT
export VTRACK_TEST_BOOTSTRAP="127.0.0.1:${KAFKA_PORT}"

step "deploy files (scripts/check-deploy.sh: dashboard, alerts, compose, Kubernetes)"
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet pyyaml
scripts/check-deploy.sh

step "cargo test (all targets; the Kafka tests use the broker above)"
RUST_TEST_THREADS=2 cargo test --locked --all-targets
cargo test --locked --doc
